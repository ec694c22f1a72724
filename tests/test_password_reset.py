"""'Forgot your password?' (issue 15, item 4): an emailed single-use link, valid for an hour, with
the same rules as activation links; the same answer whether or not the email has an account;
rate limited; using it sets the password, ends every session, and works once."""

from __future__ import annotations

import datetime as dt
import re

from conftest import ADMIN, STAFF, csrf_token, sign_in
from testkit.mail import emailed_link, path_of, token_of
from webapp.extensions import db
from webapp.models import OutboxEmail, PasswordResetToken, User
from webapp.tokens import hash_token

NEW_PASSWORD = "harakeke-tuatara-lighthouse-42"


def ask(client, email):
    return client.post("/password/forgot", data={"csrf_token": csrf_token(client), "email": email})


def choose(client, path, password=NEW_PASSWORD, confirm=None):
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    return client.post(
        path,
        data={
            "csrf_token": token.group(1) if token else csrf_token(client),
            "password": password,
            "confirm_password": password if confirm is None else confirm,
        },
    )


def test_the_sign_in_page_offers_forgot_your_password(client):
    html = client.get("/login").get_data(as_text=True)
    assert re.search(r'<a href="/password/forgot">Forgot your password\?</a>', html)
    assert client.get("/password/forgot").status_code == 200


def test_a_known_and_an_unknown_email_get_the_same_answer(app, client):
    known = ask(client, ADMIN[0])
    unknown = ask(app.test_client(), "nobody@nowhere.example.com")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/password/forgot/sent"
    sent = client.get("/password/forgot/sent").get_data(as_text=True)
    assert "If an account uses the address you entered" in sent and "1 hour" in sent
    with app.app_context():
        assert OutboxEmail.select().where(OutboxEmail.kind == "password_reset").count() == 1
        assert OutboxEmail.get(OutboxEmail.kind == "password_reset").recipient == ADMIN[0]


def test_the_link_is_emailed_encrypted_and_only_its_hash_is_stored(app, client, smtp):
    ask(client, ADMIN[0].upper())
    with app.app_context():
        row = OutboxEmail.get(OutboxEmail.kind == "password_reset")
        assert row.secret_link and "/password/reset/" not in row.text_body + row.html_body
    link = emailed_link(app, smtp, ADMIN[0], "/password/reset/")
    assert link.startswith("https://onboarding.example.com/password/reset/")
    message = smtp.messages[-1]
    assert "Demo Telecom" in message["From"] and "1 hour" in smtp.text(message)
    with app.app_context():
        token = PasswordResetToken.get()
        assert token.token_hash == hash_token(token_of(link))
        assert dt.timedelta(minutes=59) < token.expires_at - token.created_at <= dt.timedelta(hours=1)


