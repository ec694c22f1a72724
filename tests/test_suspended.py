"""Suspended customers (issue 12 item 7): the account's people can sign in, see the balance and
top up, but cannot change users, numbers or PBX settings; /account says why and whom to contact.

The refusals are generated from app.url_map: every /account route with a customer id, every
method, except those whose permission a suspended account keeps (OPEN_WHILE_SUSPENDED in
accounts/permissions.py).
"""

from __future__ import annotations

import re

import pytest

from conftest import csrf_token
from testkit.activation import create_pending_customer, submit_activation
from testkit.top_up import top_up
from testkit.url_map_walk import call, snapshot
from testkit.wizard import post
from webapp.accounts.permissions import OPEN_WHILE_SUSPENDED
from webapp.models import Customer, CustomerMembership, User

INVITEE = {
    "first_name": "Tama",
    "last_name": "Rangi",
    "email": "tama@kowhai-bakery.example.com",
    "extension": "201",
    "role": "user",
    "setup": "invite",
}
REASON = "Three invoices unpaid since August"


@pytest.fixture
def suspended(smtp, app, admin_client):
    """An option-1 customer, activated by its contact, with one invited user, then suspended by
    Demo Telecom's administrator: (customer id, the contact's signed-in client, the invitee's membership id)."""
    customer_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    response = contact.post(f"/account/{customer_id}/users/new", data={**INVITEE, "csrf_token": csrf_token(contact)})
    assert response.status_code == 303
    assert post(admin_client, f"/customers/{customer_id}/status", {"reason": REASON}).status_code == 303
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.SUSPENDED
        invitee = CustomerMembership.select().join(User).where(User.email == INVITEE["email"]).get()
    return customer_id, contact, invitee.id


def test_every_route_of_an_account_declares_its_permission(app):
    """A route about one account (either side) reaches it only through accounts/views.py's
    decorators, which check a declared permission: one without would be open while suspended."""
    rules = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.split(".")[0] in ("accounts", "manage") and "customer_id" in r.arguments
    ]
    assert rules
    assert [r.endpoint for r in rules if not hasattr(app.view_functions[r.endpoint], "account_action")] == []


def _account_routes(app):
    """Every /account rule that acts on one customer account."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("accounts.") and "customer_id" in rule.arguments
    ]


def test_every_change_to_a_suspended_account_is_refused_by_the_server(app, suspended, record_figure):
    customer_id, contact, membership_id = suspended
    token = csrf_token(contact)
    data = {
        **INVITEE,
        "email": "late@kowhai-bakery.example.com",
        "time_zone": "UTC",
        "extension_length": "4",
        "default_caller_id": "",
    }
    before = snapshot(app)
    problems, refused = [], 0
    for rule in _account_routes(app):
        if app.view_functions[rule.endpoint].account_action in OPEN_WHILE_SUSPENDED:
            continue
        url = rule.build(
            {"customer_id": customer_id, "membership_id": membership_id, "number_id": 1}, append_unknown=False
        )[1]
        for method in sorted(rule.methods - {"OPTIONS"}):
            for htmx in (False, True):
                response = call(contact, method, url, data, token=token, htmx=htmx)
                refused += 1
                html = response.get_data(as_text=True)
                if response.status_code != 403:
                    problems.append(f"{method} {url} ({rule.endpoint}): {response.status_code}")
                elif method != "HEAD" and "This account is suspended" not in html:
                    problems.append(f"{method} {url} ({rule.endpoint}): 403 without saying why")
    assert not problems, "\n".join(problems)
    assert snapshot(app) == before
    assert refused >= 16
    record_figure(
        "suspended accounts",
        f"{refused} requests to change users, numbers, plan or PBX settings of a suspended account "
        "(every /account route but top-up, page and htmx): all 403, database unchanged; balance and top-up still work",
    )


def test_a_suspended_account_still_signs_in_sees_its_balance_and_tops_up(app, suspended):
    customer_id, contact, _ = suspended
    assert contact.get(f"/account/{customer_id}/top-up").status_code == 200
    assert top_up(contact, customer_id, "25.00").status_code == 303
    home = contact.get("/account/").get_data(as_text=True)
    assert "NZ$100.00" in home  # 75.00 opening + 25.00
    assert f'href="/account/{customer_id}/top-up"' in home


def test_the_account_page_says_why_and_whom_to_contact_and_offers_no_changes(app, suspended):
    customer_id, contact, _ = suspended
    html = contact.get("/account/").get_data(as_text=True)
    banner = re.search(r'<div class="notice notice--warning"[^>]*>(.*?)</div>', html, re.S)
    assert banner, html
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", banner.group(1)))
    assert "This account is suspended" in text
    assert REASON in text
    assert "Demo Telecom" in text and "support@demo.example.com" in text and "09 555 0199" in text
    for control in [
        f"/account/{customer_id}/pbx",
        f"/account/{customer_id}/users/new",
        "/deactivate",
        "/resend",
        "Edit PBX settings",
        "Add a user",
    ]:
        assert control not in html, control


def test_reactivating_brings_the_controls_back(app, admin_client, suspended):
    customer_id, contact, _ = suspended
    assert post(admin_client, f"/customers/{customer_id}/status", {"reason": "Paid in full"}).status_code == 303
    html = contact.get("/account/").get_data(as_text=True)
    assert "This account is suspended" not in html
    assert f"/account/{customer_id}/pbx" in html and f"/account/{customer_id}/users/new" in html
    assert contact.get(f"/account/{customer_id}/pbx").status_code == 200


def test_without_a_recorded_reason_the_banner_still_says_whom_to_contact(smtp, app, admin_client):
    customer_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    with app.app_context():
        Customer.update(status=Customer.SUSPENDED).where(Customer.id == customer_id).execute()
    html = contact.get("/account/").get_data(as_text=True)
    assert "This account is suspended" in html and "support@demo.example.com" in html
    assert "Reason" not in html
