"""Creating the customer from a finished draft: one transaction, idempotent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from peewee import IntegrityError

from ..audit import audit
from ..database import locked
from ..extensions import db
from ..models import (
    Customer,
    CustomerDraft,
    CustomerMembership,
    LedgerEntry,
    PbxSettings,
    PhoneNumber,
    Plan,
    User,
    WhiteLabel,
    utcnow,
)
from ..tenancy import belongs_to
from ..webhooks.events import CUSTOMER_CREATED, emit_customer_event
from .forms import EMAIL_TAKEN
from .steps import NUMBERS, REVIEW, Step
from .wizard import Wizard

if TYPE_CHECKING:
    from flask_wtf import FlaskForm

    from .forms import AddressForm, ContactForm, NumbersForm, PbxForm
    from .options import Option


class StepProblem(Exception):
    """A step's answer is not (or no longer) acceptable: a number was taken, credit ran out...
    `form` holds the step's form with its errors when validation found it."""

    def __init__(self, step: Step, form: FlaskForm | None = None) -> None:
        super().__init__(step.slug)
        self.step = step
        self.form = form


def lock_white_label(white_label: WhiteLabel, option: Option | None = None) -> WhiteLabel:
    """The white-label row for a create with `option`: re-read and locked when the option
    charges the white-label (or when no option is named, as for a whole import's credit check),
    so two creates' credit checks don't race. Nothing else needs the lock: the contact email is
    held by a unique index (migration 016, turned into the contact step's error here) and a
    number by the conditional update that assigns it, so creates of the other option run side
    by side, with the row the request already read (a re-read without a lock would guarantee
    nothing more)."""
    if option is not None and not option.charges_white_label:
        return white_label
    return locked(WhiteLabel.select().where(WhiteLabel.id == white_label.id)).get()


def submit(wizard: Wizard, actor: User) -> Customer:
    """Create the customer the wizard's draft describes, exactly once; raises StepProblem to go back."""
    draft = wizard.draft
    with db.atomic():
        # Claiming the draft is the transaction's first write: a second submit of the same
        # draft (double click, replay, other tab) waits here and then finds it taken.
        claimed = (
            CustomerDraft.update(submitted_at=utcnow())
            .where((CustomerDraft.id == draft.id) & CustomerDraft.submitted_at.is_null())
            .execute()
        )
        if not claimed:
            existing = CustomerDraft.get_by_id(draft.id)
            if existing.customer_id is None:
                raise LookupError("draft was submitted but has no customer")
            return Customer.get_by_id(existing.customer_id)

        # Every answer checked again, against the locked white-label (credit, numbers taken...).
        customer = create_customer(Wizard(lock_white_label(wizard.white_label, wizard.option), draft), actor)
        CustomerDraft.update(customer=customer).where(CustomerDraft.id == draft.id).execute()
        return customer


def checked_forms(wizard: Wizard) -> dict[str, FlaskForm]:
    """Every step's form filled from the wizard's answers and validated, by step slug; raises
    StepProblem at the first step whose answer is not acceptable."""
    forms = {}
    for step in wizard.steps:
        if step is REVIEW:
            continue
        form = wizard.form(step, stored=True)
        if not form.validate():
            raise StepProblem(step, form)
        forms[step.slug] = form
    return forms


def create_customer(wizard: Wizard, actor: User, *, via: str | None = None) -> Customer:
    """Create the customer a wizard's answers describe: the customer row, then what its option
    does (membership, first charge, numbers, PBX settings, activation email) and the audit event.
    Call inside the caller's transaction, with `wizard.white_label` locked (lock_white_label).
    `via` names another door than the console (an API key) in the audit trail.

    After a StepProblem the transaction may be unusable (PostgreSQL refuses every statement
    after a failed insert): roll it back, or call inside a savepoint to go on, as the import does."""
    forms = checked_forms(wizard)
    option, white_label = wizard.option, wizard.white_label
    try:
        customer = _new_customer(option, white_label, actor, forms)
    except IntegrityError as error:
        if "contact_email" not in str(error):  # the unique index of migration 016, by its name
            raise
        # Another create took the email after this one's check: the contact step's own error.
        contact = forms["contact"]
        contact.email.errors = [EMAIL_TAKEN]
        raise StepProblem(next(step for step in wizard.steps if step.slug == "contact"), contact) from None
    if option.white_label_administers:
        CustomerMembership.create(user=actor, customer=customer, role=CustomerMembership.ACCOUNT_ADMINISTRATOR)
    if option.charges_white_label:
        _charge_first_month(customer, white_label, actor)
    if "numbers" in forms:
        _assign_numbers(customer, white_label, forms["numbers"].numbers.data)
    if "pbx" in forms:
        _save_pbx_settings(customer, forms["pbx"], forms.get("numbers"))
    if option.activates_by_email:
        _send_activation(customer)
    audit(
        white_label,
        "customer_created",
        customer=customer,
        actor=actor,
        administered_by=option.key,
        plan=customer.plan.name,
        **({"via": via} if via else {}),
    )
    emit_customer_event(CUSTOMER_CREATED, customer)
    return customer


