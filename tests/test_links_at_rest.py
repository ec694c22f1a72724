"""No working link stored at rest (issue 12): emailed tokens wait encrypted in the outbox, go
into the message as it is sent, and are forgotten afterwards; sent bodies are purged later."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest

from conftest import live_links_in_database
from testkit.mail import emailed_link, path_of, token_of
from testkit.wizard import complete_customer_option, complete_white_label_option, post
from webapp.extensions import db
from webapp.mail import LINK_PLACEHOLDER, deliver_due, purge_sent_emails, queue_email
from webapp.models import (
    ALL_MODELS,
    ActivationToken,
    Customer,
    CustomerMembership,
    OutboxEmail,
    User,
    WhiteLabel,
    utcnow,
)
from webapp.onboarding.options import CUSTOMER
from webapp.schedule import run_schedule
from webapp.tokens import issue_token

CONTACT_EMAIL = "hana@matai-joinery.example.com"
INVITEE = {
    "first_name": "Tama",
    "last_name": "Rangi",
    "email": "tama@matai-joinery.example.com",
    "extension": "201",
    "role": "user",
    "setup": "invite",
}


def stored_strings(app) -> list[str]:
    """Every text value the database holds, exactly as stored (encrypted columns undecrypted)."""
    values = []
    with app.app_context(), db.connection_context():
        for model in ALL_MODELS:
            columns = [f for f in model._meta.sorted_fields if f.field_type in ("VARCHAR", "TEXT")]
            if columns:
                for row in db.execute_sql(*model.select(*columns).sql()).fetchall():
                    values.extend(v for v in row if isinstance(v, str))
    return values


def assert_stored_without_its_link(app, kind: str, recipient: str) -> OutboxEmail:
    with app.app_context():
        row = (
            OutboxEmail.select()
            .where((OutboxEmail.kind == kind) & (OutboxEmail.recipient == recipient))
            .order_by(OutboxEmail.id.desc())
            .get()
        )
    assert row.status == OutboxEmail.QUEUED
    for body in (row.text_body, row.html_body):
        assert LINK_PLACEHOLDER in body
        assert "/activate/" not in body and "/invite/" not in body
    assert row.secret_link.startswith("fernet:")
    assert live_links_in_database(app)[1] == []
    return row


def assert_sent_and_forgotten(app, row_id: int, link: str) -> None:
    with app.app_context():
        row = OutboxEmail.get_by_id(row_id)
    assert row.status == OutboxEmail.SENT and row.secret_link == ""
    assert not any(token_of(link) in value for value in stored_strings(app))


@pytest.fixture
def managed(app, admin_client):
    """An option-2 customer (the demo administrator is its Account Administrator): its id."""
    base = complete_white_label_option(admin_client, app, plan="Business")
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        return Customer.get(Customer.business_name == "Matai Joinery Ltd").id


# --- Each email that carries a link -----------------------------------------------------------


def test_activation_email_is_stored_without_its_link_and_delivered_with_it(app, admin_client, client, smtp):
    base = complete_customer_option(admin_client, app, plan="Business")
    assert post(admin_client, f"{base}/review").status_code == 303
    row = assert_stored_without_its_link(app, "activation", CONTACT_EMAIL)

    link = emailed_link(app, smtp, CONTACT_EMAIL)
    assert re.fullmatch(r"https://onboarding\.example\.com/activate/[A-Za-z0-9_-]{43}", link)
    html = smtp.messages[-1].get_body(preferencelist=("html",)).get_content()
    assert f'href="{link}"' in html and LINK_PLACEHOLDER not in html + smtp.text(smtp.messages[-1])
    assert_sent_and_forgotten(app, row.id, link)
    page = client.get(path_of(link))
    assert page.status_code == 200 and "Activate your Demo Telecom account" in page.get_data(as_text=True)


def test_invitation_email_is_stored_without_its_link_and_delivered_with_it(app, admin_client, managed, smtp):
    assert post(admin_client, f"/customers/{managed}/users/new", INVITEE).status_code == 303
    row = assert_stored_without_its_link(app, "invitation", INVITEE["email"])

    link = emailed_link(app, smtp, INVITEE["email"], "/invite/")
    assert link.startswith("https://onboarding.example.com/invite/")
    assert_sent_and_forgotten(app, row.id, link)
    page = app.test_client().get(path_of(link))
    assert page.status_code == 200 and "Join Matai Joinery Ltd" in page.get_data(as_text=True)


def test_hand_over_email_is_stored_without_its_link_and_delivered_with_it(app, admin_client, managed, smtp):
    assert post(admin_client, f"/customers/{managed}/hand-over").status_code == 303
    row = assert_stored_without_its_link(app, "activation", CONTACT_EMAIL)

    link = emailed_link(app, smtp, CONTACT_EMAIL)
    assert_sent_and_forgotten(app, row.id, link)
    assert app.test_client().get(path_of(link)).status_code == 200


def test_reminder_is_stored_without_its_link_and_carries_a_fresh_one(app, admin_client, runner, smtp):
    base = complete_customer_option(admin_client, app, plan="Business")
    assert post(admin_client, f"{base}/review").status_code == 303
    first = emailed_link(app, smtp, CONTACT_EMAIL)
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() + dt.timedelta(hours=20)).execute()
    assert "Queued 1 reminder(s)." in runner.invoke(args=["send-activation-reminders"]).output
    row = assert_stored_without_its_link(app, "activation_reminder", CONTACT_EMAIL)

    reminder = emailed_link(app, smtp, CONTACT_EMAIL)
    assert "This is a reminder" in smtp.text(smtp.messages[-1])
    assert reminder != first
    assert_sent_and_forgotten(app, row.id, reminder)
    client = app.test_client()
    assert client.get(path_of(reminder)).status_code == 200
    assert client.get(path_of(first)).status_code == 410


def test_the_link_is_built_from_app_base_url_when_sent_whatever_the_host(app, admin_client, smtp):
    from webapp.activation.service import send_activation_link

    base = complete_customer_option(admin_client, app, plan="Business")
    assert post(admin_client, f"{base}/review").status_code == 303
    emailed_link(app, smtp, CONTACT_EMAIL)
    with app.test_request_context("/", base_url="http://evil.example.net"):
        with db.atomic():
            send_activation_link(Customer.get(Customer.contact_email == CONTACT_EMAIL))
        deliver_due()
    text = smtp.text(smtp.wait_for(2)[-1])
    assert "https://onboarding.example.com/activate/" in text and "evil.example.net" not in text


def test_every_link_in_an_email_follows_app_base_url_and_its_path(app, admin_client, smtp, runner):
    """A console served under a path (https://pbx.example.com/onboarding): the activation link,
    a reminder made by the worker outside any request, and the welcome email's sign-in link all
    carry the path, once."""
    app.config["APP_BASE_URL"] = "https://pbx.example.com/onboarding"
    base = complete_customer_option(admin_client, app, plan="Business")
    assert post(admin_client, f"{base}/review").status_code == 303
    first = emailed_link(app, smtp, CONTACT_EMAIL)
    assert first.startswith("https://pbx.example.com/onboarding/activate/"), first
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() + dt.timedelta(hours=20)).execute()
    assert "Queued 1 reminder(s)." in runner.invoke(args=["send-activation-reminders"]).output
    assert emailed_link(app, smtp, CONTACT_EMAIL).startswith("https://pbx.example.com/onboarding/activate/")
    from webapp import emails

    with app.app_context():
        assert emails.external_url("auth.login") == "https://pbx.example.com/onboarding/login"
        assert emails.external_url("customers.show", customer_id=7) == "https://pbx.example.com/onboarding/customers/7"


# --- When sending fails ----------------------------------------------------------------------


def _queue_link_email(app, recipient="someone@example.com", path="/activate/not-a-real-token-but-secret"):
    with app.test_request_context(), db.atomic():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        return queue_email(
            kind="test",
            recipient=recipient,
            subject="A link",
            template="test_message",
            white_label=label,
            body="Your link:",
            secret_link=path,
        ).id


def test_a_retried_email_keeps_its_link_until_it_is_sent(app, smtp):
    email_id = _queue_link_email(app)
    smtp.stop()
    with app.app_context():
        assert deliver_due() == 0
        row = OutboxEmail.get_by_id(email_id)
        assert row.status == OutboxEmail.QUEUED and row.secret_link.startswith("fernet:")
        smtp.start()
        assert deliver_due() == 1
        assert OutboxEmail.get_by_id(email_id).secret_link == ""
    assert "https://onboarding.example.com/activate/not-a-real-token-but-secret" in smtp.text(smtp.wait_for(1)[0])


def test_an_email_that_fails_for_good_forgets_its_link(app, smtp):
    smtp.stop()
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    email_id = _queue_link_email(app)
    with app.app_context():
        assert deliver_due() == 0
        row = OutboxEmail.get_by_id(email_id)
    assert (row.status, row.secret_link) == (OutboxEmail.FAILED, "")
    assert row.last_error


def test_a_link_whose_key_is_gone_fails_its_email_clearly_and_the_rest_still_go(app, config, smtp, caplog):
    from cryptography.fernet import Fernet

    from webapp import create_app, crypto

    doomed = _queue_link_email(app, recipient="doomed@example.com")
    with app.test_request_context(), db.atomic():
        fine = queue_email(
            kind="test",
            recipient="fine@example.com",
            subject="No link",
            template="test_message",
            white_label=WhiteLabel.get(WhiteLabel.slug == "demo-telecom"),
            body="Hello.",
        ).id
    # The app restarted with a new key and without the one that encrypted the queued link.
    rekeyed = create_app({**config, "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode()})
    try:
        with rekeyed.app_context():
            with caplog.at_level(logging.ERROR, logger="webapp.mail"):
                assert deliver_due() == 1
                assert deliver_due() == 0  # no crash, no retry loop
            row = OutboxEmail.get_by_id(doomed)
            assert OutboxEmail.get_by_id(fine).status == OutboxEmail.SENT
    finally:
        crypto.init_app(app)
    assert (row.status, row.secret_link, row.attempts) == (OutboxEmail.FAILED, "", 1)
    assert "SECRETS_ENCRYPTION_KEYS" in row.last_error and "new link" in row.last_error
    assert [m["To"] for m in smtp.wait_for(1)] == ["fine@example.com"]
    logged = [r.getMessage() for r in caplog.records if r.name == "webapp.mail"]
    assert any(f"Email {doomed}" in line and "SECRETS_ENCRYPTION_KEYS" in line for line in logged), logged


def test_queue_email_refuses_a_secret_link_it_could_leak_or_lose(app):
    with app.test_request_context(), db.atomic():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        with pytest.raises(ValueError, match="path"):
            queue_email(
                kind="test",
                recipient="x@example.com",
                subject="s",
                template="test_message",
                white_label=label,
                body="b",
                secret_link="https://evil.example.net/activate/abc",
            )
        with pytest.raises(ValueError, match="link"):
            queue_email(
                kind="test",
                recipient="x@example.com",
                subject="s",
                template="welcome",
                white_label=label,
                customer=None,
                balance="",
                payment=None,
                sign_in_url="",
                secret_link="/activate/abc",
            )


def test_reencrypting_secrets_reencrypts_queued_links(app, config, runner, smtp):
    from cryptography.fernet import Fernet

    from webapp import create_app, crypto

    email_id = _queue_link_email(app)
    old = crypto.keys_from_config(app.config)[0].decode()
    new = Fernet.generate_key().decode()
    rotated = create_app({**config, "SECRETS_ENCRYPTION_KEYS": f"{new},{old}"})
    try:
        result = rotated.test_cli_runner().invoke(args=["reencrypt-secrets"])
        assert result.exit_code == 0, result.output
        assert "1 queued email link(s)" in result.output
        only_new = create_app({**config, "SECRETS_ENCRYPTION_KEYS": new})
        with only_new.app_context():
            assert deliver_due() == 1
            assert OutboxEmail.get_by_id(email_id).status == OutboxEmail.SENT
    finally:
        crypto.init_app(app)
    assert "/activate/not-a-real-token-but-secret" in smtp.text(smtp.wait_for(1)[0])


# --- Purging sent bodies ---------------------------------------------------------------------


def _sent_emails(app, smtp):
    """Three sent emails (31, 29 days ago and now), one queued and one failed long ago: their ids."""
    ids = [_queue_link_email(app, recipient=f"r{i}@example.com") for i in range(5)]
    with app.app_context():
        assert deliver_due() == 5
        now = utcnow()
        OutboxEmail.update(sent_at=now - dt.timedelta(days=31)).where(OutboxEmail.id == ids[0]).execute()
        OutboxEmail.update(sent_at=now - dt.timedelta(days=29)).where(OutboxEmail.id == ids[1]).execute()
        OutboxEmail.update(
            status=OutboxEmail.QUEUED,
            sent_at=None,
            created_at=now - dt.timedelta(days=40),
            next_attempt_at=now + dt.timedelta(days=1),
        ).where(OutboxEmail.id == ids[3]).execute()
        OutboxEmail.update(status=OutboxEmail.FAILED, sent_at=None, created_at=now - dt.timedelta(days=40)).where(
            OutboxEmail.id == ids[4]
        ).execute()
    return ids


def _bodies(app, ids):
    with app.app_context():
        return [bool(OutboxEmail.get_by_id(i).text_body) for i in ids]


def test_purging_blanks_old_sent_bodies_and_keeps_the_rows(app, smtp):
    ids = _sent_emails(app, smtp)
    with app.app_context():
        before = {i: OutboxEmail.get_by_id(i) for i in ids}
        assert purge_sent_emails(30) == 2
        assert purge_sent_emails(30) == 0
        for i in ids:
            row = OutboxEmail.get_by_id(i)
            assert (row.subject, row.recipient, row.kind, row.status, row.sent_at, row.created_at) == (
                before[i].subject,
                before[i].recipient,
                before[i].kind,
                before[i].status,
                before[i].sent_at,
                before[i].created_at,
            )
    #             31 days sent, 29 days sent, just sent, queued, failed long ago
    assert _bodies(app, ids) == [False, True, True, True, False]
    with app.app_context():
        assert OutboxEmail.get_by_id(ids[0]).html_body == ""


def test_purge_emails_command_uses_the_setting_or_days(app, runner, smtp):
    ids = _sent_emails(app, smtp)
    app.config["OUTBOX_RETENTION_DAYS"] = 35
    assert (
        "Emptied the bodies of 1 sent or failed email(s) older than 35 days."
        in runner.invoke(args=["purge-emails"]).output
    )
    assert _bodies(app, ids) == [True, True, True, True, False]
    assert (
        "Emptied the bodies of 2 sent or failed email(s) older than 1 days."
        in runner.invoke(args=["purge-emails", "--days", "1"]).output
    )
    assert _bodies(app, ids) == [False, False, True, True, False]


def test_the_worker_schedule_purges_sent_bodies(app, smtp):
    ids = _sent_emails(app, smtp)
    app.config["OUTBOX_RETENTION_DAYS"] = 30
    with app.app_context():
        run_schedule()
    assert _bodies(app, ids) == [False, True, True, True, False]


def test_the_activation_tracker_still_shows_a_purged_email(app, admin_client, smtp):
    base = complete_customer_option(admin_client, app, plan="Business")
    assert post(admin_client, f"{base}/review").status_code == 303
    emailed_link(app, smtp, CONTACT_EMAIL)
    with app.app_context():
        customer = Customer.get(Customer.contact_email == CONTACT_EMAIL)
        before = admin_client.get(f"/customers/{customer.id}").get_data(as_text=True)
        assert purge_sent_emails(0) == 1
    after = admin_client.get(f"/customers/{customer.id}").get_data(as_text=True)

    # CSRF tokens (form fields and htmx's header) carry the second they were made: not compared.
    def without_tokens(page: str) -> str:
        return re.sub(r'(value="|"X-CSRFToken": ")[^"]+"', "", page)

    assert without_tokens(after) == without_tokens(before)


# --- The after-every-test check itself ------------------------------------------------------


def test_the_live_link_scan_finds_a_stored_link(app, quiet_sql_log):
    # quiet_sql_log: this test stores working links on purpose; the log scan for tokens would flag their SQL.
    with app.app_context():
        with db.atomic():
            customer = Customer.create(
                white_label=WhiteLabel.get(WhiteLabel.slug == "demo-telecom"),
                business_name="Scan Test Ltd",
                contact_first_name="Sam",
                contact_email="sam@scan.example.com",
                administered_by=CUSTOMER.key,
                status=Customer.PENDING,
            )
            activation, _ = issue_token(customer, ActivationToken.ACTIVATION, 3600)
            invitation, row = issue_token(customer, ActivationToken.INVITATION, 3600, revoke_others=False)
            user = User.create(email="tui@scan.example.com", first_name="Tui", password_hash="")
            CustomerMembership.create(
                user=user,
                customer=customer,
                role="user",
                active=False,
                status=CustomerMembership.INVITED,
                accepted_at=None,
            )
            row.user = user
            row.save()
        tried, opened = live_links_in_database(app)
        assert opened == [] and tried > 0
        # As the outbox held them before issue 12: a link in an email's body...
        OutboxEmail.create(
            kind="activation",
            recipient="sam@scan.example.com",
            subject="s",
            text_body=f"Open https://onboarding.example.com/activate/{activation}\n",
            message_id="<scan@test>",
        )
        assert live_links_in_database(app)[1] == [f"/activate/{activation}: 200"]
        OutboxEmail.delete().execute()
        # ...a bare token, glued to a prefix, and an invitation link elsewhere are found too.
        Customer.update(trading_name=f"act_{activation}", address_line2=f"/invite/{invitation}").where(
            Customer.id == customer.id
        ).execute()
        assert sorted(live_links_in_database(app)[1]) == [f"/activate/{activation}: 200", f"/invite/{invitation}: 200"]
        Customer.update(trading_name="", address_line2="").where(Customer.id == customer.id).execute()
        assert live_links_in_database(app)[1] == []


def test_the_live_link_scan_is_not_stopped_by_rate_limits(app):
    app.config["ACTIVATION_RATE_LIMIT"] = "1 per minute"
    with app.app_context():
        for i in range(5):
            OutboxEmail.create(
                kind="test",
                recipient="x@example.com",
                subject="s",
                message_id=f"<{i}@test>",
                text_body=f"https://onboarding.example.com/activate/unknown-{i}",
            )
    tried, opened = live_links_in_database(app)
    assert tried >= 5 and opened == []  # every one answered 404, none 429
    assert app.test_client().get("/activate/x").status_code == 404  # the limit still holds for others
    assert app.test_client().get("/activate/y").status_code == 429


# --- Emails stored before this change -----------------------------------------------------------


def _scrub_stored_links():
    import importlib.util

    from webapp.database import MIGRATIONS_DIR

    spec = importlib.util.spec_from_file_location("migration_009", MIGRATIONS_DIR / "009_outbox_secret_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.scrub_stored_links


def _legacy_email(kind, recipient, status, link):
    # Emails as stored before issue 12, working link and all: the tests that write them ask for
    # quiet_sql_log, so the session's log scan for tokens does not (rightly) flag their SQL.
    return OutboxEmail.create(
        kind=kind,
        recipient=recipient,
        subject="s",
        status=status,
        sent_at=utcnow() if status == "sent" else None,
        text_body=f"Hello,\n\n{link}\n\nThis link works once.\n",
        html_body=f'<p><a href="{link}">Open</a></p><p>{link}</p>',
        message_id=f"<{recipient}>",
    )


def test_the_upgrade_takes_links_out_of_emails_stored_before_it(app, smtp, quiet_sql_log):
    import secrets

    sent_token, waiting_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with app.app_context():
        sent = _legacy_email(
            "activation", "a@example.com", OutboxEmail.SENT, f"https://onboarding.example.com/activate/{sent_token}"
        )
        waiting = _legacy_email(
            "invitation", "b@example.com", OutboxEmail.QUEUED, f"https://onboarding.example.com/invite/{waiting_token}"
        )
        other = _legacy_email("welcome", "c@example.com", OutboxEmail.SENT, "https://onboarding.example.com/login")
        _scrub_stored_links()(db.obj)
        sent, waiting, other_now = (OutboxEmail.get_by_id(e.id) for e in (sent, waiting, other))
    assert "[link removed]" in sent.text_body and "[link removed]" in sent.html_body
    assert (waiting.status, waiting.text_body.count(LINK_PLACEHOLDER), waiting.html_body.count(LINK_PLACEHOLDER)) == (
        OutboxEmail.QUEUED,
        1,
        2,
    )
    assert waiting.secret_link.startswith("fernet:")
    assert (other_now.text_body, other_now.html_body) == (other.text_body, other.html_body)
    assert not any(t in value for value in stored_strings(app) for t in (sent_token, waiting_token))
    assert (
        emailed_link(app, smtp, "b@example.com", "/invite/") == f"https://onboarding.example.com/invite/{waiting_token}"
    )


def test_an_upgrade_without_the_keys_fails_waiting_emails_that_held_links(app, monkeypatch, quiet_sql_log):
    import secrets

    from webapp import crypto

    with app.app_context():
        waiting = _legacy_email(
            "activation",
            "b@example.com",
            OutboxEmail.QUEUED,
            f"https://onboarding.example.com/activate/{secrets.token_urlsafe(32)}",
        )
        monkeypatch.setattr(crypto, "_box", None)
        _scrub_stored_links()(db.obj)
        monkeypatch.undo()
        waiting = OutboxEmail.get_by_id(waiting.id)
    assert (waiting.status, waiting.secret_link) == (OutboxEmail.FAILED, "")
    assert "Send a new link" in waiting.last_error and "/activate/" not in waiting.text_body + waiting.html_body


def test_upgrading_a_database_rewrites_its_stored_links(config, tmp_path, smtp, quiet_sql_log):
    """The real upgrade path (`flask db-upgrade`) on a database with mail queued and sent before."""
    import secrets

    from webapp import create_app
    from webapp.database import migration_router, open_database

    token = secrets.token_urlsafe(32)
    app = create_app({**config, "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}"})
    try:
        with app.app_context(), db.connection_context():
            migration_router().run("007_encrypted_secrets")
            for status, address in (("sent", "old@example.com"), ("queued", "new@example.com")):
                db.execute_sql(
                    "INSERT INTO outbox_email (kind, recipient, sender, subject, text_body, html_body, message_id, "
                    "status, attempts, next_attempt_at, last_error, created_at) "
                    "VALUES ('activation', ?, '', 's', ?, '', ?, ?, 0, '2026-01-01 00:00:00', '', '2026-01-01 00:00:00')",
                    (address, f"Open https://onboarding.example.com/activate/{token}-{status}", f"<{status}>", status),
                )
        result = app.test_cli_runner().invoke(args=["db-upgrade"])
        assert "009_outbox_secret_links" in result.output, result.output
        with app.app_context(), db.connection_context():
            rows = {row.status: row for row in OutboxEmail.select()}
            assert rows["sent"].text_body == "Open [link removed]"
            assert rows["queued"].text_body == f"Open {LINK_PLACEHOLDER}"
            assert deliver_due() == 1
        assert f"https://onboarding.example.com/activate/{token}-queued" in smtp.text(smtp.wait_for(1)[0])
    finally:
        if hasattr(db.obj, "close_all"):
            db.obj.close_all()
        db.initialize(open_database(config["DATABASE_URL"]))  # back to the suite's database
