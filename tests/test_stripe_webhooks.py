"""A card payment confirmed at Stripe is never lost (issue 13, item 2).

Stripe is the fake in tests/stripe_stub.py (only the stripe library's HTTP client is replaced);
webhook events are signed with Stripe's real scheme: `t=<timestamp>,v1=<HMAC-SHA256 of
"<timestamp>.<payload>" keyed with the endpoint's signing secret>`.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time

import pytest

from conftest import csrf_token
from testkit.activation import PASSWORD, create_pending_customer
from testkit.mail import emailed_link, token_of
from testkit.stripe import (  # noqa: F401 (fixtures)
    FIELDS,
    hidden,
    pay_in_browser,
    post_back,
    stripe_http,
    stripe_keys,
)
from testkit.stripe_stub import sign
from webapp.ledger import customer_balance
from webapp.models import (
    ActivationToken,
    AuditEvent,
    Customer,
    LedgerEntry,
    Payment,
    StripeEvent,
    StripeIntent,
    User,
    WhiteLabel,
    utcnow,
)


@pytest.fixture
def webhook_secret(app, stripe_http):
    secret = "whsec_" + secrets.token_urlsafe(24)
    with app.app_context():
        WhiteLabel.update(stripe_webhook_secret=secret).where(WhiteLabel.slug == "demo-telecom").execute()
    return secret


@pytest.fixture
def pending(smtp, app, admin_client, stripe_http):
    return create_pending_customer(app, admin_client, smtp)


def endpoint(app) -> str:
    with app.app_context():
        return f"/stripe/webhook/{WhiteLabel.get(WhiteLabel.slug == 'demo-telecom').id}"


def deliver(app, stripe_http, secret, kind, intent_id, *, payload=None, timestamp=None, event_id=None):
    """Stripe posting one event to the white-label's endpoint."""
    payload = payload or stripe_http.event(kind, intent_id, event_id=event_id)
    return app.test_client().post(
        endpoint(app),
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, secret, timestamp)},
    )


def money_state(app, customer_id):
    with app.app_context():
        return {
            "status": Customer.get_by_id(customer_id).status,
            "payments": Payment.select().where(Payment.customer == customer_id).count(),
            "ledger": LedgerEntry.select().where(LedgerEntry.customer == customer_id).count(),
            "balance": customer_balance(Customer.get_by_id(customer_id)),
            "events": StripeEvent.select().count(),
        }


def newest_link(app, smtp, customer_id) -> str:
    """The token of the newest activation link the customer's contact received by email."""
    with app.app_context():
        recipient = Customer.get_by_id(customer_id).contact_email
    return token_of(emailed_link(app, smtp, recipient))


