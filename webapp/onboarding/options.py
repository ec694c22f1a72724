"""The answer to "Who will administer this account?": each option declared once, as an object.

Everything that differs between the options is asked of the option: its words, its steps, what it
needs from the white-label, who pays, and what creating the customer does. Adding an option (say,
a reseller's sub-account) means adding one `Option` here with its steps, and one template of its
words (`template`, a file of macros: see templates/onboarding/options/). Nothing else compares
an option's key; `Customer.administered_by` and `CustomerDraft.administered_by` store it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Customer, WhiteLabel
from .steps import ADDRESS, AUTHORIZED_CONTACT, CONTACT, NUMBERS, PBX, PLAN, REVIEW, WHO, Step


@dataclass(frozen=True, eq=False)
class Option:
    key: str  # stored in Customer.administered_by and CustomerDraft.administered_by
    label: str  # the choice as the first step offers it
    short_label: str  # the "Administered by" column of the customers list and page
    hint: str  # what choosing it means, under the choice
    steps: tuple[Step, ...]
    # The customer pays the opening balance by card, so the white-label needs a payment gateway.
    needs_payment_gateway: bool
    # Charges (the first month, plan changes) go on the white-label's own ledger, so the plan
    # step checks the white-label's available credit.
    charges_white_label: bool
    # The white-label runs the account after creation: the administrator who creates it becomes
    # its Account Administrator, and the customer page offers numbers, PBX settings and plan.
    white_label_administers: bool
    # The contact is emailed a link to activate the account and fund it by card.
    activates_by_email: bool
    status_after_creation: str
    # "Check your answers": how the first payment is made ({price}: a month; {minimum}: opening balance)
    payment_summary: str
    # Macros with the option's longer words on the wizard's pages and the success page.
    template: str

    def unavailable_reason(self, white_label: WhiteLabel) -> str | None:
        """Why this white-label cannot choose the option now, or None when it can."""
        if self.needs_payment_gateway and not white_label.has_payment_gateway:
            others = " or ".join(
                f"“{o.label}”" for o in OPTIONS if o is not self and not o.unavailable_reason(white_label)
            )
            return (
                f"“{self.label}” needs a payment gateway so they can fund the account by card. "
                f"Set one up in Settings > Payment gateway" + (f", or choose {others}." if others else ".")
            )
        return None

    def step(self, slug: str) -> Step | None:
        return next((s for s in self.steps if s.slug == slug), None)


CUSTOMER = Option(
    key="customer",
    label="The new customer",
    short_label="The customer",
    hint=(
        "They activate the account from an emailed link and fund it by card; once active, they "
        "administer it. You will not be able to activate it for them."
    ),
    steps=(WHO, CONTACT, ADDRESS, PLAN, REVIEW),
    needs_payment_gateway=True,
    charges_white_label=False,
    white_label_administers=False,
    activates_by_email=True,
    status_after_creation=Customer.PENDING,
    payment_summary="The customer pays an opening balance of at least {minimum} by card when they activate",
    template="onboarding/options/_customer.html",
)

WHITE_LABEL = Option(
    key="white_label",
    label="Me, the white-label administrator",
    short_label="White-label",
    hint=(
        "You add numbers and PBX settings for them. All charges are debited against your white-label "
        "account, and you become the account’s Account Administrator."
    ),
    steps=(WHO, AUTHORIZED_CONTACT, ADDRESS, PLAN, NUMBERS, PBX, REVIEW),
    needs_payment_gateway=False,
    charges_white_label=True,
    white_label_administers=True,
    activates_by_email=False,
    status_after_creation=Customer.ACTIVE,
    payment_summary="First month ({price}) charged to your white-label account",
    template="onboarding/options/_white_label.html",
)

OPTIONS: tuple[Option, ...] = (CUSTOMER, WHITE_LABEL)


def option_for(key: str | None) -> Option | None:
    """The option stored under `key`, or None for anything else."""
    return next((option for option in OPTIONS if option.key == key), None)


def option_of(record) -> Option:
    """The option of a customer or a draft (anything with `administered_by`)."""
    option = option_for(record.administered_by)
    if option is None:
        raise LookupError(f"unknown option {record.administered_by!r}")
    return option