def _new_customer(option: Option, white_label: WhiteLabel, actor: User, forms: dict[str, FlaskForm]) -> Customer:
    customer = Customer(
        white_label=white_label,
        **customer_details(forms["contact"], forms["address"]),
        plan=forms["plan"].chosen_plan(),
        administered_by=option.key,
        status=option.status_after_creation,
        created_by=actor,
        activated_at=utcnow() if option.status_after_creation == Customer.ACTIVE else None,
    )
    customer.refresh_search_text()
    # No savepoint of its own: when the email's unique index refuses the row, create_customer
    # raises StepProblem and its callers roll back (the import's savepoint per row, the API's
    # and the console's transaction), so the refused insert costs no extra round trips.
    customer.save()
    return customer


def customer_details(contact: ContactForm, address: AddressForm) -> dict:
    """The customer's columns that the contact and address forms (validated) fill: what the
    wizard creates a customer with, and what editing a customer changes."""
    same = bool(address.service_same.data)
    return {
        "business_name": contact.business_name.data.strip(),
        "trading_name": (contact.trading_name.data or "").strip(),
        "business_number": contact.normalised.get("business_number", ""),
        "contact_first_name": contact.first_name.data.strip(),
        "contact_last_name": contact.last_name.data.strip(),
        "contact_email": contact.normalised["email"],
        "contact_phone": contact.normalised["phone"],
        "address_line1": address.address_line1.data.strip(),
        "address_line2": (address.address_line2.data or "").strip(),
        "city": address.city.data.strip(),
        "region": (address.region.data or "").strip(),
        "postcode": address.postcode.data.strip(),
        "country": address.country.data,
        "service_same_as_address": same,
        "service_line1": (address.address_line1.data if same else address.service_line1.data).strip(),
        "service_line2": ((address.address_line2.data if same else address.service_line2.data) or "").strip(),
        "service_city": (address.city.data if same else address.service_city.data).strip(),
        "service_region": ((address.region.data if same else address.service_region.data) or "").strip(),
        "service_postcode": (address.postcode.data if same else address.service_postcode.data).strip(),
        "service_country": address.country.data if same else address.service_country.data,
    }


def _charge_first_month(customer: Customer, white_label: WhiteLabel, actor: User) -> None:
    plan: Plan = customer.plan
    LedgerEntry.create(
        white_label=white_label,
        account=LedgerEntry.WHITE_LABEL,
        customer=customer,
        kind=LedgerEntry.DEBIT,
        amount=plan.monthly_price,
        currency=white_label.currency,
        reason=f"First month of {plan.name} for {customer.business_name}",
        reference=f"customer:{customer.id}:first-month",
        created_by=actor,
    )


def _assign_numbers(customer: Customer, white_label: WhiteLabel, numbers: list[str]) -> None:
    if not numbers:
        return
    assigned = (
        PhoneNumber.update(customer=customer, assigned_at=utcnow())
        .where(
            belongs_to(PhoneNumber, of=white_label) & PhoneNumber.customer.is_null() & PhoneNumber.number.in_(numbers)
        )
        .execute()
    )
    if assigned != len(numbers):  # taken between the check and now
        raise StepProblem(NUMBERS)


def _save_pbx_settings(customer: Customer, pbx: PbxForm, numbers_form: NumbersForm | None) -> None:
    numbers = list(numbers_form.numbers.data) if numbers_form is not None else []
    caller_id = pbx.default_caller_id.data if pbx.default_caller_id.data in numbers else ""
    PbxSettings.create(
        customer=customer,
        time_zone=pbx.time_zone.data,
        extension_length=int(pbx.extension_length.data),
        default_caller_id=caller_id,
        voicemail_to_email=bool(pbx.voicemail_to_email.data),
        call_recording=bool(pbx.call_recording.data),
    )


def _send_activation(customer: Customer) -> None:
    from ..activation.service import send_activation_link

    customer.first_activation_link = send_activation_link(customer, new_customer=True)
