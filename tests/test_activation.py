import datetime as dt
import hashlib
import re
import threading

import pytest

from conftest import csrf_token, sign_in
from testkit.activation import (
    PASSWORD,
    activation_data,
    activation_form,
    create_pending_customer,
    submit_activation,
)
from testkit.mail import emailed_link, token_of
from webapp.mail import deliver_due
from webapp.models import (
    ALL_MODELS,
    ActivationToken,
    AuditEvent,
    Customer,
    CustomerMembership,
    LedgerEntry,
    OutboxEmail,
    Payment,
    User,
    utcnow,
)
from webapp.payments import GatewayUnavailable
from webapp.payments.sandbox import SandboxGateway, was_refunded

CONTACT_EMAIL = "hana@matai-joinery.example.com"


@pytest.fixture
def pending(app, admin_client, smtp):
    """A customer created with 'The new customer': (customer id, raw token from the delivered email)."""
    return create_pending_customer(app, admin_client, smtp)


def state(app, customer_id):
    with app.app_context():
        return {
            "status": Customer.get_by_id(customer_id).status,
            "payments": Payment.select().where(Payment.customer == customer_id).count(),
            "credits": LedgerEntry.select().where(LedgerEntry.customer == customer_id).count(),
            "users": User.select().where(User.email == "hana@matai-joinery.example.com").count(),
            "memberships": CustomerMembership.select().where(CustomerMembership.customer == customer_id).count(),
            "used": ActivationToken.select()
            .where((ActivationToken.customer == customer_id) & ActivationToken.used_at.is_null(False))
            .count(),
        }


UNCHANGED = {"status": "pending_activation", "payments": 0, "credits": 0, "users": 0, "memberships": 0, "used": 0}


# --- The page -------------------------------------------------------------------------


