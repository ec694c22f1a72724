"""Sessions end when they should (issue 12, item 5), and the profile page.

Sign-out, a password change and deactivation end every session of that person, not only the
cookie in hand; signing in starts a fresh session (nothing carried over, a new CSRF token);
changing a password takes the current one; everyone signed in has a profile page with
"Sign out everywhere else".
"""

from __future__ import annotations

import re

import pytest

from conftest import ADMIN, STAFF, csrf_token, sign_in
from testkit.activation import PASSWORD
from webapp.models import User

NEW_PASSWORD = "lantern-kereru-pohutukawa-19"


def signed_in(app, credentials=ADMIN):
    client = app.test_client()
    assert sign_in(client, *credentials).status_code == 303
    return client


def copy_of(app, client):
    """Another browser holding a copy of `client`'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def is_signed_in(client) -> bool:
    """Whether `client` is signed in (as a white-label person: their customers list opens)."""
    response = client.get("/customers/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def change_password(client, current, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/profile/password",
        data={
            "csrf_token": csrf_token(client),
            "current_password": current,
            "password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def password_hash(app, email):
    with app.app_context():
        return User.get(User.email == email).password_hash


# --- Sign-out, password change, "sign out everywhere else" ------------------------------------------


def test_sign_out_ends_a_copied_session_cookie(app):
    client = signed_in(app)
    thief = copy_of(app, client)
    assert is_signed_in(thief)
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 303
    assert not is_signed_in(client)
    assert not is_signed_in(thief)
    assert thief.get("/customers/").status_code == 302


def test_sign_out_ends_every_session_of_that_person_only(app):
    laptop, phone = signed_in(app), signed_in(app)
    colleague = signed_in(app, STAFF)
    laptop.post("/logout", data={"csrf_token": csrf_token(laptop)})
    assert not is_signed_in(phone)
    assert is_signed_in(colleague)
    assert is_signed_in(signed_in(app))  # signing in again works


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app):
    laptop, phone = signed_in(app), signed_in(app)
    thief = copy_of(app, phone)
    response = change_password(laptop, ADMIN[1])
    assert response.status_code == 303
    assert is_signed_in(laptop)
    assert laptop.get("/customers/").status_code == 200
    assert not is_signed_in(phone) and not is_signed_in(thief)
    assert sign_in(app.test_client(), *ADMIN).status_code == 422
    assert sign_in(app.test_client(), ADMIN[0], NEW_PASSWORD).status_code == 303


def test_sign_out_everywhere_else_keeps_only_this_session(app):
    laptop, phone = signed_in(app), signed_in(app)
    thief = copy_of(app, phone)
    page = laptop.get("/profile").get_data(as_text=True)
    assert "Sign out everywhere else" in page
    response = laptop.post("/profile/sign-out-others", data={"csrf_token": csrf_token(laptop)})
    assert response.status_code == 303 and response.headers["Location"] == "/profile"
    assert "signed out everywhere else" in laptop.get("/profile").get_data(as_text=True)
    assert is_signed_in(laptop)
    assert not is_signed_in(phone) and not is_signed_in(thief)


def test_sign_out_everywhere_else_needs_the_csrf_token(app):
    laptop, phone = signed_in(app), signed_in(app)
    assert laptop.post("/profile/sign-out-others").status_code == 400
    assert is_signed_in(phone)


def test_a_session_from_before_sessions_carried_a_version_is_signed_out(app):
    """A cookie naming only the user id (as before) no longer signs anyone in."""
    client = app.test_client()
    with app.app_context():
        admin_id = User.get(User.email == ADMIN[0]).id
    with client.session_transaction() as session:
        session["_user_id"] = str(admin_id)
        session["_fresh"] = True
    assert not is_signed_in(client)


# --- Signing in starts a fresh session ---------------------------------------------------------------


def test_sign_in_starts_a_fresh_session(app):
    client = app.test_client()
    before = csrf_token(client)  # a token from the sign-in page, which someone else may know
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    assert (
        client.post("/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": before}).status_code == 303
    )
    with client.session_transaction() as session:
        assert "planted" not in session
    # The token from before sign-in no longer works; the page's new one does.
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert is_signed_in(client)
    after = csrf_token(client)
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 303


def test_sign_in_still_follows_a_safe_next(client):
    page = client.get("/login?next=/customers/%3Fq%3Dkauri").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login?next=/customers/%3Fq%3Dkauri", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token}
    )
    assert response.headers["Location"] == "/customers/?q=kauri"


# --- Changing a password asks for the current one -----------------------------------------------------


@pytest.mark.parametrize(
    "current,message",
    [
        ("", "Enter your current password."),
        ("not-the-password-at-all", "Your current password is not right."),
    ],
)
def test_changing_a_password_needs_the_current_one(app, current, message):
    client, other = signed_in(app), signed_in(app)
    before = password_hash(app, ADMIN[0])
    response = change_password(client, current)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert NEW_PASSWORD not in html and ADMIN[1] not in html  # passwords are never sent back
    assert password_hash(app, ADMIN[0]) == before
    assert is_signed_in(other)


@pytest.mark.parametrize(
    "new,confirm,message",
    [
        ("short", None, "Use at least 15 characters"),
        ("password1234567890", None, "harder to guess"),
        (NEW_PASSWORD, "something-else-entirely-here", "The passwords do not match."),
    ],
)
def test_the_new_password_follows_the_rules(app, new, confirm, message):
    client = signed_in(app)
    before = password_hash(app, ADMIN[0])
    response = change_password(client, ADMIN[1], new, confirm)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert password_hash(app, ADMIN[0]) == before


def test_the_forced_change_after_a_temporary_password_asks_for_it(app, admin_client):
    from webapp.auth.service import hash_password

    temporary = "temporary-harbour-kauri-51"
    with app.app_context():
        User.update(password_hash=hash_password(temporary), must_change_password=True).where(
            User.email == STAFF[0]
        ).execute()
    person = signed_in(app, (STAFF[0], temporary))
    response = person.get("/customers/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile")
    page = person.get("/profile").get_data(as_text=True)
    assert "Choose your own password" in page and "Your current password" in page
    refused = change_password(person, "", PASSWORD)
    assert refused.status_code == 422
    with app.app_context():
        assert User.get(User.email == STAFF[0]).must_change_password
    done = change_password(person, temporary, PASSWORD)
    assert done.status_code == 303 and done.headers["Location"] == "/customers/"
    assert person.get("/customers/").status_code == 200


def test_wrong_current_passwords_are_limited(app):
    client = signed_in(app)
    for _ in range(10):
        assert change_password(client, "not-the-password-at-all").status_code == 422
    assert change_password(client, ADMIN[1]).status_code == 429


# --- The profile page -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who,name", [(ADMIN, "Dana Admin"), (STAFF, "Sam Staff")])
def test_everyone_signed_in_has_a_profile_page(app, who, name):
    client = signed_in(app, who)
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert re.search(r'<a href="/profile"[^>]*>Profile</a>', home)
    page = client.get("/profile")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert name in html and who[0] in html
    for label in ("Your current password", "New password", "Confirm new password", "Sign out everywhere else"):
        assert label in html
    assert html.count('name="csrf_token"') >= 2


def test_a_customer_has_a_profile_page_in_their_brand(smtp, app, admin_client):
    from testkit.activation import create_pending_customer, submit_activation

    _, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    html = contact.get("/profile").get_data(as_text=True)
    assert "owner@kowhai-bakery.example.com" in html and "Demo Telecom" in html
    assert change_password(contact, PASSWORD).status_code == 303


def test_the_profile_needs_signing_in(client):
    response = client.get("/profile")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/profile/sign-out-others", data={"csrf_token": csrf_token(client)}).status_code == 302
