"""'Check your answers': the draft's answers as label/value rows grouped by step."""
from __future__ import annotations

import pycountry
from flask import url_for

from ..models import CustomerDraft, Plan, WhiteLabel
from ..templating import format_money
from . import drafts
from .forms import display_phone
from .steps import OPTION_LABELS, REVIEW, flow


def _country(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code or "")
    return country.name if country else (code or "")


def _lines(*parts) -> str:
    return "\n".join(p for p in parts if p)


def _yes_no(value) -> str:
    return "Yes" if value else "No"


def review_groups(draft: CustomerDraft, white_label: WhiteLabel) -> list[dict]:
    """One group per answered step: its name, rows of (question, answer), and its Change link."""
    groups = []
    for step in flow(draft.administered_by):
        if step is REVIEW:
            continue
        v = drafts.step_values(draft, step.slug)
        if step.slug == "who":
            rows = [("Who will administer this account?", OPTION_LABELS.get(draft.administered_by, ""))]
        elif step.slug == "contact":
            rows = [
                ("Business name", v.get("business_name")),
                ("Trading name", v.get("trading_name") or "—"),
                ("Business number", v.get("business_number") or "—"),
                ("Contact", f"{v.get('first_name', '')} {v.get('last_name', '')}".strip()),
                ("Email", v.get("email")),
                ("Phone", display_phone(v.get("phone") or "")),
            ]
            if "authorized" in v:
                rows.append(("Authorized to act for the business", _yes_no(v.get("authorized"))))
        elif step.slug == "address":
            address = _lines(v.get("address_line1"), v.get("address_line2"), v.get("city"), v.get("region"),
                             v.get("postcode"), _country(v.get("country")))
            if v.get("service_same"):
                service = "Same as the address above"
            else:
                service = _lines(v.get("service_line1"), v.get("service_line2"), v.get("service_city"),
                                 v.get("service_region"), v.get("service_postcode"), _country(v.get("service_country")))
            rows = [("Address", address), ("Service address", service)]
        elif step.slug == "plan":
            plan = Plan.get_or_none((Plan.id == v.get("plan")) & (Plan.white_label == white_label.id))
            if plan is None:
                rows = [("Plan", "—")]
            else:
                price = format_money(plan.monthly_price, white_label.currency)
                rows = [("Plan", f"{plan.name}, {price} a month")]
                if draft.administered_by == "white_label":
                    rows.append(("Payment", f"First month ({price}) charged to your white-label account"))
                else:
                    minimum = format_money(plan.min_opening_balance, white_label.currency)
                    rows.append(("Payment", f"The customer pays an opening balance of at least {minimum} by card when they activate"))
        elif step.slug == "numbers":
            numbers = v.get("numbers") or []
            rows = [("Phone numbers", "\n".join(display_phone(n) for n in numbers) or "None")]
        elif step.slug == "pbx":
            rows = [
                ("Time zone", (v.get("time_zone") or "").replace("_", " ")),
                ("Extension length", f"{v.get('extension_length')} digits"),
                ("Default caller ID", display_phone(v.get("default_caller_id")) if v.get("default_caller_id") else "None"),
                ("Voicemail to email", _yes_no(v.get("voicemail_to_email"))),
                ("Call recording", _yes_no(v.get("call_recording"))),
            ]
        else:  # a step added to FLOWS without a review entry still shows up
            rows = [(name, str(value)) for name, value in v.items()]
        groups.append({
            "step": step,
            "rows": rows,
            "change_url": url_for("onboarding.step", key=draft.key, slug=step.slug, **{"return": "review"}),
        })
    return groups
