"""Driving the create-customer wizard through the Flask test client."""

from __future__ import annotations

import re

from testkit.client import csrf_token

CONTACT = {
    "business_name": "Matai Joinery Ltd",
    "trading_name": "Matai Joinery",
    "business_number": "",
    "first_name": "Hana",
    "last_name": "Kereama",
    "email": "hana@matai-joinery.example.com",
    "phone": "021 123 4567",
}
ADDRESS = {
    "address_line1": "12 Totara Street",
    "address_line2": "",
    "city": "Wellington",
    "region": "Wellington",
    "postcode": "6011",
    "country": "NZ",
    "service_same": "y",
    "service_country": "NZ",
}
PBX = {"time_zone": "Pacific/Auckland", "extension_length": "3", "default_caller_id": "", "voicemail_to_email": "y"}


def post(client, url: str, data: dict | None = None, htmx: bool = False, headers: dict | None = None, **kwargs):
    data = {"csrf_token": csrf_token(client), **(data or {})}
    headers = {**({"HX-Request": "true"} if htmx else {}), **(headers or {})}
    return client.post(url, data=data, headers=headers, **kwargs)


def start(client, option: str, htmx: bool = False):
    """Answer the first step; returns (response, draft URL prefix)."""
    response = post(client, "/customers/new/", {"administered_by": option}, htmx=htmx)
    location = response.headers.get("HX-Push-Url") or response.headers.get("Location", "")
    match = re.search(r"/customers/new/([^/]+)/", location)
    return response, (f"/customers/new/{match.group(1)}" if match else None)


def plan_id(app, name: str) -> str:
    from webapp.models import Plan

    with app.app_context():
        return str(Plan.get(Plan.name == name).id)


def complete_customer_option(client, app, plan: str = "Starter", **contact):
    _, base = start(client, "customer")
    assert post(client, f"{base}/contact", {**CONTACT, **contact}).status_code == 303
    assert post(client, f"{base}/address", ADDRESS).status_code == 303
    assert post(client, f"{base}/plan", {"plan": plan_id(app, plan)}).status_code == 303
    return base


def complete_white_label_option(client, app, plan: str = "Business", numbers=(), **contact):
    _, base = start(client, "white_label")
    assert post(client, f"{base}/contact", {**CONTACT, "authorized": "y", **contact}).status_code == 303
    assert post(client, f"{base}/address", ADDRESS).status_code == 303
    assert post(client, f"{base}/plan", {"plan": plan_id(app, plan)}).status_code == 303
    response = post(client, f"{base}/numbers", {"numbers": list(numbers)})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert post(client, f"{base}/pbx", PBX).status_code == 303
    return base