def finish(client, token, **overrides):
    """The customer, back on the link, sets a password and accepts the terms (nothing else asked)."""
    html = client.get(f"/activate/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    attempt = re.search(r'id="attempt" name="attempt" type="hidden" value="([^"]*)"', html).group(1)
    data = {
        "csrf_token": csrf,
        "attempt": attempt,
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "accept_terms": "y",
        **overrides,
    }
    return client.post(f"/activate/{token}", data=data)


# --- The browser closes after Stripe.js confirmed the card -------------------------------------


def test_browser_closed_after_paying_the_webhook_records_it_and_the_link_asks_only_for_a_password(
    app, client, pending, stripe_http, webhook_secret
):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http, brand="visa", last4="4242")
    # The browser never posts back. Stripe tells us instead.
    response = deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id)
    assert response.status_code == 200
    state = money_state(app, customer_id)
    assert state == {"status": "pending_activation", "payments": 1, "ledger": 1, "balance": 6000, "events": 1}
    with app.app_context():
        payment = Payment.get(Payment.customer == customer_id)
        assert (payment.reference, payment.amount, payment.card_brand, payment.card_last4) == (
            intent_id,
            6000,
            "Visa",
            "4242",
        )
        assert StripeIntent.get(StripeIntent.intent_id == intent_id).status == StripeIntent.RECEIVED

    # Opening the link again: the payment is acknowledged, and only what is missing is asked.
    page = client.get(f"/activate/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "We have received your payment of NZ$60.00 by Visa ending 4242" in html
    assert 'name="opening_balance"' not in html and 'id="card-element"' not in html
    assert "js.stripe.com" not in html and "js.stripe.com" not in page.headers["Content-Security-Policy"]
    assert 'name="password"' in html and 'name="accept_terms"' in html
    # A second payment cannot even be started.
    again = client.post(
        f"/activate/{token}/payment", data={**hidden(client, token), **FIELDS}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 204 and again.headers["HX-Redirect"] == f"/activate/{token}"
    assert len(stripe_http.intents) == 1

    response = finish(client, token)
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    assert money_state(app, customer_id) == {
        "status": "active",
        "payments": 1,
        "ledger": 1,
        "balance": 6000,
        "events": 1,
    }
    with app.app_context():
        user = User.get(User.email == "hana@matai-joinery.example.com")
        assert Payment.get(Payment.customer == customer_id).created_by_id == user.id
        assert StripeIntent.get(StripeIntent.intent_id == intent_id).status == StripeIntent.RECORDED
    assert len(stripe_http.intents) == 1 and stripe_http.refunds == []


def test_the_missing_password_comes_back_with_errors_and_still_no_second_payment(
    app, client, pending, stripe_http, webhook_secret
):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id)
    response = finish(client, token, confirm_password="something-else-entirely-42", accept_terms="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The passwords do not match." in html and "Accept the terms of service" in html
    assert "We have received your payment of NZ$60.00" in html
    assert money_state(app, customer_id)["status"] == "pending_activation"


def test_an_event_delivered_twice_changes_nothing(app, client, pending, stripe_http, webhook_secret):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    payload = stripe_http.event("payment_intent.succeeded", intent_id)
    assert deliver(app, stripe_http, webhook_secret, None, None, payload=payload).status_code == 200
    once = money_state(app, customer_id)
    assert deliver(app, stripe_http, webhook_secret, None, None, payload=payload).status_code == 200
    assert money_state(app, customer_id) == once
    # Another event about the same payment (Stripe may send more than one): still recorded once.
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id).status_code == 200
    assert {**money_state(app, customer_id), "events": once["events"]} == once
    assert once["payments"] == 1 and once["ledger"] == 1 and once["events"] == 1


def test_the_event_before_the_browsers_post_back_completes_without_a_second_record(
    app, client, pending, stripe_http, webhook_secret
):
    customer_id, token = pending
    fields, intent_id = pay_in_browser(client, token, stripe_http)
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id).status_code == 200
    response = post_back(client, token, fields, intent_id)
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    assert money_state(app, customer_id) == {
        "status": "active",
        "payments": 1,
        "ledger": 1,
        "balance": 6000,
        "events": 1,
    }
    # And the other way round: the post-back first, the event after it changes nothing.
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id).status_code == 200
    assert money_state(app, customer_id)["payments"] == 1 and money_state(app, customer_id)["ledger"] == 1


def test_the_post_back_first_then_the_event_records_once(app, client, pending, stripe_http, webhook_secret):
    customer_id, token = pending
    fields, intent_id = pay_in_browser(client, token, stripe_http)
    assert post_back(client, token, fields, intent_id).status_code == 303
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id).status_code == 200
    assert money_state(app, customer_id) == {
        "status": "active",
        "payments": 1,
        "ledger": 1,
        "balance": 6000,
        "events": 1,
    }


# --- Refused deliveries -------------------------------------------------------------------------


def test_a_wrong_signature_is_400_and_records_nothing(app, client, pending, stripe_http, webhook_secret):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    forged = "whsec_" + secrets.token_urlsafe(24)
    response = deliver(app, stripe_http, forged, "payment_intent.succeeded", intent_id)
    assert response.status_code == 400
    assert money_state(app, customer_id) == {
        "status": "pending_activation",
        "payments": 0,
        "ledger": 0,
        "balance": 0,
        "events": 0,
    }
    # Unsigned, or signed over another body, is the same.
    payload = stripe_http.event("payment_intent.succeeded", intent_id)
    client = app.test_client()
    assert client.post(endpoint(app), data=payload, content_type="application/json").status_code == 400
    tampered = payload.replace('"livemode": false', '"livemode": true')
    assert (
        client.post(
            endpoint(app),
            data=tampered,
            content_type="application/json",
            headers={"Stripe-Signature": sign(payload, webhook_secret)},
        ).status_code
        == 400
    )
    assert money_state(app, customer_id)["payments"] == 0
    with app.app_context():
        assert StripeIntent.get(StripeIntent.intent_id == intent_id).status == StripeIntent.CREATED


