import json
import re

import pytest

from activation_helpers import PASSWORD, create_pending_customer
from conftest import csrf_token
from stripe_stub import FakeStripeHTTP
from webapp.models import Customer, LedgerEntry, Payment, User, WhiteLabel


@pytest.fixture
def stripe_http(app):
    fake = FakeStripeHTTP()
    app.config["STRIPE_HTTP_CLIENT"] = fake
    with app.app_context():
        WhiteLabel.update(
            payment_gateway="stripe", stripe_publishable_key="pk_test_demo123", stripe_secret_key="sk_test_demo123456"
        ).where(WhiteLabel.slug == "demo-telecom").execute()
    return fake


@pytest.fixture
def pending(app, admin_client, stripe_http, smtp):
    return create_pending_customer(app, admin_client, smtp)


def hidden(client, token):
    html = client.get(f"/activate/{token}").get_data(as_text=True)
    return {
        "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1),
        "attempt": re.search(r'id="attempt" name="attempt" type="hidden" value="([^"]*)"', html).group(1),
    }


FIELDS = {"password": PASSWORD, "confirm_password": PASSWORD, "opening_balance": "60.00", "accept_terms": "y"}


def start_payment(client, token, hidden_fields, **overrides):
    return client.post(f"/activate/{token}/payment", data={**hidden_fields, **FIELDS, **overrides},
                       headers={"HX-Request": "true"})


def test_stripe_page_uses_elements_and_never_asks_for_the_card_itself(client, pending):
    _, token = pending
    response = client.get(f"/activate/{token}")
    html = response.get_data(as_text=True)
    assert '<script src="https://js.stripe.com/v3/"' in html
    assert 'data-publishable-key="pk_test_demo123"' in html
    assert 'name="card_number"' not in html and 'name="security_code"' not in html
    assert "sk_test_demo123456" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "https://js.stripe.com" in csp and "object-src 'none'" in csp and "unsafe-inline" not in csp
    # Other pages keep the strict policy.
    assert "stripe" not in client.get("/login").headers["Content-Security-Policy"]


def test_valid_form_creates_a_payment_intent_with_an_idempotency_key(client, pending, stripe_http):
    _, token = pending
    fields = hidden(client, token)
    response = start_payment(client, token, fields)
    assert response.status_code == 204
    trigger = json.loads(response.headers["HX-Trigger"])["stripe-confirm"]
    intent = stripe_http.intents[trigger["intent"]]
    assert trigger["clientSecret"] == intent["client_secret"]
    assert (intent["amount"], intent["currency"]) == (6000, "nzd")
    method, path, sent = stripe_http.requests[-1]
    assert path == "/v1/payment_intents" and sent["_idempotency"]
    # The same attempt again (a double click) gets the same intent, not a second one.
    again = json.loads(start_payment(client, token, fields).headers["HX-Trigger"])["stripe-confirm"]
    assert again["intent"] == trigger["intent"]
    assert len(stripe_http.intents) == 1


def test_invalid_form_comes_back_in_place_and_creates_no_intent(client, pending, stripe_http):
    _, token = pending
    response = start_payment(client, token, hidden(client, token), opening_balance="1")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith('<div id="activation-fields" data-manage-focus>')
    assert "The opening balance must be at least NZ$50.00." in html
    assert stripe_http.intents == {}


def test_confirmed_intent_activates_the_account(app, client, pending, stripe_http):
    customer_id, token = pending
    fields = hidden(client, token)
    intent_id = json.loads(start_payment(client, token, fields).headers["HX-Trigger"])["stripe-confirm"]["intent"]
    stripe_http.confirm(intent_id, brand="mastercard", last4="4444")
    response = client.post(f"/activate/{token}", data={**fields, **FIELDS, "payment_intent": intent_id})
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.ACTIVE
        payment = Payment.get(Payment.customer == customer_id)
        assert (payment.gateway, payment.reference, payment.amount) == ("stripe", intent_id, 6000)
        assert (payment.card_brand, payment.card_last4, payment.card_exp_year) == ("Mastercard", "4444", 2034)
        assert LedgerEntry.get(LedgerEntry.customer == customer_id).amount == 6000
        assert User.select().where(User.email == "hana@matai-joinery.example.com").exists()


