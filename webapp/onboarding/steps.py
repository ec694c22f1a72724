"""The wizard's steps for each option, declared once. Templates and views read these."""
from __future__ import annotations

from dataclasses import dataclass

from .forms import (
    CUSTOMER,
    WHITE_LABEL,
    AddressForm,
    AuthorizedContactForm,
    ContactForm,
    NumbersForm,
    PbxForm,
    PlanForm,
    ReviewForm,
    WhoForm,
)


@dataclass(frozen=True)
class Step:
    slug: str  # the URL segment and the key of its answers in the draft
    name: str  # shown in the progress indicator
    heading: str
    form: type
    template: str


WHO = Step("who", "Who administers", "Who will administer this account?", WhoForm, "onboarding/_step_who.html")
CONTACT = Step("contact", "Contact and business", "Contact and business information", ContactForm, "onboarding/_step_contact.html")
AUTHORIZED_CONTACT = Step(
    "contact", "Authorized contact", "Authorized contact and business information",
    AuthorizedContactForm, "onboarding/_step_contact.html",
)
ADDRESS = Step("address", "Address", "Address details", AddressForm, "onboarding/_step_address.html")
PLAN = Step("plan", "Plan and payment", "Plan and payment", PlanForm, "onboarding/_step_plan.html")
NUMBERS = Step("numbers", "Phone numbers", "Phone numbers", NumbersForm, "onboarding/_step_numbers.html")
PBX = Step("pbx", "PBX settings", "PBX settings", PbxForm, "onboarding/_step_pbx.html")
REVIEW = Step("review", "Check your answers", "Check your answers", ReviewForm, "onboarding/_step_review.html")

FLOWS: dict[str, tuple[Step, ...]] = {
    CUSTOMER: (WHO, CONTACT, ADDRESS, PLAN, REVIEW),
    WHITE_LABEL: (WHO, AUTHORIZED_CONTACT, ADDRESS, PLAN, NUMBERS, PBX, REVIEW),
}

OPTION_LABELS = {CUSTOMER: "The new customer", WHITE_LABEL: "Me, the white-label administrator"}


def flow(administered_by: str) -> tuple[Step, ...]:
    return FLOWS.get(administered_by, FLOWS[CUSTOMER])


def find_step(administered_by: str, slug: str) -> Step | None:
    return next((s for s in flow(administered_by) if s.slug == slug), None)


def neighbours(administered_by: str, step: Step) -> tuple[Step | None, Step | None]:
    steps = flow(administered_by)
    index = steps.index(step)
    previous = steps[index - 1] if index > 0 else None
    following = steps[index + 1] if index + 1 < len(steps) else None
    return previous, following
