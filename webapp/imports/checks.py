"""Checking one imported row by the wizard's own rules.

A row's cells become the answers the wizard's steps take ({step slug: {field: value}}), as the
API's request body does (webapp/api/schemas.answers), and `Wizard.from_answers` checks them with
the same forms: contact, business number, email not taken, addresses per country, PO boxes,
plan and credit, numbers available, PBX settings. What only a file can get wrong is checked
here: an email or a number given in two rows of the file, and cells that are not yes or no.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import Plan, WhiteLabel
from ..onboarding.options import OPTIONS, Option, option_for
from ..onboarding.steps import REVIEW, WHO
from ..onboarding.wizard import Wizard
from ..phones import normalise_phone
from ..tenancy import scoped
from .columns import BY_NAME, FIELD_COLUMNS, WHITE_LABEL_ONLY

YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}
SERVICE = ("service_line1", "service_line2", "service_city", "service_region", "service_postcode", "service_country")


@dataclass
class FileChecks:
    """What checking one file keeps from row to row: the white-label, the option for the whole
    file (None: each row names its own), its plans by name, and the emails and numbers earlier
    rows already claimed (value -> row number)."""

    white_label: WhiteLabel
    option: Option | None
    plans: dict[str, Plan] = field(default_factory=dict)
    emails: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        active = scoped(Plan, of=self.white_label).where(Plan.active).order_by(Plan.sort_order, Plan.id)
        self.plans = {plan.name.strip().lower(): plan for plan in active}

    def restore(self, claims: dict, line: int) -> None:
        """What an earlier row (checked in an earlier turn of the worker) holds in the file."""
        if isinstance(claims.get("email"), str):
            self.emails.setdefault(claims["email"], line)
        for number in claims.get("numbers") or ():
            if isinstance(number, str):
                self.numbers.setdefault(number, line)


@dataclass
class Checked:
    option: Option | None
    errors: dict[str, list[str]]
    charge: int = 0  # the first month charged to the white-label when it is created
    # What this row holds within the file, for a later turn's FileChecks.restore.
    claims: dict = field(default_factory=dict)


def _flag(cell: str, default: bool, column: str, errors: dict) -> bool:
    value = (cell or "").strip().lower()
    if not value:
        return default
    if value in YES:
        return True
    if value not in NO:
        errors.setdefault(column, []).append("Enter yes or no.")
    return False


def _phones(cell: str, country: str) -> list[str]:
    found = []
    for part in re.split(r"[\s,;|/]+", cell or ""):
        if part.strip():
            try:
                found.append(normalise_phone(part, country))
            except ValueError:
                found.append(part.strip())
    return found


def answers(checks: FileChecks, option: Option, cells: dict[str, str], errors: dict) -> dict[str, dict]:
    """A row's cells as the wizard's answers, as the API's body becomes them."""
    white_label = checks.white_label

    def cell(name: str) -> str:
        return (cells.get(name) or "").strip()

    contact = {name: cell(name) for name in ("business_name", "trading_name", "business_number", "first_name")}
    contact.update({name: cell(name) for name in ("last_name", "email", "phone")})
    if option.white_label_administers:
        contact["authorized"] = _flag(cell("authorized"), False, "authorized", errors)
    same = not any(cell(name) for name in SERVICE)
    address = {
        "address_line1": cell("address_line1"),
        "address_line2": cell("address_line2"),
        "city": cell("city"),
        "region": cell("region"),
        "postcode": cell("postcode"),
        "country": cell("country").upper() or None,
        "service_same": same,
    }
    if not same:
        address.update({name: cell(name) for name in SERVICE})
        address["service_country"] = cell("service_country").upper() or None
    plan = checks.plans.get(cell("plan").lower())
    result = {"contact": contact, "address": address, "plan": {"plan": str(plan.id) if plan else ""}}
    if option.white_label_administers:
        result["numbers"] = {"numbers": _phones(cell("numbers"), white_label.country)}
        caller = _phones(cell("default_caller_id"), white_label.country)
        result["pbx"] = {
            "time_zone": cell("time_zone") or None,
            "extension_length": cell("extension_length") or "3",
            "default_caller_id": caller[0] if caller else "",
            "voicemail_to_email": _flag(cell("voicemail_to_email"), True, "voicemail_to_email", errors),
            "call_recording": _flag(cell("call_recording"), False, "call_recording", errors),
        }
    return result


def check_row(checks: FileChecks, cells: dict[str, str], errors: dict[str, list[str]], line: int) -> Checked:
    """Check one row by the wizard's rules (every step, every error, not just the first), then
    what only a file can get wrong; `errors` (from reading the row) gains what is found."""
    option = checks.option or option_for((cells.get("administered_by") or "").strip().lower())
    if option is None:
        keys = " or ".join(f"“{o.key}”" for o in OPTIONS)
        errors.setdefault("administered_by", []).append(f"Enter {keys}.")
        return Checked(None, errors)
    wizard = Wizard.from_answers(checks.white_label, option, answers(checks, option, cells, errors))
    forms = {}
    for step in wizard.steps:
        if step is REVIEW:
            continue
        form = wizard.form(step, stored=True)
        if not form.validate():
            for name, messages in form.errors.items():
                column = "administered_by" if step is WHO else FIELD_COLUMNS.get(name, name)
                errors.setdefault(column, []).extend(str(m) for m in messages)
        forms[step.slug] = form
    if "plan" in errors and (cells.get("plan") or "").strip().lower() not in checks.plans:
        names = ", ".join(plan.name for plan in checks.plans.values())
        errors["plan"] = [f"There is no plan called “{(cells.get('plan') or '').strip()[:80]}”. Use one of: {names}."]
    claims = _once_in_file(checks, forms, errors, line)
    for name in list(errors):
        if BY_NAME.get(name) and BY_NAME[name].applies == WHITE_LABEL_ONLY and not option.white_label_administers:
            errors.pop(name)  # a white-label column in a row the customer administers is not used
    plan = forms["plan"].chosen_plan() if "plan" in forms else None
    charge = plan.monthly_price if plan is not None and option.charges_white_label else 0
    return Checked(option, errors, charge, claims)


def _once_in_file(checks: FileChecks, forms: dict, errors: dict, line: int) -> dict:
    """An email or a number is given to one row of the file only (the forms see the database).
    Returns what this row is the first to hold ({"email": ..., "numbers": [...]})."""
    claims: dict = {}
    email = forms["contact"].normalised.get("email") if "contact" in forms else None
    if email and "email" not in errors:
        first = checks.emails.setdefault(email, line)
        if first == line:
            claims["email"] = email
        else:
            errors.setdefault("email", []).append(
                f"Row {first} of this file has the same contact email. Each customer needs a different email."
            )
    numbers = forms["numbers"].numbers.data if "numbers" in forms and "numbers" not in errors else []
    twice = []
    for number in numbers or []:
        first = checks.numbers.setdefault(number, line)
        if first == line:
            claims.setdefault("numbers", []).append(number)
        else:
            twice.append((number, first))
    if twice:
        errors.setdefault("numbers", []).extend(
            f"{number} is already in row {first} of this file. Each number goes to one customer."
            for number, first in twice
        )
    return claims
