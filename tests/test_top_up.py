"""Topping up: the amount first, then a payment step whose button says the exact amount, with a
way back to change it (issue 13, item 1); and top-ups by Stripe, credited exactly once whoever
reports the payment first: the browser, the webhook or reconciliation (item 2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets

import pytest

from conftest import card_data_in_log_records
from testkit.activation import create_pending_customer, submit_activation
from testkit.stripe import stripe_http, stripe_keys  # noqa: F401 (fixtures)
from testkit.stripe_stub import sign
from webapp.models import Customer, LedgerEntry, Payment, StripeIntent, User, WhiteLabel, utcnow

CARD = {
    "card_name": "Hana Kereama",
    "card_number": "4242 4242 4242 4242",
    "card_expiry": "12/34",
    "security_code": "737",
}


@pytest.fixture
def activated(smtp, app, admin_client):
    """A customer activated by its contact (sandbox, NZ$75.00): (customer id, signed-in contact)."""
    customer_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    return customer_id, contact


@pytest.fixture
def on_stripe(activated, stripe_http):
    """The same customer after its white-label moved to Stripe."""
    return activated


def fields(html: str) -> dict:
    found = dict(re.findall(r'<input[^>]*?name="(csrf_token|attempt|amount)"[^>]*?value="([^"]*)"', html))
    found.update(
        {m[1]: m[0] for m in re.findall(r'<input[^>]*?value="([^"]*)"[^>]*?name="(csrf_token|attempt|amount)"', html)}
    )
    return found


def balance(app, customer_id) -> int:
    from webapp.ledger import customer_balance

    with app.app_context():
        return customer_balance(Customer.get_by_id(customer_id))


def top_ups(app, customer_id) -> int:
    with app.app_context():
        return Payment.select().where((Payment.customer == customer_id) & (Payment.purpose == "top_up")).count()


def choose_amount(contact, customer_id, amount: str, htmx=False):
    page = contact.get(f"/account/{customer_id}/top-up").get_data(as_text=True)
    return contact.post(
        f"/account/{customer_id}/top-up",
        data={**fields(page), "amount": amount},
        headers={"HX-Request": "true"} if htmx else {},
    )


# --- Sandbox: two plain forms ------------------------------------------------------------------


def test_the_amount_comes_first_and_the_payment_step_says_it_on_the_button(app, activated):
    customer_id, contact = activated
    page = contact.get(f"/account/{customer_id}/top-up").get_data(as_text=True)
    assert 'name="amount"' in page and 'name="card_number"' not in page  # no card before the amount
    response = choose_amount(contact, customer_id, "20.50")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/account/{customer_id}/top-up/pay?amount=2050"
    assert balance(app, customer_id) == 7500  # nothing charged yet
    pay = contact.get(response.headers["Location"])
    html = pay.get_data(as_text=True)
    assert pay.status_code == 200
    assert re.search(r'<button type="submit" class="button">\s*Pay NZ\$20\.50\s*</button>', html)
    assert "You are adding <strong>NZ$20.50</strong> to the balance of Kowhai Bakery" in html
    assert f'href="/account/{customer_id}/top-up?amount=20.50"' in html and ">Change amount<" in html
    assert 'name="card_number"' in html and 'autocomplete="cc-number"' in html


def test_paying_charges_exactly_the_amount_on_the_button(app, activated):
    customer_id, contact = activated
    pay_url = choose_amount(contact, customer_id, "20.50").headers["Location"]
    page = contact.get(pay_url).get_data(as_text=True)
    response = contact.post(pay_url, data={**fields(page), **CARD})
    assert response.status_code == 303 and response.headers["Location"] == f"/account/#balance-{customer_id}"
    assert "NZ$20.50 has been added to your balance." in contact.get("/account/").get_data(as_text=True)
    assert balance(app, customer_id) == 7500 + 2050
    with app.app_context():
        payment = Payment.get((Payment.customer == customer_id) & (Payment.purpose == "top_up"))
        assert (payment.amount, payment.card_brand, payment.card_last4) == (2050, "Visa", "4242")
    # The same page posted again (a double click) charges once.
    assert contact.post(pay_url, data={**fields(page), **CARD}).status_code == 303
    assert top_ups(app, customer_id) == 1 and balance(app, customer_id) == 9550


def test_change_amount_goes_back_with_the_amount_filled_in(app, activated):
    customer_id, contact = activated
    pay_url = choose_amount(contact, customer_id, "20.50").headers["Location"]
    back = contact.get(f"/account/{customer_id}/top-up?amount=20.50").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="amount"[^>]*value="20.50"', back)
    response = choose_amount(contact, customer_id, "30")
    assert response.headers["Location"] == f"/account/{customer_id}/top-up/pay?amount=3000"
    assert pay_url != response.headers["Location"]


def test_the_amount_posted_with_the_card_is_checked_again(app, activated):
    customer_id, contact = activated
    pay_url = choose_amount(contact, customer_id, "20.50").headers["Location"]
    page = contact.get(pay_url).get_data(as_text=True)
    for tampered in ("999999999", "1", "abc", ""):
        response = contact.post(pay_url, data={**fields(page), **CARD, "amount": tampered})
        assert response.status_code in (303, 422)
        if response.status_code == 303:
            assert "/top-up" in response.headers["Location"] and "/pay" not in response.headers["Location"]
    assert top_ups(app, customer_id) == 0 and balance(app, customer_id) == 7500
    # A pay page opened with an amount out of bounds sends you back to choose one.
    assert contact.get(f"/account/{customer_id}/top-up/pay?amount=5").status_code == 303
    assert contact.get(f"/account/{customer_id}/top-up/pay").status_code == 303


def test_a_declined_card_comes_back_on_the_payment_step_with_the_amount_kept(app, activated):
    customer_id, contact = activated
    pay_url = choose_amount(contact, customer_id, "20.50").headers["Location"]
    page = contact.get(pay_url).get_data(as_text=True)
    response = contact.post(pay_url, data={**fields(page), **CARD, "card_number": "4000 0000 0000 0002"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your card was declined." in html and 'class="error-summary"' in html
    assert re.search(r"Pay NZ\$20\.50", html)
    assert 'value="4000 0000 0000 0002"' not in html and 'value="737"' not in html  # the card is never shown again
    assert 'value="Hana Kereama"' in html
    assert top_ups(app, customer_id) == 0


def test_a_wrong_amount_comes_back_with_the_error_and_what_was_typed(app, activated):
    customer_id, contact = activated
    response = choose_amount(contact, customer_id, "5")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an amount from NZ$10.00 to NZ$5,000.00." in html and 'class="error-summary"' in html
    assert re.search(r'<input[^>]*name="amount"[^>]*value="5"', html)


def test_with_htmx_each_step_swaps_in_place(app, activated):
    customer_id, contact = activated
    response = choose_amount(contact, customer_id, "20.50", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == f"/account/{customer_id}/top-up/pay?amount=2050"
    assert (
        html.lstrip().startswith("<title>Pay NZ$20.50 – Kowhai Bakery")
        and 'id="top-up"' in html
        and "<html" not in html
    )
    assert "Pay NZ$20.50" in html and 'hx-post="/account/' in html and "hx-disabled-elt" in html
    back = contact.get(f"/account/{customer_id}/top-up?amount=20.50", headers={"HX-Request": "true"})
    assert 'id="top-up"' in back.get_data(as_text=True) and "<html" not in back.get_data(as_text=True)
    bad = choose_amount(contact, customer_id, "nothing", htmx=True)
    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)
    page = contact.get(f"/account/{customer_id}/top-up/pay?amount=2050").get_data(as_text=True)
    paid = contact.post(
        f"/account/{customer_id}/top-up/pay?amount=2050", data={**fields(page), **CARD}, headers={"HX-Request": "true"}
    )
    assert paid.status_code == 204 and paid.headers["HX-Redirect"] == f"/account/#balance-{customer_id}"
    assert balance(app, customer_id) == 9550


def test_nothing_of_the_card_is_stored_or_logged(app, activated, caplog):
    customer_id, contact = activated
    pay_url = choose_amount(contact, customer_id, "20.50").headers["Location"]
    page = contact.get(pay_url).get_data(as_text=True)
    contact.post(pay_url, data={**fields(page), **CARD, "security_code": "9183"})
    assert caplog.records  # the payment's SQL and messages were logged, and are what is scanned
    # The exact scan (conftest.py): the card number and the code as values, parameters or words,
    # not digits that happen to sit in a timestamp's microseconds ("591838" failed a clean run).
    assert card_data_in_log_records(caplog.records) == []
    assert "4242424242424242" not in caplog.text and "4242 4242 4242 4242" not in caplog.text


# --- Stripe -------------------------------------------------------------------------------------


def stripe_pay_page(contact, customer_id, amount="20.50"):
    pay_url = choose_amount(contact, customer_id, amount).headers["Location"]
    return pay_url, contact.get(pay_url)


def create_intent(contact, customer_id, page_html, amount="2050"):
    data = {**fields(page_html), "amount": amount}
    return contact.post(f"/account/{customer_id}/top-up/intent", data=data, headers={"HX-Request": "true"})


def confirmed_top_up(app, contact, customer_id, stripe_http):
    """Up to the moment the browser would post back: (pay URL, page fields, confirmed intent id)."""
    pay_url, page = stripe_pay_page(contact, customer_id)
    html = page.get_data(as_text=True)
    response = create_intent(contact, customer_id, html)
    assert response.status_code == 204, response.get_data(as_text=True)[:300]
    intent_id = json.loads(response.headers["HX-Trigger"])["stripe-confirm"]["intent"]
    stripe_http.confirm(intent_id, brand="mastercard", last4="4444")
    return pay_url, fields(html), intent_id


def test_stripe_top_up_is_confirmed_by_stripe_js_and_recorded(app, on_stripe, stripe_http, stripe_keys):
    customer_id, contact = on_stripe
    pay_url, page = stripe_pay_page(contact, customer_id)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<script src="https://js.stripe.com/v3/"' in html and stripe_keys["publishable"] in html
    assert "https://js.stripe.com" in page.headers["Content-Security-Policy"]
    assert 'name="card_number"' not in html and stripe_keys["secret"] not in html
    assert re.search(r"Pay NZ\$20\.50", html) and "Card payments need JavaScript" in html
    response = create_intent(contact, customer_id, html)
    assert response.status_code == 204
    intent_id = json.loads(response.headers["HX-Trigger"])["stripe-confirm"]["intent"]
    _, path, sent = stripe_http.requests[-1]
    with app.app_context():
        white_label_id = WhiteLabel.get(WhiteLabel.slug == "demo-telecom").id
        actor = User.get(User.email == "owner@kowhai-bakery.example.com")
    key = "top_" + hashlib.sha256(f"{customer_id}:{actor.id}:{fields(html)['attempt']}:2050".encode()).hexdigest()[:40]
    assert (path, sent["amount"], sent["currency"], sent["_idempotency"], sent["_api_key"]) == (
        "/v1/payment_intents",
        "2050",
        "nzd",
        key,
        stripe_keys["secret"],
    )
    assert stripe_http.intents[intent_id]["metadata"] == {
        "purpose": "top_up",
        "customer_id": str(customer_id),
        "white_label_id": str(white_label_id),
        "top_up_attempt": key,
    }
    stripe_http.confirm(intent_id, brand="mastercard", last4="4444")
    response = contact.post(pay_url, data={**fields(html), "payment_intent": intent_id})
    assert response.status_code == 303 and response.headers["Location"] == f"/account/#balance-{customer_id}"
    assert balance(app, customer_id) == 9550 and top_ups(app, customer_id) == 1
    with app.app_context():
        payment = Payment.get((Payment.customer == customer_id) & (Payment.purpose == "top_up"))
        assert (payment.reference, payment.card_brand, payment.card_last4, payment.created_by_id) == (
            intent_id,
            "Mastercard",
            "4444",
            actor.id,
        )
        assert StripeIntent.get(StripeIntent.intent_id == intent_id).status == StripeIntent.RECORDED


def test_stripe_top_up_credited_once_via_webhook_and_the_browsers_post(app, on_stripe, stripe_http):
    customer_id, contact = on_stripe
    secret = "whsec_" + secrets.token_urlsafe(24)
    with app.app_context():
        white_label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        WhiteLabel.update(stripe_webhook_secret=secret).where(WhiteLabel.id == white_label.id).execute()

    def webhook(intent_id):
        payload = stripe_http.event("payment_intent.succeeded", intent_id)
        return app.test_client().post(
            f"/stripe/webhook/{white_label.id}",
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": sign(payload, secret)},
        )

    # The webhook first, then the browser's post.
    pay_url, page, intent_id = confirmed_top_up(app, contact, customer_id, stripe_http)
    assert webhook(intent_id).status_code == 200
    assert balance(app, customer_id) == 9550
    assert contact.post(pay_url, data={**page, "payment_intent": intent_id}).status_code == 303
    assert webhook(intent_id).status_code == 200
    assert balance(app, customer_id) == 9550 and top_ups(app, customer_id) == 1
    # The browser's post first, then the webhook.
    pay_url, page, second = confirmed_top_up(app, contact, customer_id, stripe_http)
    assert contact.post(pay_url, data={**page, "payment_intent": second}).status_code == 303
    assert webhook(second).status_code == 200
    assert balance(app, customer_id) == 9550 + 2050 and top_ups(app, customer_id) == 2
    with app.app_context():
        assert (
            LedgerEntry.select()
            .where((LedgerEntry.customer == customer_id) & LedgerEntry.reason.startswith("Top-up"))
            .count()
            == 2
        )


def test_stripe_top_up_found_by_reconciliation_when_the_browser_closed(app, on_stripe, stripe_http, runner):
    customer_id, contact = on_stripe
    _, _, intent_id = confirmed_top_up(app, contact, customer_id, stripe_http)  # and the browser closes
    with app.app_context():
        StripeIntent.update(created_at=utcnow() - dt.timedelta(minutes=16)).where(
            StripeIntent.intent_id == intent_id
        ).execute()
    result = runner.invoke(args=["reconcile-payments"])
    assert result.exit_code == 0 and "recorded: 1" in result.output, result.output
    assert balance(app, customer_id) == 9550 and top_ups(app, customer_id) == 1
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert top_ups(app, customer_id) == 1


def test_an_unpaid_top_up_intent_is_cancelled_after_a_day(app, on_stripe, stripe_http, runner):
    customer_id, contact = on_stripe
    _, page = stripe_pay_page(contact, customer_id)
    intent_id = json.loads(create_intent(contact, customer_id, page.get_data(as_text=True)).headers["HX-Trigger"])[
        "stripe-confirm"
    ]["intent"]
    with app.app_context():
        StripeIntent.update(created_at=utcnow() - dt.timedelta(hours=2)).where(
            StripeIntent.intent_id == intent_id
        ).execute()
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert stripe_http.intents[intent_id]["status"] == "requires_payment_method"
    with app.app_context():
        StripeIntent.update(created_at=utcnow() - dt.timedelta(hours=25)).where(
            StripeIntent.intent_id == intent_id
        ).execute()
    assert runner.invoke(args=["reconcile-payments"]).exit_code == 0
    assert stripe_http.intents[intent_id]["status"] == "canceled"


def test_a_stripe_top_up_intent_for_another_amount_is_refused(app, on_stripe, stripe_http):
    customer_id, contact = on_stripe
    pay_url, page, intent_id = confirmed_top_up(app, contact, customer_id, stripe_http)
    # The same intent posted back from a page for another amount.
    response = contact.post(
        f"/account/{customer_id}/top-up/pay?amount=3000", data={**page, "amount": "3000", "payment_intent": intent_id}
    )
    assert response.status_code == 422 and "does not match" in response.get_data(as_text=True)
    assert top_ups(app, customer_id) == 0


def test_stripe_top_up_without_javascript_says_card_payments_need_it(app, on_stripe, stripe_http):
    customer_id, contact = on_stripe
    pay_url, page = stripe_pay_page(contact, customer_id)
    response = contact.post(pay_url, data=fields(page.get_data(as_text=True)))
    assert response.status_code == 422
    assert "Card payments need JavaScript turned on" in response.get_data(as_text=True)
    assert stripe_http.intents == {} and top_ups(app, customer_id) == 0


def test_stripe_down_when_starting_a_top_up_records_nothing(app, on_stripe, stripe_http):
    customer_id, contact = on_stripe
    _, page = stripe_pay_page(contact, customer_id)
    stripe_http.down = True
    response = create_intent(contact, customer_id, page.get_data(as_text=True))
    assert response.status_code == 422
    assert "The payment service did not answer" in response.get_data(as_text=True)
    with app.app_context():
        assert StripeIntent.select().count() == 0


def test_the_webhook_and_the_browsers_post_at_the_same_moment_credit_once(app, on_stripe, stripe_http, record_figure):
    import threading

    customer_id, contact = on_stripe
    secret = "whsec_" + secrets.token_urlsafe(24)
    with app.app_context():
        white_label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        WhiteLabel.update(stripe_webhook_secret=secret).where(WhiteLabel.id == white_label.id).execute()
    rounds = 5
    for _ in range(rounds):
        pay_url, page, intent_id = confirmed_top_up(app, contact, customer_id, stripe_http)
        payload = stripe_http.event("payment_intent.succeeded", intent_id)
        barrier = threading.Barrier(2)
        results = {}

        # (This round's objects bound as defaults: each thread is started and joined in this round.)
        def event(barrier=barrier, results=results, payload=payload):
            barrier.wait()
            results["event"] = (
                app.test_client()
                .post(
                    f"/stripe/webhook/{white_label.id}",
                    data=payload,
                    content_type="application/json",
                    headers={"Stripe-Signature": sign(payload, secret)},
                )
                .status_code
            )

        def post(barrier=barrier, results=results, pay_url=pay_url, page=page, intent_id=intent_id):
            barrier.wait()
            results["post"] = contact.post(pay_url, data={**page, "payment_intent": intent_id}).status_code

        threads = [threading.Thread(target=event), threading.Thread(target=post)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert results == {"event": 200, "post": 303}
    assert top_ups(app, customer_id) == rounds and balance(app, customer_id) == 7500 + rounds * 2050
    record_figure(
        "12 stripe race, top-up",
        f"{rounds} top-ups with Stripe's event and the browser's post released together: each credited once",
    )


def test_a_stripe_top_up_paid_for_another_customer_with_the_same_amount_is_refused(
    smtp, app, admin_client, on_stripe, stripe_http
):
    """Another customer's paid NZ$20.50 top-up posted back from this customer's page: refused,
    and nobody is credited through this page."""
    customer_id, contact = on_stripe
    with app.app_context():
        WhiteLabel.update(payment_gateway="sandbox").where(WhiteLabel.slug == "demo-telecom").execute()
    other_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@rata-cafe.example.com", business_name="Rata Cafe"
    )
    other = app.test_client()
    assert submit_activation(other, token).status_code == 303
    with app.app_context():
        WhiteLabel.update(payment_gateway="stripe").where(WhiteLabel.slug == "demo-telecom").execute()
    _, _, others_intent = confirmed_top_up(app, other, other_id, stripe_http)
    pay_url, page = stripe_pay_page(contact, customer_id)
    response = contact.post(pay_url, data={**fields(page.get_data(as_text=True)), "payment_intent": others_intent})
    assert response.status_code == 422 and "does not match" in response.get_data(as_text=True)
    assert top_ups(app, customer_id) == 0 and balance(app, customer_id) == 7500
    assert top_ups(app, other_id) == 0  # credited when Stripe or the other page reports it, not through this one