def test_the_link_sets_a_new_password_ends_every_session_and_works_once(app, smtp):
    elsewhere = app.test_client()
    assert sign_in(elsewhere, *ADMIN).status_code == 303
    ask(app.test_client(), ADMIN[0])
    path = path_of(emailed_link(app, smtp, ADMIN[0], "/password/reset/"))
    visitor = app.test_client()
    page = visitor.get(path)
    assert page.status_code == 200 and ADMIN[0] in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    done = choose(visitor, path)
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert elsewhere.get("/customers/").status_code == 302  # the other session has ended
    assert sign_in(app.test_client(), *ADMIN).status_code == 422  # the old password no longer works
    assert sign_in(app.test_client(), ADMIN[0], NEW_PASSWORD).status_code == 303
    again = visitor.get(path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert choose(app.test_client(), path, "another-long-passphrase-kiwi-77").status_code == 410
    assert sign_in(app.test_client(), ADMIN[0], NEW_PASSWORD).status_code == 303


def test_the_new_password_follows_the_password_rules_and_nothing_is_used_up(app, smtp):
    ask(app.test_client(), STAFF[0])
    path = path_of(emailed_link(app, smtp, STAFF[0], "/password/reset/"))
    visitor = app.test_client()
    short = choose(visitor, path, "short")
    assert short.status_code == 422 and "at least 15 characters" in short.get_data(as_text=True)
    assert 'value="short"' not in short.get_data(as_text=True)
    assert choose(visitor, path, NEW_PASSWORD, "something-else-entirely-99").status_code == 422
    assert choose(visitor, path).status_code == 303


def test_a_link_expires_after_an_hour(app, smtp):
    ask(app.test_client(), ADMIN[0])
    path = path_of(emailed_link(app, smtp, ADMIN[0], "/password/reset/"))
    with app.app_context(), db.connection_context():
        PasswordResetToken.update(expires_at=dt.datetime(2020, 1, 1)).execute()
    response = app.test_client().get(path)
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    assert choose(app.test_client(), path).status_code == 410


def test_a_newer_link_or_a_password_change_replaces_an_older_link(app, smtp):
    client = app.test_client()
    ask(client, ADMIN[0])
    first = path_of(emailed_link(app, smtp, ADMIN[0], "/password/reset/"))
    ask(client, ADMIN[0])
    second = path_of(emailed_link(app, smtp, ADMIN[0], "/password/reset/"))
    assert first != second
    assert app.test_client().get(first).status_code == 410
    assert app.test_client().get(second).status_code == 200
    # Changing the password on the profile page makes the outstanding link useless too.
    signed_in = app.test_client()
    sign_in(signed_in, *ADMIN)
    changed = signed_in.post(
        "/profile/password",
        data={
            "csrf_token": csrf_token(signed_in),
            "current_password": ADMIN[1],
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303
    assert app.test_client().get(second).status_code == 410


def test_unknown_and_deactivated_accounts_get_no_email(app, client):
    with app.app_context(), db.connection_context():
        User.update(active=False).where(User.email == STAFF[0]).execute()
    assert ask(client, STAFF[0]).status_code == 303
    assert ask(client, "nobody@nowhere.example.com").status_code == 303
    with app.app_context():
        assert not OutboxEmail.select().where(OutboxEmail.kind == "password_reset").exists()
        assert not PasswordResetToken.select().exists()


def test_an_unknown_link_is_404(client):
    assert client.get("/password/reset/not-a-real-token").status_code == 404
    assert client.get("/password/reset/" + "x" * 200).status_code == 404


def test_asking_is_rate_limited_per_email_whether_or_not_it_has_an_account(app):
    for email in (ADMIN[0], "nobody@nowhere.example.com"):
        client = app.test_client()
        answers = [ask(client, email).status_code for _ in range(4)]
        assert answers == [303, 303, 303, 429], (email, answers)


def test_asking_needs_the_csrf_token(client):
    assert client.post("/password/forgot", data={"email": ADMIN[0]}).status_code == 400


def test_an_empty_email_is_asked_for_again(client):
    response = ask(client, "")
    assert response.status_code == 422
    assert "Enter the email address you sign in with." in response.get_data(as_text=True)


def test_a_known_and_an_unknown_email_take_the_same_work(app):
    """The timing shape: both render the reset email (the expensive part of the answer), so a
    known address does not answer measurably slower than an unknown one."""
    from flask import template_rendered

    def rendered_for(email):
        names = []

        def record(sender, template, context, **extra):
            names.append(template.name)

        template_rendered.connect(record, app)
        try:
            ask(app.test_client(), email)
        finally:
            template_rendered.disconnect(record, app)
        return sorted(n for n in names if n.startswith("email/"))

    known, unknown = rendered_for(ADMIN[0]), rendered_for("nobody@nowhere.example.com")
    assert known == unknown == ["email/password_reset.html", "email/password_reset.txt"]


def test_someone_invited_who_never_chose_a_password_gets_no_reset_email(app, client):
    with app.app_context(), db.connection_context():
        User.create(email="invited@matai.example.com", first_name="Rua")
    assert ask(client, "invited@matai.example.com").status_code == 303
    with app.app_context():
        assert not OutboxEmail.select().where(OutboxEmail.kind == "password_reset").exists()
