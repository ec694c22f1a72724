"""Fixtures and helpers for the Stripe tests: the fake Stripe (tests/stripe_stub.py) bound to
the demo white-label with keys made up for each test, and the activation page's Stripe flow."""

from __future__ import annotations

import hashlib
import json
import re
import secrets

import pytest

from testkit.activation import PASSWORD
from testkit.stripe_stub import FakeStripeHTTP

FIELDS = {"password": PASSWORD, "confirm_password": PASSWORD, "opening_balance": "60.00", "accept_terms": "y"}


@pytest.fixture
def stripe_keys():
    """Keys made up for this test, so nothing can pass by knowing a fixed one."""
    return {
        "secret": "sk_test_" + secrets.token_hex(12),
        "publishable": "pk_test_" + secrets.token_hex(12),
    }


@pytest.fixture
def stripe_http(app, stripe_keys):
    """Demo Telecom pays through Stripe with its own keys; Stripe is the fake, which knows only
    Demo Telecom's secret key."""
    from webapp.models import WhiteLabel

    fake = FakeStripeHTTP(stripe_keys["secret"])
    app.config["STRIPE_HTTP_CLIENT"] = fake
    with app.app_context():
        WhiteLabel.update(
            payment_gateway="stripe",
            stripe_publishable_key=stripe_keys["publishable"],
            stripe_secret_key=stripe_keys["secret"],
        ).where(WhiteLabel.slug == "demo-telecom").execute()
    return fake


def hidden(client, token):
    html = client.get(f"/activate/{token}").get_data(as_text=True)
    return {
        "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1),
        "attempt": re.search(r'id="attempt" name="attempt" type="hidden" value="([^"]*)"', html).group(1),
    }


def start_payment(client, token, hidden_fields, **overrides):
    return client.post(
        f"/activate/{token}/payment", data={**hidden_fields, **FIELDS, **overrides}, headers={"HX-Request": "true"}
    )


def intent_of(response) -> str:
    """The PaymentIntent id the server handed the browser to confirm with Stripe.js."""
    assert response.status_code == 204, response.get_data(as_text=True)[:500]
    return json.loads(response.headers["HX-Trigger"])["stripe-confirm"]["intent"]


def pay_in_browser(client, token, stripe_http, **confirm) -> tuple[dict, str]:
    """What the page and Stripe.js do up to the moment the browser would post back:
    (the form's hidden fields, the confirmed intent's id)."""
    fields = hidden(client, token)
    intent_id = intent_of(start_payment(client, token, fields))
    stripe_http.confirm(intent_id, **confirm)
    return fields, intent_id


def post_back(client, token, fields, intent_id, **overrides):
    """The browser's final POST after Stripe.js confirmed the card."""
    return client.post(f"/activate/{token}", data={**fields, **FIELDS, "payment_intent": intent_id, **overrides})


def token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()