def test_an_old_timestamp_is_400_and_records_nothing(app, client, pending, stripe_http, webhook_secret):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    response = deliver(
        app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id, timestamp=int(time.time()) - 301
    )  # Stripe's default tolerance is 300 s
    assert response.status_code == 400
    assert money_state(app, customer_id)["payments"] == 0 and money_state(app, customer_id)["events"] == 0


def test_without_a_stored_signing_secret_the_endpoint_refuses(app, client, pending, stripe_http):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    response = deliver(app, stripe_http, "whsec_" + secrets.token_urlsafe(24), "payment_intent.succeeded", intent_id)
    assert response.status_code == 400
    assert money_state(app, customer_id)["payments"] == 0
    assert app.test_client().post("/stripe/webhook/999999", data="{}").status_code == 404


def test_unknown_event_types_are_acknowledged_and_ignored(app, client, pending, stripe_http, webhook_secret):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    response = deliver(app, stripe_http, webhook_secret, "charge.succeeded", intent_id)
    assert response.status_code == 200
    assert money_state(app, customer_id) == {
        "status": "pending_activation",
        "payments": 0,
        "ledger": 0,
        "balance": 0,
        "events": 0,
    }


def test_the_white_labels_own_shop_payments_are_acknowledged_and_left_alone(
    app, pending, stripe_http, stripe_keys, webhook_secret
):
    theirs = stripe_http.create_intent_directly(
        stripe_keys["secret"], amount=6000, currency="nzd", metadata={"order": "42"}
    )
    stripe_http.confirm(theirs)
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", theirs).status_code == 200
    with app.app_context():
        assert (
            Payment.select().count() == 0 and StripeIntent.select().where(StripeIntent.intent_id == theirs).count() == 0
        )
    assert stripe_http.refunds == []


def test_failed_and_canceled_events_mark_the_intent_and_a_later_success_still_counts(
    smtp, app, client, pending, stripe_http, webhook_secret
):
    customer_id, token = pending
    fields, intent_id = pay_in_browser(client, token, stripe_http, succeed=False)
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.payment_failed", intent_id).status_code == 200
    with app.app_context():
        assert StripeIntent.get(StripeIntent.intent_id == intent_id).status == StripeIntent.FAILED
    # Another card in the same page succeeds: the failure was not the end of it.
    stripe_http.confirm(intent_id)
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id).status_code == 200
    # A late copy of the failure changes nothing.
    stripe_http.intents[intent_id]["status"] = "succeeded"
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.payment_failed", intent_id).status_code == 200
    with app.app_context():
        assert StripeIntent.get(StripeIntent.intent_id == intent_id).status == StripeIntent.RECEIVED
    assert money_state(app, customer_id)["payments"] == 1

    other_id, other_token = create_pending_customer(
        app, client_for_admin(app), smtp, business_name="Totara Ltd", email="t@example.com"
    )
    other_client = app.test_client()
    _, unpaid = pay_in_browser(other_client, other_token, stripe_http, succeed=False)
    stripe_http.cancel(unpaid)
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.canceled", unpaid).status_code == 200
    with app.app_context():
        assert StripeIntent.get(StripeIntent.intent_id == unpaid).status == StripeIntent.CANCELED
        assert Payment.select().where(Payment.customer == other_id).count() == 0


def client_for_admin(app):
    from conftest import ADMIN, sign_in

    client = app.test_client()
    assert sign_in(client, *ADMIN).status_code == 303
    return client


def test_stripe_unreachable_during_an_event_is_503_so_stripe_delivers_it_again(
    app, client, pending, stripe_http, webhook_secret
):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    payload = stripe_http.event("payment_intent.succeeded", intent_id)
    stripe_http.down = True
    assert deliver(app, stripe_http, webhook_secret, None, None, payload=payload).status_code == 503
    assert money_state(app, customer_id)["payments"] == 0 and money_state(app, customer_id)["events"] == 0
    stripe_http.down = False
    assert deliver(app, stripe_http, webhook_secret, None, None, payload=payload).status_code == 200
    assert money_state(app, customer_id)["payments"] == 1