def test_declined_intent_changes_nothing(app, client, pending, stripe_http):
    customer_id, token = pending
    fields = hidden(client, token)
    intent_id = json.loads(start_payment(client, token, fields).headers["HX-Trigger"])["stripe-confirm"]["intent"]
    stripe_http.confirm(intent_id, succeed=False)
    response = client.post(f"/activate/{token}", data={**fields, **FIELDS, "payment_intent": intent_id})
    assert response.status_code == 422
    assert "Your card was declined." in response.get_data(as_text=True)
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.PENDING
        assert Payment.select().count() == 0


def test_an_intent_for_another_amount_or_activation_is_refused(app, client, pending, stripe_http):
    customer_id, token = pending
    fields = hidden(client, token)
    intent_id = json.loads(start_payment(client, token, fields).headers["HX-Trigger"])["stripe-confirm"]["intent"]
    stripe_http.confirm(intent_id)
    response = client.post(f"/activate/{token}", data={**fields, **FIELDS, "opening_balance": "500.00", "payment_intent": intent_id})
    assert response.status_code == 422
    assert "does not match" in response.get_data(as_text=True)
    with app.app_context():
        assert Payment.select().count() == 0


def test_without_javascript_the_page_says_card_payments_need_it(app, client, pending):
    customer_id, token = pending
    assert "Card payments need JavaScript" in client.get(f"/activate/{token}").get_data(as_text=True)
    response = client.post(f"/activate/{token}", data={**hidden(client, token), **FIELDS})
    assert response.status_code == 422
    assert "Card payments need JavaScript turned on" in response.get_data(as_text=True)


def test_stripe_unreachable_records_nothing(app, client, pending, stripe_http):
    customer_id, token = pending
    stripe_http.down = True
    response = start_payment(client, token, hidden(client, token))
    assert response.status_code == 422
    assert "The payment service did not answer" in response.get_data(as_text=True)
    with app.app_context():
        assert Payment.select().count() == 0


def test_the_losing_intent_of_a_race_is_refunded(app, pending, stripe_http):
    customer_id, token = pending
    a, b = app.test_client(), app.test_client()
    fa, fb = hidden(a, token), hidden(b, token)
    ia = json.loads(start_payment(a, token, fa).headers["HX-Trigger"])["stripe-confirm"]["intent"]
    ib = json.loads(start_payment(b, token, fb).headers["HX-Trigger"])["stripe-confirm"]["intent"]
    stripe_http.confirm(ia)
    stripe_http.confirm(ib)
    assert a.post(f"/activate/{token}", data={**fa, **FIELDS, "payment_intent": ia}).status_code == 303
    assert b.post(f"/activate/{token}", data={**fb, **FIELDS, "payment_intent": ib}).status_code == 410
    assert [r["payment_intent"] for r in stripe_http.refunds] == [ib]
    with app.app_context():
        assert Payment.select().count() == 1


def test_a_revoked_stripe_key_is_no_500_and_tells_the_operator(app, client, pending, stripe_http, caplog):
    """Stripe refusing the white-label's key (rolled in the Stripe dashboard, say): the customer
    is told payments are unavailable, nothing is recorded, and the log says what to fix."""
    customer_id, token = pending
    stripe_http.key_revoked = True
    response = start_payment(client, token, hidden(client, token))
    assert response.status_code == 422
    # Not "try again": waiting will not help, the white-label has to fix its key.
    text = response.get_data(as_text=True)
    assert "Card payments are not available right now and nothing was charged" in text
    assert "support@demo.example.com" in text and "try again" not in text
    assert "enter a current key in Settings > Payment gateway" in caplog.text
    with app.app_context():
        assert Payment.select().count() == 0
        assert Customer.get_by_id(customer_id).status == Customer.PENDING
