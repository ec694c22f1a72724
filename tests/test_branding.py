"""A customer's whole journey is its white-label's (issue 15, section 1): each white-label has its
own sign-in address (by path, and optionally by host name) that every email to customers links
to, and every page a customer or customer user can see shows the white-label's name, colour and
support contact; the platform's name appears nowhere a customer looks."""

from __future__ import annotations

import re

import pytest

from testkit.activation import PASSWORD, create_pending_customer, submit_activation
from testkit.client import csrf_token
from testkit.wizard import post
from webapp.models import Customer, OutboxEmail, WhiteLabel

PLATFORM = "PBX onboarding"
BRAND = "Demo Telecom"
SIGN_IN = "/s/demo-telecom/sign-in"
CONTACT = "hana@matai-joinery.example.com"


def assert_branded(response, what: str, status: int | None = None) -> str:
    html = response.get_data(as_text=True)
    if status is not None:
        assert response.status_code == status, (what, response.status_code)
    assert BRAND in html, f"{what}: no {BRAND}"
    assert PLATFORM.lower() not in html.lower(), f"{what}: shows {PLATFORM}"
    assert "support@demo.example.com" in html, f"{what}: no support contact"
    assert re.search(r'href="/brand/\d+\.css', html), f"{what}: not in the white-label's colour"
    return html


@pytest.fixture
def account(smtp, app, admin_client):
    """An activated customer-administered account: (customer id, its contact's signed-in client)."""
    customer_id, token = create_pending_customer(app, admin_client, smtp)
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    return customer_id, contact


def test_the_white_labels_own_sign_in_page_is_branded(client):
    html = assert_branded(client.get(SIGN_IN), "sign-in", 200)
    assert "Sign in to your Demo Telecom phone account." in html
    assert f'action="{SIGN_IN}"' in html
    token = csrf_token(client)
    wrong = client.post(SIGN_IN, data={"email": CONTACT, "password": "not it", "csrf_token": token})
    assert_branded(wrong, "sign-in with a wrong password", 422)
    assert client.get("/s/no-such-label/sign-in").status_code == 404


