"""The profile page (issue 15, item 4): every signed-in person changes their own name and the
email they sign in with (given their current password), and finds the page from the header."""

from __future__ import annotations

import re

import pytest

from conftest import ADMIN, STAFF, csrf_token, sign_in
from testkit.activation import PASSWORD
from webapp.extensions import db
from webapp.models import OutboxEmail, PasswordResetToken, User


def signed_in(app, credentials=ADMIN):
    client = app.test_client()
    assert sign_in(client, *credentials).status_code == 303
    return client


def change_email(client, new_email, password):
    return client.post(
        "/profile/email",
        data={"csrf_token": csrf_token(client), "new_email": new_email, "email_current_password": password},
    )


def rename(client, first, last):
    return client.post("/profile/name", data={"csrf_token": csrf_token(client), "first_name": first, "last_name": last})


@pytest.mark.parametrize("who", [ADMIN, STAFF])
def test_white_label_people_change_their_name(app, who):
    client = signed_in(app, who)
    assert rename(client, "Aroha", "Ngata").status_code == 303
    html = client.get("/profile").get_data(as_text=True)
    assert "Aroha Ngata" in html and "Your name has been saved." in html
    with app.app_context():
        assert User.get(User.email == who[0]).full_name == "Aroha Ngata"


def test_a_name_is_required_and_what_was_typed_comes_back(app):
    client = signed_in(app)
    response = rename(client, "", "Ngata")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: " in html and "Enter your first name." in html and 'value="Ngata"' in html


def test_changing_the_email_needs_the_current_password(app):
    client = signed_in(app)
    wrong = change_email(client, "dana@new.example.com", "not-my-password-at-all")
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "Your current password is not right" in html
    assert 'value="dana@new.example.com"' in html and "not-my-password-at-all" not in html
    assert change_email(client, "dana@new.example.com", "").status_code == 422
    with app.app_context():
        assert User.get_or_none(User.email == ADMIN[0]) is not None


def test_a_new_email_signs_in_ends_other_sessions_and_tells_the_old_address(app, smtp):
    elsewhere = signed_in(app)
    client = signed_in(app)
    done = change_email(client, "  Dana@New.Example.com ", ADMIN[1])
    assert done.status_code == 303
    assert "You now sign in with dana@new.example.com" in client.get("/profile").get_data(as_text=True)
    assert client.get("/customers/").status_code == 200  # this session stays
    assert elsewhere.get("/customers/").status_code == 302  # the others end
    assert sign_in(app.test_client(), *ADMIN).status_code == 422
    assert sign_in(app.test_client(), "dana@new.example.com", ADMIN[1]).status_code == 303
    with app.app_context():
        notice = OutboxEmail.get(OutboxEmail.kind == "email_changed")
        assert notice.recipient == ADMIN[0]
        assert "dana@new.example.com" in notice.text_body and "Demo Telecom" in notice.text_body


def test_an_email_another_account_uses_is_refused(app):
    client = signed_in(app)
    response = change_email(client, STAFF[0].upper(), ADMIN[1])
    assert response.status_code == 422
    assert "Another account already uses that email address" in response.get_data(as_text=True)
    with app.app_context():
        assert User.get(User.email == ADMIN[0])


def test_a_reset_link_sent_to_the_old_address_stops_working(app, smtp):
    from testkit.mail import emailed_link, path_of

    visitor = app.test_client()
    visitor.post("/password/forgot", data={"csrf_token": csrf_token(visitor), "email": ADMIN[0]})
    path = path_of(emailed_link(app, smtp, ADMIN[0], "/password/reset/"))
    assert change_email(signed_in(app), "dana@new.example.com", ADMIN[1]).status_code == 303
    assert app.test_client().get(path).status_code == 410
    with app.app_context(), db.connection_context():
        assert PasswordResetToken.get().revoked_at is not None


def test_the_profile_forms_need_the_csrf_token(app):
    client = signed_in(app)
    assert client.post("/profile/name", data={"first_name": "X"}).status_code == 400
    assert client.post("/profile/email", data={"new_email": "x@example.com"}).status_code == 400


def test_a_customer_edits_their_profile_from_the_header(smtp, app, admin_client):
    from testkit.activation import create_pending_customer, submit_activation

    _, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    home = contact.get("/account/", follow_redirects=True).get_data(as_text=True)
    assert re.search(r'<a href="/profile"[^>]*>Profile</a>', home)
    assert rename(contact, "Mere", "Kowhai").status_code == 303
    assert change_email(contact, "mere@kowhai-bakery.example.com", PASSWORD).status_code == 303
    html = contact.get("/profile").get_data(as_text=True)
    assert "Mere Kowhai" in html and "mere@kowhai-bakery.example.com" in html
