"""The upload form of Customers > Import."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired, ValidationError

from ..forms import AppForm
from ..models import WhiteLabel
from ..onboarding.options import OPTIONS, option_for

PER_ROW = "per_row"


class UploadForm(AppForm):
    administered_by = RadioField(
        "Who will administer these customers’ accounts?",
        choices=[],
        validators=[InputRequired("Choose who will administer these customers’ accounts.")],
    )
    file = FileField("CSV file")

    def __init__(self, *args, white_label: WhiteLabel, **kwargs):
        super().__init__(*args, **kwargs)
        self.white_label = white_label
        self.administered_by.choices = [SelectChoice(o.key, f"All of them: {o.label.lower()}") for o in OPTIONS] + [
            SelectChoice(PER_ROW, "A column in each row (administered_by)")
        ]

    def chosen(self):
        """The option for the whole file, or None when each row names its own."""
        return option_for(self.administered_by.data)

    def validate_administered_by(self, field):
        option = option_for(field.data)
        reason = option.unavailable_reason(self.white_label) if option else None
        if reason:
            raise ValidationError(reason)

    def validate_file(self, field):
        upload = field.data
        if upload is None or not getattr(upload, "filename", ""):
            raise ValidationError("Choose the CSV file to import.")
