"""The activation form: password, opening balance, card (sandbox) and terms."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..forms import AppForm
from ..money import parse_amount, typing_example
from ..passwords import MAX_LENGTH, StrongPassword
from ..payments.forms import CardFields
from ..templating import format_money


class AccountSetupForm(AppForm):
    """What every activation asks, whatever the gateway: password, opening balance, terms."""

    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter a password."), StrongPassword(lambda form: form.contact_email)],
        description="At least 15 characters. A few unrelated words make a password that is long and easy to remember.",
    )
    confirm_password = PasswordField(
        "Confirm password",
        validators=[
            DataRequired("Enter the password again."),
            EqualTo("password", "The passwords do not match."),
            Length(max=MAX_LENGTH),
        ],
    )
    opening_balance = StringField("Opening balance", validators=[DataRequired("Enter the opening balance.")])
    accept_terms = BooleanField(
        "I accept the terms of service",
        validators=[DataRequired("Accept the terms of service to activate the account.")],
    )
    attempt = HiddenField()

    def __init__(self, *args, contact_email: str, minimum: int, maximum: int, currency: str, locale: str, **kwargs):
        self.contact_email = contact_email
        self.minimum = minimum
        self.maximum = maximum
        self.currency = currency
        self.locale = locale
        super().__init__(*args, **kwargs)

    @property
    def amount_example(self) -> str:
        """An amount typed the way this white-label's locale reads it, for the hint."""
        return typing_example(self.locale, self.currency)

    def amount(self) -> int:
        """The opening balance in minor units (after validation)."""
        return self._amount

    def validate_opening_balance(self, field):
        try:
            minor = parse_amount(field.data, locale=self.locale, currency=self.currency)
        except ValueError as problem:
            message = str(problem).replace("the amount as a number", "the opening balance as an amount")
            raise ValidationError(message.replace("the amount", "the opening balance")) from None
        if minor < self.minimum:
            raise ValidationError(f"The opening balance must be at least {format_money(self.minimum, self.currency)}.")
        if minor > self.maximum:
            raise ValidationError(f"The opening balance can be at most {format_money(self.maximum, self.currency)}.")
        self._amount = minor

    def forget_card(self) -> None:
        """Nothing of a card is on this form."""


class PaidActivationForm(AccountSetupForm):
    """The opening balance was received already (the browser closed after paying): only the
    password and the terms are left."""

    opening_balance = None


class StripeActivationForm(AccountSetupForm):
    """With Stripe the card goes from the browser to Stripe; we receive the PaymentIntent's id."""

    payment_intent = HiddenField()


class ActivationForm(CardFields, AccountSetupForm):
    """Activation with the sandbox gateway: account set-up plus the card (CardFields first, so
    its forget_card wins over the no-op)."""