def test_failed_signatures_are_rate_limited_per_address_and_stripes_deliveries_are_not(
    app, client, pending, stripe_http, webhook_secret
):
    app.config["STRIPE_WEBHOOK_RATE_LIMIT"] = "3 per minute"
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    for _ in range(5):  # good deliveries never count
        assert deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id).status_code == 200
    forged = "whsec_" + secrets.token_urlsafe(24)
    statuses = [deliver(app, stripe_http, forged, "payment_intent.succeeded", intent_id).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


# --- Never finished: refunded, and the administrator sees it ----------------------------------


def test_a_received_payment_is_refunded_when_the_link_expires_and_the_tracker_says_so(
    app, admin_client, client, pending, stripe_http, webhook_secret, runner
):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id)
    html = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Payment received" in html and "NZ$60.00 by Visa ending 4242" in html
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(
            ActivationToken.customer == customer_id
        ).execute()
    result = runner.invoke(args=["expire-activations"])
    assert result.exit_code == 0, result.output
    assert stripe_http.refunded_intents() == [intent_id]
    _, path, sent = next(r for r in stripe_http.requests if r[1] == "/v1/refunds")
    assert sent["payment_intent"] == intent_id and sent["_idempotency"] == f"refund_{intent_id}"
    with app.app_context():
        payment = Payment.get(Payment.customer == customer_id)
        assert payment.status == Payment.REFUNDED and payment.refunded_at is not None
        debit = LedgerEntry.get((LedgerEntry.customer == customer_id) & (LedgerEntry.kind == LedgerEntry.DEBIT))
        assert debit.amount == 6000 and "refunded to Visa ending 4242" in debit.reason and "expired" in debit.reason
        assert AuditEvent.select().where(AuditEvent.action == "activation_payment_refunded").count() == 1
    assert money_state(app, customer_id) == {"status": "expired", "payments": 1, "ledger": 2, "balance": 0, "events": 1}
    html = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Payment refunded" in html and "NZ$60.00 to Visa ending 4242" in html
    # Running the job again refunds nothing more.
    assert runner.invoke(args=["expire-activations"]).exit_code == 0
    assert len(stripe_http.refunds) == 1 and money_state(app, customer_id)["ledger"] == 2
    # The expired link no longer works, and never asks for a second payment meanwhile.
    assert client.get(f"/activate/{token}").status_code == 410


def test_cancelling_the_customer_refunds_a_received_payment(
    app, admin_client, client, pending, stripe_http, webhook_secret
):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id)
    response = admin_client.post(
        f"/customers/{customer_id}/activation/cancel", data={"csrf_token": csrf_token(admin_client)}
    )
    assert response.status_code == 303
    assert stripe_http.refunded_intents() == [intent_id]
    assert money_state(app, customer_id) == {
        "status": "cancelled",
        "payments": 1,
        "ledger": 2,
        "balance": 0,
        "events": 1,
    }
    with app.app_context():
        debit = LedgerEntry.get((LedgerEntry.customer == customer_id) & (LedgerEntry.kind == LedgerEntry.DEBIT))
        assert "cancelled" in debit.reason
    assert "Payment refunded" in admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)


def test_a_refund_stripe_did_not_answer_is_tried_again_by_the_next_run(
    app, client, pending, stripe_http, webhook_secret, runner
):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id)
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(
            ActivationToken.customer == customer_id
        ).execute()
    stripe_http.down = True
    assert runner.invoke(args=["expire-activations"]).exit_code == 0
    assert stripe_http.refunds == [] and money_state(app, customer_id)["balance"] == 6000
    stripe_http.down = False
    assert runner.invoke(args=["expire-activations"]).exit_code == 0
    assert stripe_http.refunded_intents() == [intent_id] and money_state(app, customer_id)["balance"] == 0


