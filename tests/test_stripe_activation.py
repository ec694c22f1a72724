import hashlib
import json

import pytest

from testkit.activation import create_pending_customer
from testkit.stripe import (  # noqa: F401 (fixtures)
    FIELDS,
    hidden,
    intent_of,
    pay_in_browser,
    post_back,
    start_payment,
    stripe_http,
    stripe_keys,
    token_hash,
)
from webapp.models import ActivationToken, Customer, LedgerEntry, Payment, User, WhiteLabel


@pytest.fixture
def pending(app, admin_client, stripe_http, smtp):
    return create_pending_customer(app, admin_client, smtp)


def test_stripe_page_uses_elements_and_never_asks_for_the_card_itself(client, pending, stripe_keys):
    _, token = pending
    response = client.get(f"/activate/{token}")
    html = response.get_data(as_text=True)
    assert '<script src="https://js.stripe.com/v3/"' in html
    assert 'data-publishable-key="{}"'.format(stripe_keys["publishable"]) in html
    assert 'name="card_number"' not in html and 'name="security_code"' not in html
    assert stripe_keys["secret"] not in html
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


def test_the_intent_carries_exactly_what_the_app_means_to_send(app, client, pending, stripe_http, stripe_keys):
    """Amount, currency, metadata naming the purpose, customer, white-label and the link's random
    hash (not its row id, which comes round again), an idempotency key derived from that hash
    and the attempt, and the white-label's own secret key."""
    customer_id, token = pending
    fields = hidden(client, token)
    intent_id = intent_of(start_payment(client, token, fields))
    method, path, sent = stripe_http.requests[-1]
    assert (method, path) == ("post", "/v1/payment_intents")
    assert (sent["amount"], sent["currency"]) == ("6000", "nzd")
    with app.app_context():
        white_label_id = WhiteLabel.get(WhiteLabel.slug == "demo-telecom").id
        row = ActivationToken.get(ActivationToken.customer == customer_id)
    assert row.token_hash == token_hash(token)
    expected_metadata = {
        "purpose": "activation",
        "customer_id": str(customer_id),
        "white_label_id": str(white_label_id),
        "activation_token_hash": token_hash(token),
    }
    assert {k[len("metadata[") : -1]: v for k, v in sent.items() if k.startswith("metadata[")} == expected_metadata
    assert stripe_http.intents[intent_id]["metadata"] == expected_metadata
    digest = hashlib.sha256(f"{token_hash(token)}:{fields['attempt']}".encode()).hexdigest()[:40]
    assert sent["_idempotency"] == f"act_{digest}_6000"
    assert sent["_api_key"] == stripe_keys["secret"]


def test_the_browsers_post_back_checks_the_intent_with_the_charge_expanded(
    app, client, pending, stripe_http, stripe_keys
):
    customer_id, token = pending
    fields, intent_id = pay_in_browser(client, token, stripe_http, brand="amex", last4="0005")
    assert post_back(client, token, fields, intent_id).status_code == 303
    method, path, sent = next(r for r in stripe_http.requests if r[0] == "get" and r[1].endswith(intent_id))
    assert sent["expand[0]"] == "latest_charge" and sent["_api_key"] == stripe_keys["secret"]
    with app.app_context():
        payment = Payment.get(Payment.customer == customer_id)
        assert (payment.card_brand, payment.card_last4, payment.card_exp_month) == ("Amex", "0005", 12)


def test_an_intent_made_for_another_activation_with_the_same_amount_is_refused(
    smtp, app, admin_client, client, pending, stripe_http
):
    """Customer A's confirmed NZ$60.00 intent posted back to customer B's link: same amount, same
    currency, same white-label, but made for another link, so B is not activated by it."""
    a_id, a_token = pending
    b_id, b_token = create_pending_customer(
        app, admin_client, smtp, business_name="Second Ltd", email="second@example.com"
    )
    _, a_intent = pay_in_browser(client, a_token, stripe_http)
    b_client = type(client)(app, client.response_wrapper, use_cookies=True)
    b_fields = hidden(b_client, b_token)
    response = post_back(b_client, b_token, b_fields, a_intent)
    assert response.status_code == 422
    assert "does not match" in response.get_data(as_text=True)
    with app.app_context():
        assert Payment.select().where(Payment.customer == b_id).count() == 0
        assert Customer.get_by_id(b_id).status == Customer.PENDING
        assert LedgerEntry.select().where(LedgerEntry.customer == b_id).count() == 0


def test_an_intent_the_white_labels_own_shop_made_with_the_same_amount_is_refused(
    app, client, pending, stripe_http, stripe_keys
):
    """The white-label's Stripe account is used for other things too: a paid intent of theirs
    for the same amount (no metadata of ours) does not activate anyone."""
    customer_id, token = pending
    fields = hidden(client, token)
    theirs = stripe_http.create_intent_directly(
        stripe_keys["secret"], amount=6000, currency="nzd", metadata={"order": "shop-1234"}
    )
    stripe_http.confirm(theirs)
    response = post_back(client, token, fields, theirs)
    assert response.status_code == 422
    with app.app_context():
        assert Payment.select().count() == 0
        assert Customer.get_by_id(customer_id).status == Customer.PENDING


def test_a_key_that_is_not_the_white_labels_is_refused_by_stripe(app, client, pending, stripe_http):
    """The fake knows only the white-label's key; another key gets Stripe's 401."""
    customer_id, token = pending
    with app.app_context():
        WhiteLabel.update(stripe_secret_key="sk_test_someoneelses0000000").where(
            WhiteLabel.slug == "demo-telecom"
        ).execute()
    response = start_payment(client, token, hidden(client, token))
    assert response.status_code == 422
    assert "Card payments are not available right now" in response.get_data(as_text=True)
    assert stripe_http.intents == {}


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
    response = client.post(
        f"/activate/{token}", data={**fields, **FIELDS, "opening_balance": "500.00", "payment_intent": intent_id}
    )
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
    assert stripe_http.refunded_intents() == [ib]
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