def test_activation_page_is_branded_and_shows_the_account(app, client, pending):
    customer_id, token = pending
    response = client.get(f"/activate/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Activate your Demo Telecom account" in html
    assert "Matai Joinery Ltd" in html and "hana@matai-joinery.example.com" in html
    assert "Business, NZ$79.00 a month" in html and "NZ$50.00" in html
    assert "support@demo.example.com" in html
    for label in [
        "Password",
        "Confirm password",
        "Opening balance",
        "Name on card",
        "Card number",
        "Expiry (MM/YY)",
        "Security code",
        "I accept the terms of service",
    ]:
        assert f">{label}" in html, label
    assert "Activate account" in html
    assert 'href="/customers/' not in html and "Sign out" not in html  # no admin console navigation
    assert re.search(r'href="/brand/\d+\.css\?v=0f766e"', html)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_opening_the_link_records_opened_but_does_not_use_it(app, client, pending):
    customer_id, token = pending
    client.get(f"/activate/{token}")
    client.get(f"/activate/{token}")
    with app.app_context():
        row = ActivationToken.get(ActivationToken.customer == customer_id)
        assert row.opened_at is not None and row.used_at is None
    assert client.get(f"/activate/{token}").status_code == 200


def test_brand_stylesheet_carries_the_accent_colour_with_readable_text(app, client):
    from webapp.models import WhiteLabel

    with app.app_context():
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
    css = client.get(f"/brand/{demo.id}.css").get_data(as_text=True)
    assert "--accent: #0f766e" in css and "--accent-contrast: #ffffff" in css


# --- Activating -------------------------------------------------------------------------


def test_good_card_activates_everything_in_one_go(app, client, pending, smtp):
    customer_id, token = pending
    response = submit_activation(client, token)
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    with app.app_context():
        customer = Customer.get_by_id(customer_id)
        assert customer.status == Customer.ACTIVE and customer.activated_at is not None
        payment = Payment.get(Payment.customer == customer_id)
        assert (payment.amount, payment.currency, payment.card_brand, payment.card_last4) == (
            7500,
            "NZD",
            "Visa",
            "4242",
        )
        assert (payment.card_exp_month, payment.card_exp_year) == (12, 2034)
        credit = LedgerEntry.get(LedgerEntry.customer == customer_id)
        assert (credit.account, credit.kind, credit.amount) == ("customer", "credit", 7500)
        user = User.get(User.email == "hana@matai-joinery.example.com")
        assert PASSWORD not in user.password_hash
        membership = CustomerMembership.get(CustomerMembership.customer == customer_id)
        assert membership.user_id == user.id and membership.role == "account_administrator"
        assert ActivationToken.get(ActivationToken.customer == customer_id).used_at is not None
        assert (
            AuditEvent.select()
            .where((AuditEvent.customer == customer_id) & (AuditEvent.action == "customer_activated"))
            .exists()
        )
        kinds = {(e.kind, e.recipient) for e in OutboxEmail.select().where(OutboxEmail.customer == customer_id)}
        assert ("welcome", "hana@matai-joinery.example.com") in kinds
        assert ("customer_activated", "admin@demo.example.com") in kinds
        deliver_due()
    home = client.get("/account/").get_data(as_text=True)
    assert "Matai Joinery Ltd" in home and "NZ$75.00" in home and "Active" in home
    subjects = [m["Subject"] for m in smtp.wait_for(3)]
    assert "Matai Joinery Ltd has activated their account" in subjects


def test_activated_contact_can_sign_in_later_and_lands_on_the_account(app, client, pending):
    _, token = pending
    submit_activation(client, token)
    fresh = app.test_client()
    response = sign_in(fresh, "hana@matai-joinery.example.com", PASSWORD)
    assert response.status_code == 303
    page = fresh.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "NZ$75.00" in page


@pytest.mark.parametrize(
    "card,message",
    [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000 0000 0000 9995", "insufficient funds"),
        ("4000 0000 0000 0069", "Your card has expired."),
        ("4242 4242 4242 4241", "That card number is not valid."),
    ],
)
def test_failed_card_changes_nothing_and_keeps_everything_but_the_card(app, client, pending, card, message):
    customer_id, token = pending
    response = submit_activation(client, token, card=card, opening_balance="80.00")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    card_field = html[html.index('id="card_number-field"') :]
    assert message in card_field[:800]
    assert 'value="80.00"' in html and 'value="Hana Kereama"' in html
    assert PASSWORD not in html  # a password is never sent back, even to its own page
    digits = card.replace(" ", "")
    assert card not in html and digits not in html and 'value="737"' not in html
    assert state(app, customer_id) == UNCHANGED
    # The link still works and a good card then succeeds.
    assert submit_activation(client, token).status_code == 303
    assert state(app, customer_id)["payments"] == 1


def test_any_other_valid_card_number_succeeds(app, client, pending):
    customer_id, token = pending
    assert submit_activation(client, token, card="5555 5555 5555 4444").status_code == 303
    with app.app_context():
        assert Payment.get(Payment.customer == customer_id).card_brand == "Mastercard"


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"password": "short", "confirm_password": "short"}, "Use at least 15 characters."),
        ({"password": "passwordpassword", "confirm_password": "passwordpassword"}, "harder to guess"),
        (
            {"password": "hana@matai-joinery.example.com", "confirm_password": "hana@matai-joinery.example.com"},
            "Do not use your email address",
        ),
        ({"confirm_password": "something-else-entirely"}, "The passwords do not match."),
        ({"opening_balance": "10"}, "The opening balance must be at least NZ$50.00."),
        ({"opening_balance": "999999"}, "The opening balance can be at most NZ$5,000.00."),
        ({"opening_balance": "lots"}, "Enter the opening balance as an amount"),
        ({"opening_balance": "50.555"}, "whole cents"),
        ({"accept_terms": ""}, "Accept the terms of service"),
        ({"card_expiry": "01/20"}, "The expiry date is in the past."),
        ({"card_expiry": "13/30"}, "Enter the expiry date as MM/YY"),
        ({"security_code": "12"}, "Enter the security code: 3 or 4 digits."),
        ({"card_number": "1234"}, "Enter the card number: 12 to 19 digits"),
    ],
)
def test_each_rule_has_a_clear_message(app, client, pending, overrides, message):
    customer_id, token = pending
    response = submit_activation(client, token, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert state(app, customer_id) == UNCHANGED


def test_a_long_password_is_accepted_whole(app, client, pending):
    _, token = pending
    long_password = "tui kereru kea kaka " * 5  # 100 characters, never truncated
    assert submit_activation(client, token, password=long_password, confirm_password=long_password).status_code == 303
    assert sign_in(app.test_client(), "hana@matai-joinery.example.com", long_password).status_code == 303
    assert sign_in(app.test_client(), "hana@matai-joinery.example.com", long_password[:64]).status_code == 422


def test_double_post_of_one_attempt_charges_once(app, client, pending):
    customer_id, token = pending
    hidden = activation_form(client, token)
    first = submit_activation(client, token, hidden=hidden)
    second = submit_activation(client, token, hidden=hidden)
    assert first.status_code == 303
    # Activating signs the contact in on a fresh session, so the old form's CSRF token is void;
    # the same form posted with a valid token finds the link used.
    assert second.status_code == 400
    again = submit_activation(client, token, hidden={**hidden, "csrf_token": csrf_token(client)})
    assert again.status_code == 410
    with app.app_context():
        assert Payment.select().count() == 1
        assert LedgerEntry.select().where(LedgerEntry.customer == customer_id).count() == 1


def test_two_activations_racing_give_one_payment_user_and_credit(app, pending, monkeypatch, record_figure):
    from testkit.races import Overlap
    from webapp.activation import service

    customer_id, token = pending
    clients = [app.test_client(), app.test_client()]
    forms = [activation_form(c, token) for c in clients]
    # Both charges went through; both are held where the link is claimed until both are there.
    race = Overlap("activation's claim of the link (service._record)")
    race.patch(monkeypatch, service, "_record")
    barrier = threading.Barrier(2)
    results = []

    def run(i):
        barrier.wait()
        results.append(submit_activation(clients[i], token, hidden=forms[i]).status_code)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    together = race.assert_overlapped()
    assert sorted(results) == [303, 410]
    final = state(app, customer_id)
    assert (final["payments"], final["credits"], final["users"], final["memberships"]) == (1, 1, 1, 1)
    # Both cards were charged before the claim; the charge that lost the claim was refunded.
    from webapp.payments.sandbox import _results

    with app.app_context():
        link = ActivationToken.get(ActivationToken.customer == customer_id)
        charges = [_results[service.idempotency_key(link, form["attempt"])].reference for form in forms]
        kept = Payment.get(Payment.customer == customer_id).reference
    assert kept in charges and [was_refunded(c) for c in charges if c != kept] == [True] and not was_refunded(kept)
    record_figure(
        "concurrency (two activations of one link)",
        f"both inside the claim at once ({together:.0f} ms together): one payment, user and credit, the other refunded",
    )


def test_losing_charge_of_a_race_is_refunded(app, pending):
    from webapp.activation import service

    customer_id, token = pending
    with app.test_request_context():
        found = service.look_up_activation(token)
        card = __import__("webapp.payments", fromlist=["Card"]).Card("Hana", "4242424242424242", 12, 2034, "737")
        service.activate(found.token, password=PASSWORD, amount=5000, card=card, attempt="a" * 32)
        with pytest.raises(service.AlreadyActivated):
            service.activate(found.token, password=PASSWORD, amount=5000, card=card, attempt="b" * 32)
        loser_key = service.idempotency_key(found.token, "b" * 32)
        from webapp.payments.sandbox import _results

        assert was_refunded(_results[loser_key].reference)
        assert Payment.select().count() == 1


def test_gateway_timeout_records_nothing_and_retry_uses_the_same_key(app, client, pending, monkeypatch):
    customer_id, token = pending
    keys = []
    real_charge = SandboxGateway.charge

    def timing_out(self, **kwargs):
        keys.append(kwargs["idempotency_key"])
        raise GatewayUnavailable("timeout")

    monkeypatch.setattr(SandboxGateway, "charge", timing_out)
    hidden = activation_form(client, token)
    response = submit_activation(client, token, hidden=hidden)
    assert response.status_code == 422
    assert "The payment service did not answer" in response.get_data(as_text=True)
    assert state(app, customer_id) == UNCHANGED
    kept = re.search(
        r'id="attempt" name="attempt" type="hidden" value="([^"]*)"', response.get_data(as_text=True)
    ).group(1)
    assert kept == hidden["attempt"]

    def recording(self, **kwargs):
        keys.append(kwargs["idempotency_key"])
        return real_charge(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "charge", recording)
    assert submit_activation(client, token, hidden={**hidden, "attempt": kept}).status_code == 303
    assert keys[0] == keys[1]
    assert state(app, customer_id)["payments"] == 1


def test_card_data_is_never_stored_or_logged(app, client, pending, caplog):
    """The card number and security code typed on the page reach no stored value, no SQL
    parameter and no log message (each looked at for what it is: see conftest.py)."""
    from conftest import card_data_in_database, card_data_in_log_records, is_sql_record

    customer_id, token = pending
    caplog.set_level("DEBUG")
    declined = submit_activation(client, token, card="4000 0000 0000 0002", security_code="9183")
    assert declined.status_code == 422 and "Your card was declined." in declined.get_data(as_text=True)
    assert submit_activation(client, token, security_code="9183").status_code == 303
    with app.app_context():
        assert Payment.get(Payment.customer == customer_id).card_last4 == "4242"
        assert card_data_in_database() == []
    statements = [r for r in caplog.records if is_sql_record(r)]
    assert any("INSERT" in r.msg[0] and '"payment"' in r.msg[0] for r in statements)  # the writes were seen
    assert card_data_in_log_records(caplog.records) == []


def test_the_log_scan_finds_card_data_in_sql_parameters_and_messages():
    """The log scan can fail: a card number or a security code in a SQL parameter or a log
    message is found; the same digits inside a password hash, a token or an id are not (a hex
    hash holding 9183 failed CI when the scan searched the whole logged SQL line as text)."""
    import logging

    from conftest import CardDataInLogs, card_data_in_log_records

    def sql(params, statement='INSERT INTO "payment" ("card_brand", "card_last4") VALUES (?, ?)'):
        return logging.LogRecord("peewee", logging.DEBUG, __file__, 1, (statement, params), (), None)

    def message(text, *args, name="webapp.activation"):
        return logging.LogRecord(name, logging.INFO, __file__, 1, text, args, None)

    leaks = [
        sql(["Visa", "9183"]),  # a parameter that is a security code
        sql(["Visa", "737"]),
        sql(["Visa", "4242424242424242"]),  # a card number, as text
        sql(["Visa", 4242424242424242]),  # or as a number
        sql([["4000 0000 0000 0002"]]),  # inside a list parameter
        sql(["Visa", "cvc 737, card 4242"]),  # inside text
        sql([], statement="SELECT 1 WHERE 'x' = '4242-4242-4242-4242'"),  # written into the SQL itself
        message("charging card %s", "4242 4242 4242 4242"),
        message("security code 9183 refused"),
        message("the code was 737."),
        message("card=4000000000009995"),
        message("charging card %s", 4242424242424242),  # a card number as an integer argument too
        message("the code was %s", "737"),  # a typed code is text
    ]
    for record in leaks:
        assert card_data_in_log_records([record]), record.msg
    handler = CardDataInLogs()  # the handler that scans the whole run finds them too
    for record in leaks:
        handler.handle(record)
    assert len(handler.found) == len(leaks)

    harmless = [
        sql(["pbkdf2:sha256:1000$Gx7f9183aQ$09183fe2a7370e9183c4d7379183", "737abc9183"]),
        sql(["U2r-9183-kq_737_Zx0ab-JH1cVt0YkAq1xB5hYwQ4e9183", "gAAAAABm9183-737_x"]),  # a token, a ciphertext
        sql([9183, 737, 7370, 1391834242424242]),  # ids and amounts are integers; 139... is no card network
        sql(["Visa", "4242"]),  # the last four digits are allowed
        message("Returning connection %s to pool", 139918342424242),
        message("Import %s checked", 737),  # an id that happens to equal a code (seen on PostgreSQL)
        message("Import %d finished after %d rows", 9183, 4),
        message("GET /activate/Q2x-737_aZ9183kL HTTP/1.1 200"),
        message("sent in 1.737 s; balance NZ$1,737.00; 9183.5 units"),  # parts of other numbers
        message("a.b", name="mail.log"),  # the test SMTP server's own dump is not the app's log
    ]
    assert card_data_in_log_records(harmless) == []


# --- The link's lifecycle ----------------------------------------------------------------


def test_expired_link_shows_the_expired_page_with_support(app, client, pending):
    customer_id, token = pending
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() - dt.timedelta(minutes=1)).execute()
    response = client.get(f"/activate/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This activation link has expired" in html and "support@demo.example.com" in html
    assert (
        submit_activation(client, token, hidden={"csrf_token": csrf_token(client), "attempt": "a" * 32}).status_code
        == 410
    )
    assert state(app, customer_id) == UNCHANGED


def test_used_link_says_the_account_is_active_with_a_sign_in_link(app, client, pending):
    _, token = pending
    submit_activation(client, token)
    other = app.test_client()
    response = other.get(f"/activate/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This account is already active" in html and 'href="/s/demo-telecom/sign-in"' in html


def test_unknown_link_is_404_with_the_same_kind_of_page(client):
    response = client.get("/activate/not-a-real-token")
    assert response.status_code == 404
    assert "This activation link is not valid" in response.get_data(as_text=True)


def test_tokens_are_256_bit_and_stored_only_as_sha256(app, pending):
    customer_id, token = pending
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    with app.app_context():
        row = ActivationToken.get(ActivationToken.customer == customer_id)
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        for model in ALL_MODELS:
            for values in model.select().tuples():
                assert not any(token in v for v in values if isinstance(v, str))  # the outbox too


def test_links_use_app_base_url_whatever_the_host_header(app, pending, smtp):
    from webapp.activation.service import send_activation_link

    customer_id, _ = pending
    with app.test_request_context("/", base_url="http://evil.example.net"):
        send_activation_link(Customer.get_by_id(customer_id))
    emailed_link(app, smtp, CONTACT_EMAIL)
    text = smtp.text(smtp.messages[-1])
    assert "https://onboarding.example.com/activate/" in text and "evil.example.net" not in text


# --- Administrators ---------------------------------------------------------------------


def test_administrator_cannot_activate(app, admin_client, pending):
    customer_id, token = pending
    assert admin_client.get(f"/activate/{token}").status_code == 403
    response = admin_client.post(
        f"/activate/{token}", data={"csrf_token": csrf_token(admin_client), **activation_data()}
    )
    assert response.status_code == 403
    assert "Only the customer can activate this account" in response.get_data(as_text=True)
    assert state(app, customer_id) == UNCHANGED
    with app.app_context():
        assert ActivationToken.get(ActivationToken.customer == customer_id).opened_at is None


def test_customer_page_shows_the_tracker_without_an_activate_control(app, admin_client, client, pending):
    customer_id, token = pending
    client.get(f"/activate/{token}")
    html = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Activation" in html and "Link opened" in html and "Expires" in html
    assert "Resend activation email" in html and ">Cancel<" in html
    assert "Activate account" not in html


def test_resend_issues_a_new_link_and_revokes_the_old(app, admin_client, client, pending, smtp):
    customer_id, old = pending
    response = admin_client.post(
        f"/customers/{customer_id}/activation/resend", data={"csrf_token": csrf_token(admin_client)}
    )
    assert response.status_code == 303
    new = token_of(emailed_link(app, smtp, CONTACT_EMAIL))
    with app.app_context():
        emails = list(OutboxEmail.select().where(OutboxEmail.kind == "activation").order_by(OutboxEmail.id))
        assert len(emails) == 2
        valid = ActivationToken.select().where(
            ActivationToken.revoked_at.is_null() & (ActivationToken.customer == customer_id)
        )
        assert valid.count() == 1
    assert client.get(f"/activate/{old}").status_code == 410
    assert "has been replaced" in client.get(f"/activate/{old}").get_data(as_text=True)
    assert client.get(f"/activate/{new}").status_code == 200


def test_resend_brings_an_expired_customer_back_to_pending(app, admin_client, pending, runner):
    customer_id, _ = pending
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() - dt.timedelta(minutes=1)).execute()
    assert "Marked 1 customer(s) expired." in runner.invoke(args=["expire-activations"]).output
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.EXPIRED
    admin_client.post(f"/customers/{customer_id}/activation/resend", data={"csrf_token": csrf_token(admin_client)})
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.PENDING


def test_resend_is_rate_limited_per_customer(app, admin_client, pending):
    customer_id, _ = pending
    codes = [
        admin_client.post(
            f"/customers/{customer_id}/activation/resend", data={"csrf_token": csrf_token(admin_client)}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [303] * 5 + [429]
    with app.app_context():
        assert OutboxEmail.select().where(OutboxEmail.kind == "activation").count() == 6  # the first + 5 resends


def test_cancel_asks_first_then_stops_the_link(app, admin_client, client, pending):
    customer_id, token = pending
    confirm = admin_client.get(f"/customers/{customer_id}/activation/cancel").get_data(as_text=True)
    assert "Cancel Matai Joinery Ltd?" in confirm
    response = admin_client.post(
        f"/customers/{customer_id}/activation/cancel", data={"csrf_token": csrf_token(admin_client)}
    )
    assert response.status_code == 303
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.CANCELLED
    page = client.get(f"/activate/{token}")
    assert page.status_code == 410 and "This account has been cancelled" in page.get_data(as_text=True)


def test_staff_cannot_cancel(app, staff_client, pending):
    """Staff may resend (issue 15: tests/test_customer_changes.py), never cancel."""
    customer_id, _ = pending
    token = csrf_token(staff_client)
    assert (
        staff_client.post(f"/customers/{customer_id}/activation/cancel", data={"csrf_token": token}).status_code == 403
    )
    assert f"/customers/{customer_id}/activation/cancel" not in staff_client.get(f"/customers/{customer_id}").get_data(
        as_text=True
    )
    assert state(app, customer_id) == UNCHANGED


def test_another_white_labels_admin_gets_404(app, other_admin_client, pending):
    customer_id, _ = pending
    token = csrf_token(other_admin_client)
    assert (
        other_admin_client.post(f"/customers/{customer_id}/activation/resend", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        other_admin_client.post(f"/customers/{customer_id}/activation/cancel", data={"csrf_token": token}).status_code
        == 404
    )
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.PENDING


def test_one_reminder_goes_24_hours_before_expiry(app, client, pending, runner, smtp):
    customer_id, old = pending
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() + dt.timedelta(hours=20)).execute()
    assert "Queued 1 reminder(s)." in runner.invoke(args=["send-activation-reminders"]).output
    assert "Queued 0 reminder(s)." in runner.invoke(args=["send-activation-reminders"]).output
    with app.app_context():
        reminder = OutboxEmail.get(OutboxEmail.kind == "activation_reminder")
        assert "This is a reminder" in reminder.text_body
    new = token_of(emailed_link(app, smtp, CONTACT_EMAIL))
    assert "This is a reminder" in smtp.text(smtp.messages[-1])
    with app.app_context():
        row = ActivationToken.get(ActivationToken.token_hash == hashlib.sha256(new.encode()).hexdigest())
        assert row.expires_at < utcnow() + dt.timedelta(hours=21)
    assert client.get(f"/activate/{new}").status_code == 200
    assert client.get(f"/activate/{old}").status_code == 410


def test_activation_lookups_are_rate_limited(app, client):
    app.config["ACTIVATION_RATE_LIMIT"] = "3 per minute"
    codes = [client.get(f"/activate/guess-{i}").status_code for i in range(4)]
    assert codes == [404, 404, 404, 429]


def test_times_are_shown_in_the_white_labels_time_zone(app, admin_client, pending):
    customer_id, _ = pending
    with app.app_context():
        text = OutboxEmail.get(OutboxEmail.kind == "activation").text_body
    assert re.search(r"expires on \d{1,2} \w{3} \d{4}, \d\d:\d\d NZ[DS]T", text), text
    assert re.search(r"\d\d:\d\d NZ[DS]T", admin_client.get(f"/customers/{customer_id}").get_data(as_text=True))


def test_the_card_data_scan_finds_a_stored_card_number(app):
    import logging

    from conftest import card_data_in_database

    # This test writes card data on purpose; keep it out of the SQL debug log, which the
    # session-wide log scan would (rightly) flag.
    peewee_log = logging.getLogger("peewee")
    level = peewee_log.level
    peewee_log.setLevel(logging.INFO)
    try:
        with app.app_context():
            customer = Customer.get(Customer.business_name == "Kauri Dental")
            event = AuditEvent.create(white_label=customer.white_label_id, customer=customer, action="probe")

            def stored(trading_name, body=""):
                Customer.update(trading_name=trading_name).where(Customer.id == customer.id).execute()
                AuditEvent.update(detail=body).where(AuditEvent.id == event.id).execute()
                return card_data_in_database()

            assert stored("paid with 4242 4242 4242 4242") == ["customer.trading_name: paid with 4242 4242 4242 4242"]
            assert stored("CVC 9183") == ["customer.trading_name: CVC 9183"]
            assert stored("737") == ["customer.trading_name: 737"]
            # Any column, the ones that hold hashes, JSON and email bodies included.
            assert stored("", body='{"cvc": "737"}') == ['audit_event.detail: {"cvc": "737"}']
            # The digits inside a hash or a token are not a security code.
            assert stored("a9183f0e7370", body="/activate/Q2x-737_aZ9183kL") == []
            assert stored("") == []
    finally:
        peewee_log.setLevel(level)


def test_two_resends_at_once_leave_exactly_one_valid_link(app, pending, monkeypatch, record_figure):
    from conftest import ADMIN, sign_in
    from testkit.races import Overlap
    from webapp.activation import routes

    customer_id, _ = pending
    race = Overlap("resend()")
    race.patch(monkeypatch, routes, "resend")
    clients = [app.test_client(), app.test_client()]
    for c in clients:
        sign_in(c, *ADMIN)
    tokens = [csrf_token(c) for c in clients]
    barrier = threading.Barrier(2)
    codes = []

    def run(i):
        barrier.wait()
        codes.append(
            clients[i].post(f"/customers/{customer_id}/activation/resend", data={"csrf_token": tokens[i]}).status_code
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    together = race.assert_overlapped()
    assert codes == [303, 303]
    with app.app_context():
        live = ActivationToken.select().where(
            (ActivationToken.customer == customer_id)
            & ActivationToken.revoked_at.is_null()
            & ActivationToken.used_at.is_null()
        )
        assert live.count() == 1
    record_figure(
        "concurrency (two resends at once)", f"both inside resend() at once ({together:.0f} ms together): 1 valid link"
    )


def test_mail_server_down_during_activation_keeps_it_and_delivers_later(app, client, pending, smtp):
    customer_id, token = pending  # the activation email was delivered: its link is how the contact got here
    smtp.stop()
    assert submit_activation(client, token).status_code == 303
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.ACTIVE
        deliver_due()  # the server is down: nothing lost, all still queued
        waiting = OutboxEmail.select().where(OutboxEmail.status == OutboxEmail.QUEUED).count()
        assert waiting == 2  # the welcome, the admin's notice
        smtp.start()
        OutboxEmail.update(next_attempt_at=utcnow()).execute()
        deliver_due()
        assert deliver_due() == 0
        assert OutboxEmail.select().where(OutboxEmail.status != OutboxEmail.SENT).count() == 0
    subjects = [m["Subject"] for m in smtp.wait_for(1 + waiting)[1:]]
    assert len(subjects) == waiting and len(set(subjects)) == waiting  # each delivered exactly once


def test_a_reused_token_row_id_never_inherits_an_earlier_charge(app, admin_client, client, pending, smtp):
    """The gateway remembers each idempotency key's result. Keys come from the link itself, not
    its row id, which comes round again (SQLite reuses a deleted row's id; a reset database
    starts over): a new link that got an old id must not be handed the old link's payment."""
    first_id, first_token = pending
    hidden = activation_form(client, first_token)
    assert submit_activation(client, first_token, hidden=hidden).status_code == 303  # charged, 4242
    second_id, second_token = create_pending_customer(
        app, admin_client, smtp, business_name="Second Link Ltd", email="second@example.com"
    )
    with app.app_context():
        old = ActivationToken.get(ActivationToken.customer == first_id)
        ActivationToken.delete().where(ActivationToken.id == old.id).execute()
        ActivationToken.update(id=old.id).where(ActivationToken.customer == second_id).execute()
    # The same attempt key as the first link's paid attempt, and a card that is declined.
    second_hidden = {**activation_form(client, second_token), "attempt": hidden["attempt"]}
    response = submit_activation(client, second_token, card="4000 0000 0000 0002", hidden=second_hidden)
    assert response.status_code == 422
    assert "Your card was declined." in response.get_data(as_text=True)
    with app.app_context():
        assert Customer.get_by_id(second_id).status == Customer.PENDING
        assert Payment.select().where(Payment.customer == second_id).count() == 0
