"""The one question before viewing an account as the customer: why."""

from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import AppForm


class ViewAsForm(AppForm):
    reason = TextAreaField(
        "Why are you viewing this account?",
        validators=[
            DataRequired("Enter why you are viewing this account, for the customer’s history."),
            Length(max=500, message="Keep the reason to 500 characters or fewer."),
        ],
        description="For example the support ticket and what the customer asked. It goes in the customer’s history.",
    )
