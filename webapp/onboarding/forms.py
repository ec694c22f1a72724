"""The wizard's forms. Each owns its validation; context (white-label, draft) comes in kwargs."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..addresses import (
    BILLING_PO_BOX,
    SERVICE_PO_BOX,
    is_po_box,
    normalise_postcode,
    postcode_problem,
    postcode_required,
)
from ..business_numbers import check_business_number, hint_for
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
from ..prepared import prepared
from ..templating import format_money
from ..tenancy import scoped

# The contact email rule: one live customer per email in a white-label. A cancelled customer's
# email is free again. Migration 016 holds the same rule as a partial unique index.
EMAIL_TAKEN = "This email is already the contact of another of your customers. Use a different email."
# What the API's tests and clients know the service address refusal by.
PO_BOX_MESSAGE = SERVICE_PO_BOX


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

    template = SelectField(
        "Start from a template (optional)",
        choices=[],
        default="",
        description=(
            "Fills in the plan, phone numbers and PBX settings for you; you can still change every answer. "
            "If you do not choose who will administer the account, the template’s choice is used."
        ),
    )

    def __init__(self, *args, options=(), templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {option.key: option for option in options}
        self.administered_by.choices = [SelectChoice(option.key, option.label) for option in options]
        # Templates are offered only when a draft starts (the wizard passes them then).
        self.templates = {str(t.id): t for t in templates}
        if self.templates:
            self.template.choices = [SelectChoice("", "No template")] + [
                SelectChoice(key, t.name) for key, t in self.templates.items()
            ]
            if self.template.data not in self.templates:
                self.template.data = ""
        else:
            del self.template

    def chosen(self):
        """The chosen option (after validation)."""
        return self.options.get(self.administered_by.data)

    def chosen_template(self):
        """The chosen template, or None."""
        return self.templates.get(self.template.data) if "template" in self else None

    def validate(self, extra_validators=None) -> bool:
        # With a template and no option chosen, the template says who administers.
        template = self.chosen_template()
        if template is not None and not self.administered_by.data:
            self.administered_by.data = template.administered_by
            self.administered_by.raw_data = [template.administered_by]
        return super().validate(extra_validators)

    def values(self) -> dict:
        return {"administered_by": self.administered_by.data}

    def validate_administered_by(self, field):
        reason = self.options[field.data].unavailable_reason(self.white_label) if field.data in self.options else None
        if reason:
            raise ValidationError(reason)


@prepared
def _email_taken(white_label, email, editing):
    """Another customer of the white-label, not cancelled, has this contact email (every create asks)."""
    return (
        scoped(Customer, Customer.id, of=white_label)
        .where((Customer.contact_email == email) & (Customer.status != Customer.CANCELLED) & (Customer.id != editing))
        .limit(1)
    )


@prepared
def _plans_offered(white_label):
    """The white-label's active plans, in its order (every plan step and every create asks)."""
    return scoped(Plan, of=white_label).where(Plan.active).order_by(Plan.sort_order, Plan.id)


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
        description="The business’s registration number, if it has one.",  # per country: see __init__
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

    def __init__(self, *args, editing: Customer | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Canonical forms found while validating; the inputs keep exactly what was typed.
        self.normalised: dict[str, str] = {}
        self.editing = editing  # the customer whose details these are, when editing one
        self.business_number.description = hint_for(self.business_country)

    @property
    def business_country(self) -> str:
        """The customer's country: their address's once given (the API gives it at once; the
        wizard checks every step again on submit), else the white-label's."""
        return self.answers.get("country") or self.white_label.country

    def values(self) -> dict:
        return {**super().values(), **self.normalised}

    def validate_business_number(self, field):
        number, problem = check_business_number(field.data, self.business_country)
        if problem:
            raise ValidationError(problem)
        if number:
            self.normalised["business_number"] = number

    def validate_email(self, field):
        try:
            email = validate_email(field.data or "", check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise ValidationError("Enter an email address in the right format, like name@example.com.") from None
        self.normalised["email"] = email
        if _email_taken.exists(
            white_label=self.white_label, email=email, editing=self.editing.id if self.editing else 0
        ):
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
    # Required or not by the country's rules (Hong Kong has no postcodes): see validate_postcode.
    postcode = StringField("Postcode", validators=[Length(max=12)])
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

    def _check_postcode(self, field, country: str | None) -> None:
        """The postcode as the country writes it (addresses.py); stored in its written form."""
        problem = postcode_problem(field.data, country)
        if problem:
            raise ValidationError(problem)
        field.data = normalise_postcode(field.data)

    def validate_postcode(self, field):
        if not (field.data or "").strip() and postcode_required(self.country.data):
            raise ValidationError("Enter the postcode.")
        self._check_postcode(field, self.country.data)

    # With the service address the same, the address is where emergency services go: a PO box on
    # either line is refused on that line, with the way out (untick "same address").
    def validate_address_line1(self, field):
        if self.service_same.data and is_po_box(field.data):
            raise ValidationError(BILLING_PO_BOX)

    def validate_address_line2(self, field):
        if self.service_same.data and is_po_box(field.data):
            raise ValidationError(BILLING_PO_BOX)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.service_same.data:
            return valid
        required = {
            "service_line1": "Enter the first line of the service address.",
            "service_city": "Enter the service address city.",
            "service_country": "Choose the service address country.",
        }
        if postcode_required(self.service_country.data):
            required["service_postcode"] = "Enter the service address postcode."
        for name, message in required.items():
            field = self[name]
            if not (field.data or "").strip() and not field.errors:
                field.errors = [*field.errors, message]
                valid = False
        for line in (self.service_line1, self.service_line2):
            if is_po_box(line.data) and not line.errors:
                line.errors = [*line.errors, SERVICE_PO_BOX]
                valid = False
        if not self.service_postcode.errors:
            try:
                self._check_postcode(self.service_postcode, self.service_country.data)
            except ValidationError as error:
                self.service_postcode.errors = [*self.service_postcode.errors, str(error)]
                valid = False
        return valid


class PlanForm(WizardForm):
    plan = RadioField("Plan", choices=[], coerce=str, validators=[InputRequired("Choose a plan.")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = list(_plans_offered.rows(white_label=self.white_label))
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
        self.check_count(field.data)
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

    def check_count(self, numbers: list[str]) -> None:
        """The wizard's rule: at most the plan's included numbers (a customer's own Account
        Administrators may go beyond them at a charge: accounts/forms.py AccountNumbersForm)."""
        plan = self.plan()
        limit = plan.included_numbers if plan else 0
        if len(numbers) > limit:
            raise ValidationError(
                f"Choose at most {limit} number{'s' if limit != 1 else ''}: that is what the "
                f"{plan.name if plan else 'chosen'} plan includes."
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
        # Shown for the first time with exactly one number chosen: that number is the obvious
        # caller ID (the administrator can still pick None).
        if kwargs.get("formdata") is None and not args and len(chosen) == 1:
            self.default_caller_id.data = chosen[0]


class ReviewForm(WizardForm):
    """The last step has nothing to fill in; its form only carries the CSRF token."""
