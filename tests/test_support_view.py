"""View as the customer (support): a white-label administrator sees a customer-administered
account's /account as its Account Administrator sees it, read-only, audited (issue 17)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from testkit.activation import create_pending_customer, submit_activation
from testkit.client import ADMIN, csrf_token, sign_in
from testkit.url_map_walk import snapshot
from testkit.wizard import complete_white_label_option, post
from webapp.models import AuditEvent, Customer, CustomerMembership, PbxSettings, SupportView, User, utcnow

# A write of the administrator's own console, to show it works again once the view has ended.
A_TEMPLATE = {
    "administered_by": "customer",
    "number_count": "0",
    "time_zone": "Pacific/Auckland",
    "extension_length": "3",
}
REASON = "Ticket 4312: the customer cannot find where to change voicemail"


@pytest.fixture
def activated(app, admin_client, smtp):
    """A customer-administered account, activated by its contact: (customer id, contact's client)."""
    customer_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    return customer_id, contact


def start_viewing(client, customer_id: int, reason: str = REASON):
    return post(client, f"/customers/{customer_id}/view-as", {"reason": reason})


def test_an_administrator_views_the_account_as_its_administrator_sees_it(app, admin_client, activated):
    customer_id, _ = activated
    page = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert f"/customers/{customer_id}/view-as" in page
    form = admin_client.get(f"/customers/{customer_id}/view-as").get_data(as_text=True)
    assert "Hana Kereama" in form and "15 minutes" in form

    response = start_viewing(admin_client, customer_id)
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/")
    home = admin_client.get("/account/").get_data(as_text=True)
    assert "Kowhai Bakery" in home
    assert "Read-only view" in home and "Nothing can be changed" in home and "Hana Kereama" in home
    assert "Account administrator" in home and "NZ$75.00" in home  # what the customer's administrator sees
    assert f"/account/{customer_id}/pbx" in home  # their buttons too: the server refuses what they post
    # The banner shows on every page while the view lasts.
    assert "Stop viewing" in admin_client.get("/customers/").get_data(as_text=True)

    with app.app_context():
        event = AuditEvent.get(AuditEvent.action == "viewed_as_customer")
        assert event.customer_id == customer_id and event.actor.email == ADMIN[0]
        assert event.details["reason"] == REASON and event.details["as_user"] == "owner@kowhai-bakery.example.com"
        view = SupportView.get()
        assert view.expires_at - view.started_at == dt.timedelta(minutes=15)
    history = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Viewed as customer" in history and "Dana Admin" in history and REASON in history


def test_the_administrator_stays_signed_in_as_themselves(app, admin_client, activated):
    customer_id, contact = activated
    with app.app_context():
        admin_id = User.get(User.email == ADMIN[0]).id
    with admin_client.session_transaction() as before:
        user_before = before["_user_id"]
    start_viewing(admin_client, customer_id)
    with admin_client.session_transaction() as during:
        assert during["_user_id"] == user_before and during["_user_id"].startswith(f"{admin_id}:")
    assert ADMIN[0] in admin_client.get("/profile").get_data(as_text=True)
    # The customer's own session is untouched, and still theirs to change things with.
    token = csrf_token(contact)
    changed = contact.post(
        f"/account/{customer_id}/pbx",
        data={"time_zone": "Pacific/Auckland", "extension_length": "4", "default_caller_id": "", "csrf_token": token},
    )
    assert changed.status_code == 303


def _filled(rule, values: dict) -> str:
    built = rule.build({name: values.get(name, 1) for name in rule.arguments}, append_unknown=False)
    return built[1]


def test_every_post_route_is_refused_while_viewing(app, admin_client, activated):
    customer_id, _ = activated
    start_viewing(admin_client, customer_id)
    with app.app_context():
        membership = CustomerMembership.get(CustomerMembership.customer == customer_id)
    values = {
        "customer_id": customer_id,
        "membership_id": membership.id,
        "token": "x" * 43,
        "key": "draft",
        "slug": "contact",
        "field": "email",
        "filename": "app.css",
    }
    token = csrf_token(admin_client)
    before = snapshot(app)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("support.stop", "auth.logout"):
            continue
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            url = _filled(rule, values)
            for htmx in (False, True):
                headers = {"X-CSRFToken": token, **({"HX-Request": "true"} if htmx else {})}
                response = admin_client.open(url, method=method, data={"csrf_token": token}, headers=headers)
                # The integration API never takes a session (bearer keys only): 401 before anything.
                expected = 401 if rule.endpoint.startswith("api.") else 403
                assert response.status_code == expected, (rule.endpoint, url, htmx, response.status_code)
                checked += 1
    assert checked > 40
    assert snapshot(app) == before


def _posts_on(url: str, html: str) -> set[str]:
    """Where the page's forms and htmx elements post (a form without an action posts to its page)."""
    posts = set(re.findall(r'hx-post="([^"]+)"', html))
    for form in re.findall(r"<form[^>]*>", html):
        if 'method="post"' in form:
            action = re.search(r'action="([^"]*)"', form)
            posts.add(action.group(1) if action and action.group(1) else url)
    return posts


def test_every_form_reachable_from_the_account_is_refused_while_viewing(app, admin_client, activated):
    customer_id, contact = activated
    # Something for each of the account's forms to act on: an invited user (resend, deactivate).
    token = csrf_token(contact)
    invited = contact.post(
        f"/account/{customer_id}/users/new",
        data={
            "first_name": "Rua",
            "last_name": "Walker",
            "email": "rua@kowhai-bakery.example.com",
            "extension": "201",
            "role": "user",
            "setup": "invite",
            "csrf_token": token,
        },
    )
    assert invited.status_code == 303
    start_viewing(admin_client, customer_id)
    home = admin_client.get("/account/").get_data(as_text=True)
    pages = {"/account/"} | {link for link in re.findall(r'href="(/account/[^"#]+)"', home)}
    posts = set()
    for url in pages:
        page = admin_client.get(url)
        assert page.status_code == 200, url
        posts |= _posts_on(url, page.get_data(as_text=True))
    posts.discard("/view-as/stop")
    posts.discard("/logout")
    assert {
        f"/account/{customer_id}/pbx",
        f"/account/{customer_id}/users/new",
        f"/account/{customer_id}/top-up",
    } <= posts
    assert any("/resend" in url for url in posts) and any("/deactivate" in url for url in posts)
    token = csrf_token(admin_client)
    before = snapshot(app)
    pbx = {"time_zone": "Pacific/Auckland", "extension_length": "5", "default_caller_id": ""}
    for url in sorted(posts):
        response = admin_client.post(url.replace("&amp;", "&"), data={"csrf_token": token, "amount": "20.00", **pbx})
        assert response.status_code == 403, (url, response.status_code)
        assert "Nothing can be changed while you view as the customer" in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_stop_viewing_ends_the_view_and_a_replayed_cookie_does_not_bring_it_back(app, admin_client, activated):
    customer_id, _ = activated
    start_viewing(admin_client, customer_id)
    old_cookie = admin_client.get_cookie("session").value
    stopped = post(admin_client, "/view-as/stop")
    assert stopped.status_code == 303 and stopped.headers["Location"].endswith(f"/customers/{customer_id}")
    assert "Read-only view" not in admin_client.get("/customers/").get_data(as_text=True)
    with app.app_context():
        assert SupportView.get().ended_how == "stopped"
        assert AuditEvent.get(AuditEvent.action == "stopped_viewing_as_customer").details == {"how": "stopped"}
    # The session from before Stop viewing, sent again: the view has ended on the server.
    admin_client.set_cookie("session", old_cookie)
    assert "Kowhai Bakery" not in admin_client.get("/account/").get_data(as_text=True)
    assert post(admin_client, "/settings/templates/new", {**A_TEMPLATE, "name": "After"}).status_code == 303


def test_the_view_ends_after_fifteen_minutes(app, admin_client, activated):
    customer_id, _ = activated
    start_viewing(admin_client, customer_id)
    token = csrf_token(admin_client)
    with app.app_context():
        SupportView.update(expires_at=utcnow() - dt.timedelta(seconds=1)).execute()
    # A write arriving as the view runs out is still refused (it came from the customer's pages).
    refused = admin_client.post(f"/account/{customer_id}/pbx", data={"csrf_token": token, "extension_length": "5"})
    assert refused.status_code == 403
    with app.app_context():
        assert SupportView.get().ended_how == "expired"
        assert PbxSettings.get_or_none(PbxSettings.customer == customer_id) is None
    assert admin_client.get(f"/account/{customer_id}/pbx").status_code == 404
    page = admin_client.get("/customers/").get_data(as_text=True)
    assert "Read-only view" not in page
    assert post(admin_client, "/settings/templates/new", {**A_TEMPLATE, "name": "Later"}).status_code == 303


def test_signing_out_ends_the_view(app, admin_client, activated):
    customer_id, _ = activated
    start_viewing(admin_client, customer_id)
    assert post(admin_client, "/logout").status_code in (302, 303)
    with app.app_context():
        assert SupportView.get().ended_how == "signed out"
    sign_in(admin_client, *ADMIN)
    assert "Read-only view" not in admin_client.get("/customers/").get_data(as_text=True)


def test_a_reason_is_required(app, admin_client, activated):
    customer_id, _ = activated
    response = start_viewing(admin_client, customer_id, reason="   ")
    assert response.status_code == 422
    assert "Enter why you are viewing this account" in response.get_data(as_text=True)
    with app.app_context():
        assert not SupportView.select().exists()
        assert not AuditEvent.select().where(AuditEvent.action == "viewed_as_customer").exists()


def test_who_may_view_as_the_customer(app, admin_client, staff_client, other_admin_client, activated):
    customer_id, _ = activated
    assert staff_client.get(f"/customers/{customer_id}/view-as").status_code == 403
    assert start_viewing(staff_client, customer_id).status_code == 403
    assert "/view-as" not in staff_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert start_viewing(other_admin_client, customer_id).status_code == 404
    # Without a CSRF token: refused, and nothing starts.
    no_token = admin_client.post(f"/customers/{customer_id}/view-as", data={"reason": REASON})
    assert no_token.status_code == 400
    # An account the white-label runs is theirs already; one nobody has activated has no view yet.
    managed = complete_white_label_option(admin_client, app, numbers=[], email="managed@matai.example.com")
    assert post(admin_client, f"{managed}/review").status_code == 303
    with app.app_context():
        managed_id = Customer.get(Customer.contact_email == "managed@matai.example.com").id
        pending_id = Customer.get(Customer.status == Customer.PENDING).id
    assert start_viewing(admin_client, managed_id).status_code == 403
    assert start_viewing(admin_client, pending_id).status_code == 409
    with app.app_context():
        assert not SupportView.select().exists()