def test_a_customer_signs_in_at_their_address_and_is_signed_out_back_to_it(app, account):
    customer_id, contact = account
    contact.post("/logout", data={"csrf_token": csrf_token(contact)})
    visitor = app.test_client()
    assert_branded(visitor.get(SIGN_IN), "sign-in")
    response = visitor.post(SIGN_IN, data={"email": CONTACT, "password": PASSWORD, "csrf_token": csrf_token(visitor)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/")
    response = visitor.post("/logout", data={"csrf_token": csrf_token(visitor)})
    assert response.headers["Location"] == SIGN_IN
    html = assert_branded(visitor.get(SIGN_IN), "sign-in after signing out")
    assert "You have been signed out." in html
    # Signed out, a page of the account leads to the white-label's sign-in, and its errors stay branded.
    response = visitor.get("/account/")
    assert response.status_code == 302 and response.headers["Location"].startswith(f"{SIGN_IN}?next=")
    assert_branded(visitor.get("/login"), "the platform's sign-in address, after the branded one")
    assert_branded(visitor.get("/no-such-page"), "404 while signed out", 404)


def test_every_page_a_customer_can_see_is_branded(app, account, admin_client):
    customer_id, contact = account
    for url in [
        "/account/",
        "/profile",
        f"/account/{customer_id}/numbers",
        f"/account/{customer_id}/plan",
        f"/account/{customer_id}/pbx",
        f"/account/{customer_id}/users/new",
        f"/account/{customer_id}/top-up",
        f"/account/{customer_id}/top-up/pay?amount=2050",
    ]:
        assert_branded(contact.get(url), url, 200)
    assert_branded(contact.get("/account/999999/pbx"), "another account: 404", 404)
    refused = assert_branded(contact.get("/customers/"), "the console: refused", 403)
    assert "Ask your account administrator if you need access, or contact Demo Telecom" in refused
    assert "white-label" not in refused
    assert_branded(contact.get("/no-such-page"), "404", 404)
    assert_branded(contact.delete("/account/"), "405", 405)
    wrong = post(contact, "/profile/password", {"current_password": "wrong", "password": "", "confirm_password": ""})
    assert_branded(wrong, "password change with errors", 422)
    # Suspended: what the customer may no longer do says so, branded.
    assert post(admin_client, f"/customers/{customer_id}/status", {"reason": "Unpaid"}).status_code == 303
    assert_branded(contact.get(f"/account/{customer_id}/numbers"), "suspended: refused", 403)


def test_a_customer_user_with_a_temporary_password_sees_the_brand(app, account):
    customer_id, contact = account
    response = post(
        contact,
        f"/account/{customer_id}/users/new",
        {
            "first_name": "Tama",
            "last_name": "Rangi",
            "email": "tama@matai-joinery.example.com",
            "extension": "201",
            "role": "user",
            "setup": "password",
            "password": "temporary-harbour-kauri-51",
        },
    )
    assert response.status_code == 303
    user = app.test_client()
    assert_branded(user.get(SIGN_IN), "sign-in")
    signed_in = user.post(
        SIGN_IN,
        data={
            "email": "tama@matai-joinery.example.com",
            "password": "temporary-harbour-kauri-51",
            "csrf_token": csrf_token(user),
        },
        follow_redirects=True,
    )
    assert_branded(signed_in, "the password change they must make first", 200)


def test_every_email_to_customers_links_to_the_white_labels_sign_in(app, account, smtp):
    customer_id, contact = account
    with app.app_context():
        welcome = OutboxEmail.get((OutboxEmail.kind == "welcome") & (OutboxEmail.customer == customer_id))
    assert f"https://onboarding.example.com{SIGN_IN}" in welcome.text_body
    assert f"https://onboarding.example.com{SIGN_IN}" in welcome.html_body
    post(
        contact,
        f"/account/{customer_id}/users/new",
        {
            "first_name": "Tama",
            "last_name": "Rangi",
            "email": "tama@matai-joinery.example.com",
            "extension": "201",
            "role": "user",
            "setup": "invite",
        },
    )
    with app.app_context():
        invitation = OutboxEmail.get(OutboxEmail.kind == "invitation")
    assert f"https://onboarding.example.com{SIGN_IN}" in invitation.text_body
    for email in (welcome, invitation):
        assert PLATFORM.lower() not in (email.text_body + email.html_body + email.sender).lower()


def test_a_white_label_on_its_own_host_name(app, account):
    customer_id, contact = account
    with app.app_context():
        WhiteLabel.update(sign_in_host="voice.demo.example").where(WhiteLabel.slug == "demo-telecom").execute()
        customer = Customer.get_by_id(customer_id)
        from webapp.branding import external_sign_in_url

        with app.test_request_context():
            assert external_sign_in_url(customer.white_label) == "https://voice.demo.example/login"
    visitor = app.test_client()
    html = assert_branded(visitor.get("/login", base_url="https://voice.demo.example"), "sign-in on its host", 200)
    assert "Sign in to your Demo Telecom phone account." in html
    assert_branded(visitor.get("/nothing-here", base_url="https://voice.demo.example"), "404 on its host", 404)
    # The platform's own address stays the platform's.
    assert PLATFORM in app.test_client().get("/login").get_data(as_text=True)


def test_activation_and_invitation_pages_are_branded(app, admin_client, smtp):
    customer_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    visitor = app.test_client()
    assert_branded(visitor.get(f"/activate/{token}"), "activation", 200)
    assert submit_activation(visitor, token).status_code == 303
    assert_branded(app.test_client().get(f"/activate/{token}"), "a used activation link", 410)


def test_the_activation_email_says_where_to_sign_in_and_settings_show_the_address(app, admin_client, smtp):
    create_pending_customer(app, admin_client, smtp)
    with app.app_context():
        activation = OutboxEmail.get(OutboxEmail.kind == "activation")
    assert f"https://onboarding.example.com{SIGN_IN}" in activation.text_body
    assert f"https://onboarding.example.com{SIGN_IN}" in activation.html_body
    settings = admin_client.get("/settings/").get_data(as_text=True)
    assert f"https://onboarding.example.com{SIGN_IN}" in settings


def test_an_operator_gives_a_white_label_its_own_host_name(app, runner):
    result = runner.invoke(
        args=[
            "create-whitelabel",
            *("--name", "Acme Voice", "--slug", "acme", "--country", "NZ", "--currency", "NZD"),
            *("--support-email", "help@acme.example.com", "--sign-in-host", "Voice.Acme.example"),
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert WhiteLabel.get(WhiteLabel.slug == "acme").sign_in_host == "voice.acme.example"
    again = runner.invoke(
        args=[
            "create-whitelabel",
            *("--name", "Acme Two", "--slug", "acme-two", "--country", "NZ", "--currency", "NZD"),
            *("--support-email", "help@acme.example.com", "--sign-in-host", "voice.acme.example"),
        ]
    )
    assert again.exit_code != 0 and "already signs its customers in at voice.acme.example" in again.output


def test_an_unknown_link_never_shows_the_platforms_name(app, client):
    html = client.get("/activate/" + "x" * 43).get_data(as_text=True)
    assert PLATFORM.lower() not in html.lower() and "Account activation" in html
    client.get(SIGN_IN)  # this browser signed in under Demo Telecom before
    assert_branded(client.get("/activate/" + "x" * 43), "an unknown link, after the branded sign-in")


def test_too_many_sign_ins_at_the_white_labels_address_stay_branded(app, client):
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "1 per 15 minutes"
    token = csrf_token(client)
    wrong = {"email": CONTACT, "password": "not it", "csrf_token": token}
    assert client.post(SIGN_IN, data=wrong).status_code == 422
    html = assert_branded(client.post(SIGN_IN, data=wrong), "too many sign-ins", 429)
    assert "Too many attempts" in html
