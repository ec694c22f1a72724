"""Without a webhook, a scheduled job asks Stripe about every intent created but not settled
after 15 minutes and settles it as the webhook would (issue 13, item 2)."""

from __future__ import annotations

import datetime as dt

import pytest
from test_stripe_webhooks import finish, money_state

from testkit.activation import create_pending_customer
from testkit.stripe import pay_in_browser, stripe_http, stripe_keys  # noqa: F401 (fixtures)
from webapp.models import ActivationToken, Payment, StripeIntent, WhiteLabel, utcnow


@pytest.fixture
def pending(smtp, app, admin_client, stripe_http):
    return create_pending_customer(app, admin_client, smtp)


def age(app, intent_id: str, minutes: int) -> None:
    """The intent was created `minutes` ago."""
    with app.app_context():
        StripeIntent.update(created_at=utcnow() - dt.timedelta(minutes=minutes)).where(
            StripeIntent.intent_id == intent_id
        ).execute()


def status(app, intent_id: str) -> str:
    with app.app_context():
        return StripeIntent.get(StripeIntent.intent_id == intent_id).status


def test_reconciliation_settles_an_unrecorded_intent_after_15_minutes(app, client, pending, stripe_http, runner):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)  # paid; the browser closed; no webhook
    age(app, intent_id, 14)
    result = runner.invoke(args=["reconcile-payments"])
    assert result.exit_code == 0, result.output
    assert money_state(app, customer_id)["payments"] == 0  # too early: the browser may still post back
    assert status(app, intent_id) == StripeIntent.CREATED
    age(app, intent_id, 16)
    result = runner.invoke(args=["reconcile-payments"])
    assert result.exit_code == 0 and "received: 1" in result.output, result.output
    asked = [r for r in stripe_http.requests if r[0] == "get" and r[1] == f"/v1/payment_intents/{intent_id}"]
    assert asked and asked[-1][2]["expand[0]"] == "latest_charge"
    assert money_state(app, customer_id) == {
        "status": "pending_activation",
        "payments": 1,
        "ledger": 1,
        "balance": 6000,
        "events": 0,
    }
    assert "We have received your payment of NZ$60.00 by Visa ending 4242" in client.get(f"/activate/{token}").get_data(
        as_text=True
    )
    assert finish(client, token).status_code == 303
    # Settled: the next run leaves it alone and asks Stripe nothing more about it.
    before = len(stripe_http.requests)
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert len(stripe_http.requests) == before
    assert money_state(app, customer_id) == {
        "status": "active",
        "payments": 1,
        "ledger": 1,
        "balance": 6000,
        "events": 0,
    }


def test_the_worker_schedule_runs_reconciliation(app, client, pending, stripe_http):
    from webapp.extensions import db
    from webapp.schedule import run_schedule

    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    age(app, intent_id, 16)
    with app.app_context(), db.connection_context():
        run_schedule()
    assert money_state(app, customer_id)["payments"] == 1


def test_reconciliation_marks_declined_and_cancelled_intents(
    smtp, app, admin_client, client, pending, stripe_http, runner
):
    customer_id, token = pending
    _, declined = pay_in_browser(client, token, stripe_http, succeed=False)
    other_id, other_token = create_pending_customer(
        app, admin_client, smtp, business_name="Totara Ltd", email="t@example.com"
    )
    _, cancelled = pay_in_browser(app.test_client(), other_token, stripe_http, succeed=False)
    stripe_http.cancel(cancelled)
    age(app, declined, 20)
    age(app, cancelled, 20)
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert (status(app, declined), status(app, cancelled)) == (StripeIntent.FAILED, StripeIntent.CANCELED)
    with app.app_context():
        assert Payment.select().count() == 0


def test_an_unpaid_intent_whose_link_expired_is_cancelled_at_stripe(app, client, pending, stripe_http, runner):
    customer_id, token = pending
    from testkit.stripe import hidden, intent_of, start_payment

    intent_id = intent_of(start_payment(client, token, hidden(client, token)))  # never confirmed
    age(app, intent_id, 30)
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert status(app, intent_id) == StripeIntent.CREATED  # the link still works: it may yet be paid
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(
            ActivationToken.customer == customer_id
        ).execute()
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert status(app, intent_id) == StripeIntent.CANCELED
    assert stripe_http.intents[intent_id]["status"] == "canceled"
    _, _, sent = next(r for r in stripe_http.requests if r[1].endswith("/cancel"))
    assert sent["_idempotency"] == f"cancel_{intent_id}"


def test_with_a_webhook_reconciliation_waits_a_day_as_a_backstop(app, client, pending, stripe_http, runner):
    customer_id, token = pending
    with app.app_context():
        WhiteLabel.update(stripe_webhook_secret="whsec_" + "a" * 32).where(WhiteLabel.slug == "demo-telecom").execute()
    _, intent_id = pay_in_browser(client, token, stripe_http)
    age(app, intent_id, 60)
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert money_state(app, customer_id)["payments"] == 0  # the webhook reports it
    age(app, intent_id, 25 * 60)
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert money_state(app, customer_id)["payments"] == 1  # its event never came: found anyway


def test_stripe_unreachable_leaves_the_intent_for_the_next_run(app, client, pending, stripe_http, runner):
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    age(app, intent_id, 16)
    stripe_http.down = True
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert status(app, intent_id) == StripeIntent.CREATED
    stripe_http.down = False
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert status(app, intent_id) == StripeIntent.RECEIVED


def test_an_unreadable_secret_key_leaves_intents_for_when_it_is_entered_again(
    app, client, pending, stripe_http, stripe_keys, runner
):
    """A secret key no configured encryption key opens reads as not set: reconciliation must not
    give up on the white-label's intents, only wait until the key is entered again."""
    customer_id, token = pending
    _, intent_id = pay_in_browser(client, token, stripe_http)
    age(app, intent_id, 16)
    with app.app_context():
        WhiteLabel.update(stripe_secret_key="").where(WhiteLabel.slug == "demo-telecom").execute()
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert status(app, intent_id) == StripeIntent.CREATED
    with app.app_context():
        WhiteLabel.update(stripe_secret_key=stripe_keys["secret"]).where(WhiteLabel.slug == "demo-telecom").execute()
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert status(app, intent_id) == StripeIntent.RECEIVED
