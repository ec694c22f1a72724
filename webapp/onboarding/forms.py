"""The wizard's forms. Each owns its validation; context (white-label, draft) comes in kwargs."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from stdnum import ean
from stdnum.au import abn
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import AppForm
from ..ledger import available_credit
from ..models import Customer, PhoneNumber, Plan, WhiteLabel
from ..phones import (
    CountrySelect,
    country_choices,
    country_codes,
    display_phone,
    normalise_phone,
    time_zone_choices,
)
from ..templating import format_money
from ..tenancy import scoped

# Words that mark an address as a post-office box or similar rather than a place.
PO_BOX = re.compile(
    r"\b(p\.?\s*o\.?\s*box|post\s*office\s*box|postal\s*box|box\s+\d+|private\s*bag|locked\s*bag"
    r"|gpo\s*box|cmb|rmb|pmb|poste\s*restante|counter\s*delivery|parcel\s*locker)\b",
    re.IGNORECASE,
)
# The contact email rule: one live customer per email in a white-label. A cancelled customer's
# email is free again. Migration 016 holds the same rule as a partial unique index.
EMAIL_TAKEN = "This email is already the contact of another of your customers. Use a different email."
PO_BOX_MESSAGE = (
    "Enter a street address. Emergency services are sent to the service address, "
    "so it cannot be a PO Box, private bag or other post-office address."
)


class WizardForm(AppForm):
    """Base for wizard steps: carries the white-label, the chosen option (see options.py) and
    the draft's other answers."""

    def __init__(self, *args, white_label: WhiteLabel, answers: dict | None = None, option=None, **kwargs):
        self.white_label = white_label
        self.answers = answers or {}
        self.option = option
        super().__init__(*args, **kwargs)

    def values(self) -> dict:
        """What the draft stores for this step (no CSRF token)."""
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class WhoForm(WizardForm):
    """The first step: one of the options (options.py), which the wizard passes in."""

    administered_by = RadioField(
        "Who will administer this account?",
        choices=[],
        validators=[InputRequired("Choose who will administer this account.")],
    )

    def __init__(self, *args, options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {option.key: option for option in options}
        self.administered_by.choices = [SelectChoice(option.key, option.label) for option in options]

    def chosen(self):
        """The chosen option (after validation)."""
        return self.options.get(self.administered_by.data)

    def validate_administered_by(self, field):
        reason = self.options[field.data].unavailable_reason(self.white_label) if field.data in self.options else None
        if reason:
            raise ValidationError(reason)


class ContactForm(WizardForm):
    business_name = StringField("Business name", validators=[DataRequired("Enter the business name."), Length(max=200)])
    trading_name = StringField(
        "Trading name",
        validators=[Optional(), Length(max=200)],
        description="Only if the business trades under a different name.",
    )
    business_number = StringField(
        "Business number",
        validators=[Optional(), Length(max=40)],
        description="For example an NZBN (13 digits) or an ABN (11 digits).",
    )
    first_name = StringField(
        "First name", validators=[DataRequired("Enter the contact’s first name."), Length(max=100)]
    )
    last_name = StringField("Last name", validators=[DataRequired("Enter the contact’s last name."), Length(max=100)])
    email = StringField(
        "Email",
        validators=[DataRequired("Enter the contact’s email address."), Length(max=254)],
        description="We send account emails here.",
    )
    phone = StringField(
        "Phone",
        validators=[DataRequired("Enter the contact’s phone number."), Length(max=40)],
        description="Local or international format, for example 021 123 4567 or +64 21 123 4567.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Canonical forms found while validating; the inputs keep exactly what was typed.
        self.normalised: dict[str, str] = {}

    def values(self) -> dict:
        return {**super().values(), **self.normalised}

    def validate_business_number(self, field):
        digits = re.sub(r"[\s-]", "", field.data or "")
        if not digits:
            return
        country = self.white_label.country
        if country == "AU" and not abn.is_valid(digits):
            raise ValidationError("Enter a valid ABN: 11 digits, for example 51 824 753 556.")
        if country == "NZ" and not (len(digits) == 13 and digits.isdigit() and ean.is_valid(digits)):
            raise ValidationError("Enter a valid NZBN: 13 digits, for example 9429041535837.")
        self.normalised["business_number"] = digits

    def validate_email(self, field):
        try:
            email = validate_email(field.data or "", check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise ValidationError("Enter an email address in the right format, like name@example.com.") from None
        self.normalised["email"] = email
        taken = (
            scoped(Customer, of=self.white_label)
            .where((Customer.contact_email == email) & (Customer.status != Customer.CANCELLED))
            .exists()
        )
        if taken:
            raise ValidationError(EMAIL_TAKEN)

    def validate_phone(self, field):
        try:
            self.normalised["phone"] = normalise_phone(field.data or "", self.white_label.country)
        except ValueError:
            raise ValidationError("Enter a valid phone number, like 021 123 4567 or +64 21 123 4567.") from None


class AuthorizedContactForm(ContactForm):
    authorized = BooleanField(
        "I confirm this person is authorized to act for the business",
        validators=[DataRequired("Confirm that this person is authorized to act for the business.")],
    )


class CountryField(SelectField):
    """A select of every country (phones.country_choices, set by the form), whose choice is
    checked against the set of codes. WTForms's own check walks the ~250 choices building a
    tuple for each: 3 ms of every address form validated (twice: address and service address)."""

    widget = CountrySelect()

    def pre_validate(self, form):
        if self.process_errors or not self.validate_choice:
            return
        if self.data not in country_codes():
            raise ValidationError(self.invalid_choice_message or self.gettext("Not a valid choice."))


SERVICE_FIELDS = (
    "service_line1",
    "service_line2",
    "service_city",
    "service_region",
    "service_postcode",
    "service_country",
)


class AddressForm(WizardForm):
    address_line1 = StringField(
        "Address line 1", validators=[DataRequired("Enter the first line of the address."), Length(max=200)]
    )
    address_line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[DataRequired("Enter the city."), Length(max=100)])
    region = StringField("Region", validators=[Optional(), Length(max=100)])
    postcode = StringField("Postcode", validators=[DataRequired("Enter the postcode."), Length(max=12)])
    country = CountryField("Country", choices=[], validators=[DataRequired("Choose the country.")])
    service_same = BooleanField("The service address is the same as the address above", default=True)
    service_line1 = StringField("Service address line 1", validators=[Length(max=200)])
    service_line2 = StringField("Service address line 2", validators=[Length(max=200)])
    service_city = StringField("Service city", validators=[Length(max=100)])
    service_region = StringField("Service region", validators=[Length(max=100)])
    service_postcode = StringField("Service postcode", validators=[Length(max=12)])
    service_country = CountryField("Service country", choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.service_country.choices = country_choices()
        if not self.country.data:
            self.country.data = self.white_label.country
        if not self.service_country.data:
            self.service_country.data = self.white_label.country

    def _check_postcode(self, field):
        if field.data and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 -]{1,10}", field.data.strip()):
            raise ValidationError("Enter a postcode using letters, numbers, spaces or hyphens.")

    def validate_postcode(self, field):
        self._check_postcode(field)

    def validate_address_line1(self, field):
        if self.service_same.data and PO_BOX.search(f"{field.data} {self.address_line2.data or ''}"):
            raise ValidationError(PO_BOX_MESSAGE)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.service_same.data:
            return valid
        required = {
            "service_line1": "Enter the first line of the service address.",
            "service_city": "Enter the service address city.",
            "service_postcode": "Enter the service address postcode.",
            "service_country": "Choose the service address country.",
        }
        for name, message in required.items():
            field = self[name]
            if not (field.data or "").strip() and not field.errors:
                field.errors = [*field.errors, message]
                valid = False
        if self.service_line1.data and PO_BOX.search(f"{self.service_line1.data} {self.service_line2.data or ''}"):
            self.service_line1.errors = [*self.service_line1.errors, PO_BOX_MESSAGE]
            valid = False
        try:
            self._check_postcode(self.service_postcode)
        except ValidationError as error:
            self.service_postcode.errors = [*self.service_postcode.errors, str(error)]
            valid = False
        return valid


class PlanForm(WizardForm):
    plan = RadioField("Plan", choices=[], coerce=str, validators=[InputRequired("Choose a plan.")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = list(scoped(Plan, of=self.white_label).where(Plan.active).order_by(Plan.sort_order, Plan.id))
        self.plan.choices = [SelectChoice(str(p.id), p.name) for p in self.plans]

    def chosen_plan(self) -> Plan | None:
        return next((p for p in self.plans if str(p.id) == str(self.plan.data)), None)

    def validate_plan(self, field):
        plan = self.chosen_plan()
        if plan is None:
            raise ValidationError("Choose a plan.")
        if self.option is not None and self.option.charges_white_label:
            available = available_credit(self.white_label)
            if plan.monthly_price > available:
                currency = self.white_label.currency
                raise ValidationError(
                    f"The first month of {plan.name} costs {format_money(plan.monthly_price, currency)}, "
                    f"but your white-label account has only {format_money(available, currency)} available "
                    f"(balance plus credit limit of {format_money(self.white_label.credit_limit, currency)}). "
                    "Choose a smaller plan or add funds to your white-label account."
                )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NumbersForm(WizardForm):
    numbers = MultiCheckboxField("Phone numbers", choices=[], validate_choice=False)
    filter = StringField("Filter numbers", validators=[Optional(), Length(max=30)])

    LIST_LIMIT = 60

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.numbers.data = [n for n in (self.numbers.data or []) if isinstance(n, str)][:200]

    def plan(self) -> Plan | None:
        plan_id = self.answers.get("plan")
        return scoped(Plan, of=self.white_label).where(Plan.id == plan_id).first() if plan_id else None

    def available_numbers(self) -> list[str]:
        """Unassigned numbers matching the filter, plus every number already chosen."""
        digits = re.sub(r"\D", "", (self.filter.data or "")[:30])  # never a pattern longer than a number
        query = scoped(PhoneNumber, PhoneNumber.number, of=self.white_label).where(PhoneNumber.customer.is_null())
        if digits:
            query = query.where(PhoneNumber.number.contains(digits))
        shown = [row.number for row in query.order_by(PhoneNumber.number).limit(self.LIST_LIMIT)]
        chosen = [n for n in self.numbers.data if n not in shown]
        return sorted(chosen + shown)

    def validate_numbers(self, field):
        plan = self.plan()
        limit = plan.included_numbers if plan else 0
        if len(field.data) > limit:
            raise ValidationError(
                f"Choose at most {limit} number{'s' if limit != 1 else ''}: that is what the "
                f"{plan.name if plan else 'chosen'} plan includes."
            )
        if field.data:
            free = {
                row.number
                for row in scoped(PhoneNumber, PhoneNumber.number, of=self.white_label).where(
                    PhoneNumber.customer.is_null() & PhoneNumber.number.in_(field.data)
                )
            }
            gone = [n for n in field.data if n not in free]
            if gone:
                raise ValidationError(
                    f"{', '.join(display_phone(n, self.white_label.country) for n in gone)} "
                    f"{'is' if len(gone) == 1 else 'are'} no longer available. Choose another number."
                )

    def values(self) -> dict:
        return {"numbers": list(self.numbers.data)}


class PbxForm(WizardForm):
    time_zone = SelectField("Time zone", choices=[], validators=[DataRequired("Choose a time zone.")])
    extension_length = SelectField(
        "Extension length",
        choices=[SelectChoice(str(n), f"{n} digits") for n in (3, 4, 5)],
        default="3",
        description="How many digits each user’s extension has.",
    )
    default_caller_id = SelectField(
        "Default caller ID", choices=[], default="", description="The number people see when this customer calls out."
    )
    voicemail_to_email = BooleanField("Voicemail to email", default=True)
    call_recording = BooleanField("Call recording", default=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()
        if not self.time_zone.data:
            self.time_zone.data = self.white_label.time_zone
        chosen = self.answers.get("numbers") or []
        self.default_caller_id.choices = [SelectChoice("", "None")] + [
            SelectChoice(n, display_phone(n, self.white_label.country)) for n in chosen
        ]
        if self.default_caller_id.data is None:
            self.default_caller_id.data = ""


class ReviewForm(WizardForm):
    """The last step has nothing to fill in; its form only carries the CSRF token."""
