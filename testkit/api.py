"""Calling the integration API from tests: keys, headers and valid request bodies."""

from __future__ import annotations

import copy
import uuid

from webapp.models import ApiKey, Plan, User, WhiteLabel

DEMO, OTHER = "demo-telecom", "other-voice"
OWNERS = {DEMO: "admin@demo.example.com", OTHER: "admin@other.example.com"}

CONTACT = {
    "business_name": "Matai Joinery Ltd",
    "trading_name": "Matai Joinery",
    "first_name": "Hana",
    "last_name": "Kereama",
    "email": "hana@matai-joinery.example.com",
    "phone": "021 123 4567",
}
ADDRESS = {
    "line1": "12 Totara Street",
    "city": "Wellington",
    "region": "Wellington",
    "postcode": "6011",
    "country": "NZ",
}


def make_key(app, white_label: str = DEMO, scope: str = ApiKey.READ_WRITE, name: str = "Test shop") -> str:
    """A new key of the white-label, made by its administrator; returns the secret."""
    from webapp.api.keys import create_key

    with app.app_context():
        label = WhiteLabel.get(WhiteLabel.slug == white_label)
        owner = User.get(User.email == OWNERS[white_label])
        return create_key(label, owner, name=name, scope=scope).secret


def revoke(app, secret: str) -> None:
    from webapp.api.keys import hash_key, revoke_key

    with app.app_context():
        key = ApiKey.get(ApiKey.secret_hash == hash_key(secret))
        revoke_key(key, User.get_by_id(key.created_by_id))


def auth(secret: str, idempotency_key: str | None = None, **extra) -> dict:
    headers = {"Authorization": f"Bearer {secret}", **extra}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def plan_id(app, name: str, white_label: str = DEMO) -> int:
    with app.app_context():
        label = WhiteLabel.get(WhiteLabel.slug == white_label)
        return Plan.get((Plan.name == name) & (Plan.white_label == label.id)).id


def customer_body(app, plan: str = "Starter", **contact) -> dict:
    """A valid "the new customer" request for Demo Telecom."""
    return {
        "option": "customer",
        "contact": {**CONTACT, **contact},
        "address": dict(ADDRESS),
        "plan": {"plan_id": plan_id(app, plan)},
    }


def white_label_body(app, plan: str = "Business", numbers=(), pbx: dict | None = None, **contact) -> dict:
    """A valid "me, the white-label administrator" request for Demo Telecom."""
    body = customer_body(app, plan, **contact)
    body["option"] = "white_label"
    body["contact"]["authorized"] = True
    body["numbers"] = list(numbers)
    body["pbx"] = pbx or {"time_zone": "Pacific/Auckland", "extension_length": 3}
    return copy.deepcopy(body)
