"""The sandbox's card fields, typed on our own page (activation, top-up). With Stripe the card is
typed into Stripe.js instead and never reaches this server."""

from __future__ import annotations

import datetime as dt
import re

from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import AppForm
from . import Card


class CardFields(AppForm):
    """The sandbox's card fields: typed on our page and handed to the sandbox in memory only."""

    card_name = StringField("Name on card", validators=[DataRequired("Enter the name on the card."), Length(max=100)])
    card_number = StringField("Card number", validators=[DataRequired("Enter the card number."), Length(max=30)])
    card_expiry = StringField(
        "Expiry (MM/YY)", validators=[DataRequired("Enter the card’s expiry date."), Length(max=7)]
    )
    security_code = PasswordField(
        "Security code",
        validators=[DataRequired("Enter the card’s security code."), Length(max=4)],
        description="The 3 or 4 digits on the back of the card.",
    )

    def validate_card_number(self, field):
        digits = re.sub(r"[\s-]", "", field.data or "")
        if not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise ValidationError("Enter the card number: 12 to 19 digits, as shown on the card.")

    def validate_card_expiry(self, field):
        match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", field.data or "")
        if not match or not 1 <= int(match.group(1)) <= 12:
            raise ValidationError("Enter the expiry date as MM/YY, like 04/29.")
        month, year = int(match.group(1)), int(match.group(2))
        year = year + 2000 if year < 100 else year
        today = dt.date.today()
        if (year, month) < (today.year, today.month):
            raise ValidationError("The expiry date is in the past. Check the card or use another one.")
        self._expiry = (month, year)

    def validate_security_code(self, field):
        if not re.fullmatch(r"\d{3,4}", field.data or ""):
            raise ValidationError("Enter the security code: 3 or 4 digits.")

    def card(self) -> Card:
        """The card, in memory only, for the gateway call."""
        month, year = self._expiry
        return Card(
            name=self.card_name.data.strip(),
            number=re.sub(r"[\s-]", "", self.card_number.data),
            exp_month=month,
            exp_year=year,
            security_code=self.security_code.data,
        )

    def forget_card(self) -> None:
        """Drop the card number and security code so the page never shows them again."""
        for field in (self.card_number, self.security_code):
            field.data = ""
            field.raw_data = []
