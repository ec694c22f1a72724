"""The endpoint form (URL, description, events) and the secret-rotation form."""

from __future__ import annotations

from flask import current_app
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import AppForm
from .addresses import AddressRefused, check
from .events import EVENT_TYPES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EndpointForm(AppForm):
    # A text input with the URL keyboard: the stylesheet styles text inputs, and a browser's own
    # check of type="url" would pre-empt the messages below.
    url = StringField(
        "Endpoint URL",
        filters=[_strip],
        render_kw={"inputmode": "url"},
        validators=[
            InputRequired("Enter the URL your shop receives webhooks at."),
            Length(max=2000, message="Enter a URL of at most 2,000 characters."),
        ],
    )
    description = StringField(
        "Description",
        filters=[_strip],
        validators=[Length(max=200, message="Enter a description of at most 200 characters.")],
    )
    events = CheckboxesField("Events", choices=[SelectChoice(key, key) for key in EVENT_TYPES])

    def validate_url(self, field):
        """The URL's rules, and (in production) every address its host resolves to: checked now,
        and again before every delivery."""
        try:
            check(field.data or "", production=current_app.config["APP_ENV"] == "production")
        except AddressRefused as refused:
            raise ValidationError(refused.message) from None

    def validate_events(self, field):
        if not field.data:
            raise ValidationError("Choose at least one event to send to this endpoint.")


OVERLAP_CHOICES = [
    SelectChoice("24", "24 hours (recommended)"),
    SelectChoice("72", "3 days"),
    SelectChoice("1", "1 hour"),
    SelectChoice("0", "No overlap: the old secret stops at once"),
]


class RotateSecretForm(AppForm):
    overlap_hours = SelectField(
        "Keep signing with the old secret for",
        choices=OVERLAP_CHOICES,
        default="24",
        validators=[InputRequired("Choose how long the old secret keeps working.")],
    )
