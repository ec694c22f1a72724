"""Forms for running an account: users, passwords, numbers, PBX settings, plan, status, top-up."""

from __future__ import annotations

import datetime as dt
import re

from email_validator import EmailNotValidError, validate_email
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from ..forms import AppForm
from ..models import Customer, CustomerMembership
from ..money import parse_amount, typing_example
from ..onboarding.forms import NumbersForm
from ..passwords import StrongPassword
from ..payments.forms import CardFields
from ..phones import display_phone, time_zone_choices
from ..templating import format_money


class UserForm(AppForm):
    first_name = StringField("First name", validators=[DataRequired("Enter the person’s first name."), Length(max=100)])
    last_name = StringField("Last name", validators=[DataRequired("Enter the person’s last name."), Length(max=100)])
    email = StringField("Email", validators=[DataRequired("Enter the person’s email address."), Length(max=254)])
    extension = StringField("Extension", validators=[DataRequired("Enter an extension.")])
    role = RadioField(
        "Role",
        choices=[
            SelectChoice(CustomerMembership.USER, "User"),
            SelectChoice(CustomerMembership.ACCOUNT_ADMINISTRATOR, "Account administrator"),
        ],
        default=CustomerMembership.USER,
        validators=[InputRequired("Choose a role.")],
    )
    setup = RadioField(
        "How will they get a password?",
        choices=[
            SelectChoice("invite", "Send an invitation"),
            SelectChoice("password", "Set a password now"),
        ],
        default="invite",
        validators=[InputRequired("Choose how they will get a password.")],
    )
    password = PasswordField(
        "Temporary password",
        description=("They must change it when they first sign in, so you never know the password they keep."),
    )

    def __init__(self, *args, extension_length: int = 3, **kwargs):
        self.extension_length = extension_length
        super().__init__(*args, **kwargs)

    def validate_email(self, field):
        try:
            field.data = validate_email(field.data or "", check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise ValidationError("Enter an email address in the right format, like name@example.com.") from None

    def validate_extension(self, field):
        if not re.fullmatch(r"\d+", field.data or "") or len(field.data) != self.extension_length:
            raise ValidationError(f"Enter an extension of exactly {self.extension_length} digits.")

    def validate_password(self, field):
        if self.setup.data == "password":
            StrongPassword(lambda form: form.email.data)(self, field)


class AssignNumberForm(AppForm):
    number = SelectField("Number", choices=[], validators=[DataRequired("Choose a number.")])


class AccountNumbersForm(NumbersForm):
    """The wizard's number picker and filter, for a customer's own Account Administrators: the
    same choices and availability check, but numbers beyond the plan's included ones may be
    chosen at a charge to the balance (billing.NumbersQuote), refused when it cannot pay."""

    def __init__(self, *args, customer: Customer, **kwargs):
        self.customer = customer
        super().__init__(*args, white_label=customer.white_label, answers={"plan": customer.plan_id}, **kwargs)
        self.numbers.data = list(dict.fromkeys(self.numbers.data))  # each number once: each is charged once

    def check_count(self, numbers: list[str]) -> None:
        from ..billing import numbers_quote
        from ..ledger import customer_balance

        if not numbers:
            raise ValidationError("Choose at least one number.")
        refused = numbers_quote(self.customer, len(numbers)).refusal(customer_balance(self.customer))
        if refused:
            raise ValidationError(refused)


class PbxSettingsForm(AppForm):
    time_zone = SelectField("Time zone", choices=[], validators=[DataRequired("Choose a time zone.")])
    extension_length = SelectField("Extension length", choices=[SelectChoice(str(n), f"{n} digits") for n in (3, 4, 5)])
    default_caller_id = SelectField("Default caller ID", choices=[])
    voicemail_to_email = BooleanField("Voicemail to email")
    call_recording = BooleanField("Call recording")

    def __init__(self, *args, numbers: list[str] = (), country: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()
        self.default_caller_id.choices = [SelectChoice("", "None")] + [
            SelectChoice(n, display_phone(n, country)) for n in numbers
        ]


class PlanForm(AppForm):
    plan = RadioField("Plan", choices=[], validators=[InputRequired("Choose a plan.")])
    # What the amounts on the page were worked out from: the plan then, and the billing day.
    from_plan = HiddenField()
    billing_day = HiddenField()

    def quoted(self):
        """(plan id, billing day) the page's amounts were for, or None if the post did not say."""
        plan, day = (self.from_plan.data or "").strip(), (self.billing_day.data or "").strip()
        if not plan and not day:
            return None
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            when = None
        return (int(plan) if re.fullmatch(r"[0-9]{1,11}", plan) else None), when

    def show_quote(self, plan_id: int | None, day: dt.date) -> None:
        """Remember what the amounts about to be shown are for."""
        self.from_plan.data = str(plan_id or "")
        self.billing_day.data = day.isoformat()


class StatusForm(AppForm):
    reason = TextAreaField("Reason", validators=[DataRequired("Say why, for the record."), Length(max=500)])


class TopUpForm(AppForm):
    """The top-up's first step: how much. The card comes on the next step, after the amount."""

    amount = StringField("Amount", validators=[DataRequired("Enter the amount to add.")])

    def __init__(self, *args, minimum: int, maximum: int, currency: str, locale: str, **kwargs):
        self.minimum, self.maximum, self.currency, self.locale = minimum, maximum, currency, locale
        super().__init__(*args, **kwargs)

    @property
    def amount_example(self) -> str:
        """An amount typed the way this white-label's locale reads it, for the hint."""
        return typing_example(self.locale, self.currency, 2050)

    def validate_amount(self, field):
        try:
            minor = parse_amount(field.data, locale=self.locale, currency=self.currency)
        except ValueError as problem:
            raise ValidationError(str(problem)) from None
        if not self.minimum <= minor <= self.maximum:
            raise ValidationError(
                f"Enter an amount from {format_money(self.minimum, self.currency)} "
                f"to {format_money(self.maximum, self.currency)}."
            )
        self._amount = minor

    def amount_minor(self) -> int:
        return self._amount


class TopUpPaymentForm(CardFields):
    """The top-up's payment step with the sandbox: the card, typed here and handed to the
    sandbox in memory only. The amount was chosen on the step before (the route reads it)."""

    attempt = HiddenField()


class StripeTopUpForm(AppForm):
    """The top-up's payment step with Stripe: the card goes from Stripe.js to Stripe; we receive
    the confirmed PaymentIntent's id."""

    attempt = HiddenField()
    payment_intent = HiddenField()

    def forget_card(self) -> None:
        """Nothing of a card is on this form."""
