"""The wizard's steps, each declared once with its form, template and its rows on "Check your
answers". Which steps an option asks, and in what order, is the option's business (options.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..models import Plan, WhiteLabel
from ..phones import country_name, display_phone
from ..templating import format_money
from ..tenancy import scoped
from .forms import (
    AddressForm,
    AuthorizedContactForm,
    ContactForm,
    NumbersForm,
    PbxForm,
    PlanForm,
    ReviewForm,
    WhoForm,
)

Rows = list[tuple[str, str]]


class Wizard(Protocol):
    """What a step's summary reads of the wizard (wizard.py's Wizard)."""

    white_label: WhiteLabel
    option: object  # the chosen Option (options.py): its label and payment_summary


@dataclass(frozen=True, eq=False)
class Step:
    slug: str  # the URL segment and the key of its answers in the draft
    name: str  # shown in the progress indicator
    heading: str
    form: type
    template: str
    # (stored answers, wizard) -> the (question, answer) rows "Check your answers" shows; a
    # step declared without one still shows its raw answers there rather than nothing.
    summary: Callable[[dict, Wizard], Rows] = field(
        default=lambda values, wizard: [(name, str(value)) for name, value in values.items()]
    )


def _lines(*parts) -> str:
    return "\n".join(p for p in parts if p)


def _yes_no(value) -> str:
    return "Yes" if value else "No"


def _who_rows(values: dict, wizard: Wizard) -> Rows:
    return [("Who will administer this account?", wizard.option.label)]


def _contact_rows(v: dict, wizard: Wizard) -> Rows:
    rows = [
        ("Business name", v.get("business_name")),
        ("Trading name", v.get("trading_name") or "—"),
        ("Business number", v.get("business_number") or "—"),
        ("Contact", f"{v.get('first_name', '')} {v.get('last_name', '')}".strip()),
        ("Email", v.get("email")),
        ("Phone", display_phone(v.get("phone"), wizard.white_label.country)),
    ]
    if "authorized" in v:
        rows.append(("Authorized to act for the business", _yes_no(v.get("authorized"))))
    return rows


def _address_rows(v: dict, wizard: Wizard) -> Rows:
    address = _lines(
        v.get("address_line1"),
        v.get("address_line2"),
        v.get("city"),
        v.get("region"),
        v.get("postcode"),
        country_name(v.get("country")),
    )
    if v.get("service_same"):
        service = "Same as the address above"
    else:
        service = _lines(
            v.get("service_line1"),
            v.get("service_line2"),
            v.get("service_city"),
            v.get("service_region"),
            v.get("service_postcode"),
            country_name(v.get("service_country")),
        )
    return [("Address", address), ("Service address", service)]


def _plan_rows(v: dict, wizard: Wizard) -> Rows:
    white_label = wizard.white_label
    plan = scoped(Plan, of=white_label).where(Plan.id == v.get("plan")).first()
    if plan is None:
        return [("Plan", "—")]
    price = format_money(plan.monthly_price, white_label.currency)
    minimum = format_money(plan.min_opening_balance, white_label.currency)
    return [
        ("Plan", f"{plan.name}, {price} a month"),
        ("Payment", wizard.option.payment_summary.format(price=price, minimum=minimum)),
    ]


def _numbers_rows(v: dict, wizard: Wizard) -> Rows:
    country = wizard.white_label.country
    return [("Phone numbers", "\n".join(display_phone(n, country) for n in v.get("numbers") or []) or "None")]


def _pbx_rows(v: dict, wizard: Wizard) -> Rows:
    return [
        ("Time zone", (v.get("time_zone") or "").replace("_", " ")),
        ("Extension length", f"{v.get('extension_length')} digits"),
        ("Default caller ID", display_phone(v.get("default_caller_id"), wizard.white_label.country) or "None"),
        ("Voicemail to email", _yes_no(v.get("voicemail_to_email"))),
        ("Call recording", _yes_no(v.get("call_recording"))),
    ]


WHO = Step(
    "who", "Who administers", "Who will administer this account?", WhoForm, "onboarding/_step_who.html", _who_rows
)
CONTACT = Step(
    "contact",
    "Contact and business",
    "Contact and business information",
    ContactForm,
    "onboarding/_step_contact.html",
    _contact_rows,
)
AUTHORIZED_CONTACT = Step(
    "contact",
    "Authorized contact",
    "Authorized contact and business information",
    AuthorizedContactForm,
    "onboarding/_step_contact.html",
    _contact_rows,
)
ADDRESS = Step("address", "Address", "Address details", AddressForm, "onboarding/_step_address.html", _address_rows)
PLAN = Step("plan", "Plan and payment", "Plan and payment", PlanForm, "onboarding/_step_plan.html", _plan_rows)
NUMBERS = Step("numbers", "Phone numbers", "Phone numbers", NumbersForm, "onboarding/_step_numbers.html", _numbers_rows)
PBX = Step("pbx", "PBX settings", "PBX settings", PbxForm, "onboarding/_step_pbx.html", _pbx_rows)
REVIEW = Step(
    "review",
    "Check your answers",
    "Check your answers",
    ReviewForm,
    "onboarding/_step_review.html",
    lambda values, wizard: [],
)