def test_a_resend_keeps_the_received_payment_for_the_customer(
    smtp, app, admin_client, client, pending, stripe_http, webhook_secret, runner
):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_id)
    assert (
        admin_client.post(
            f"/customers/{customer_id}/activation/resend", data={"csrf_token": csrf_token(admin_client)}
        ).status_code
        == 303
    )
    new_token = newest_link(app, smtp, customer_id)
    assert new_token != token
    assert runner.invoke(args=["expire-activations"]).exit_code == 0  # the old link is revoked, the new one works
    assert stripe_http.refunds == []
    assert "We have received your payment of NZ$60.00 by Visa ending 4242" in client.get(
        f"/activate/{new_token}"
    ).get_data(as_text=True)
    assert finish(client, new_token).status_code == 303
    assert money_state(app, customer_id) == {
        "status": "active",
        "payments": 1,
        "ledger": 1,
        "balance": 6000,
        "events": 1,
    }


def test_a_payment_made_after_another_tab_finished_is_refunded(app, client, pending, stripe_http, webhook_secret):
    """Two tabs: one pays and activates; the other pays too and closes. The second payment has
    nothing to pay for and goes back to the card when Stripe reports it."""
    customer_id, token = pending
    fields_a, intent_a = pay_in_browser(client, token, stripe_http)
    other = app.test_client()
    _, intent_b = pay_in_browser(other, token, stripe_http)
    assert post_back(client, token, fields_a, intent_a).status_code == 303
    assert deliver(app, stripe_http, webhook_secret, "payment_intent.succeeded", intent_b).status_code == 200
    assert stripe_http.refunded_intents() == [intent_b]
    assert money_state(app, customer_id) == {
        "status": "active",
        "payments": 1,
        "ledger": 1,
        "balance": 6000,
        "events": 1,
    }
    with app.app_context():
        assert StripeIntent.get(StripeIntent.intent_id == intent_b).status == StripeIntent.REFUNDED


def test_the_event_and_the_post_back_at_the_same_moment_record_once(
    smtp, app, admin_client, stripe_http, webhook_secret, record_figure
):
    """Three activations, each with Stripe's event and the browser's post-back let go together."""
    import threading

    for round_ in range(3):
        customer_id, token = create_pending_customer(
            app, admin_client, smtp, business_name=f"Race {round_} Ltd", email=f"race{round_}@example.com"
        )
        browser = app.test_client()
        fields, intent_id = pay_in_browser(browser, token, stripe_http)
        payload = stripe_http.event("payment_intent.succeeded", intent_id)
        barrier = threading.Barrier(2)
        results = {}

        # (This round's objects bound as defaults: each thread is started and joined in this round.)
        def event(barrier=barrier, results=results, payload=payload):
            barrier.wait()
            results["event"] = deliver(app, stripe_http, webhook_secret, None, None, payload=payload).status_code

        def post(barrier=barrier, results=results, browser=browser, token=token, fields=fields, intent_id=intent_id):
            barrier.wait()
            results["post"] = post_back(browser, token, fields, intent_id).status_code

        threads = [threading.Thread(target=event), threading.Thread(target=post)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert results == {"event": 200, "post": 303}
        state = money_state(app, customer_id)
        assert (state["status"], state["payments"], state["ledger"], state["balance"]) == ("active", 1, 1, 6000)
    assert stripe_http.refunds == []
    record_figure(
        "12 stripe race, activation",
        "3 activations with Stripe's event and the browser's post-back released "
        "together: 1 payment, 1 credit, 0 refunds each",
    )


def test_an_event_is_not_acknowledged_while_the_secret_key_is_unreadable(
    app, client, pending, stripe_http, stripe_keys, webhook_secret
):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    payload = stripe_http.event("payment_intent.succeeded", intent_id)
    with app.app_context():
        WhiteLabel.update(stripe_secret_key="").where(WhiteLabel.slug == "demo-telecom").execute()
    assert deliver(app, stripe_http, webhook_secret, None, None, payload=payload).status_code == 503
    assert money_state(app, customer_id)["events"] == 0
    with app.app_context():
        WhiteLabel.update(stripe_secret_key=stripe_keys["secret"]).where(WhiteLabel.slug == "demo-telecom").execute()
    assert deliver(app, stripe_http, webhook_secret, None, None, payload=payload).status_code == 200
    assert money_state(app, customer_id)["payments"] == 1
