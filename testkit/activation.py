"""Creating a customer-administered customer and reading its activation link from the email."""

from __future__ import annotations

import re

from testkit.mail import emailed_link, token_of
from testkit.wizard import complete_customer_option, post

GOOD_CARD = "4242 4242 4242 4242"
PASSWORD = "kowhai-harbour-lantern-88"


def create_pending_customer(app, admin_client, smtp, **contact) -> tuple[int, str]:
    """Run the wizard's first option; returns (customer id, raw activation token), the token
    read from the activation email as delivered to the test SMTP server (`smtp`)."""
    from webapp.models import Customer, OutboxEmail

    base = complete_customer_option(admin_client, app, plan="Business", **contact)
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        email = OutboxEmail.select().where(OutboxEmail.kind == "activation").order_by(OutboxEmail.id.desc()).get()
        customer = Customer.get_by_id(email.customer_id)
    return customer.id, token_of(emailed_link(app, smtp, email.recipient))


def token_from_text(text: str) -> str:
    return re.search(r"/activate/([A-Za-z0-9_-]+)", text).group(1)


def activation_form(client, token: str) -> dict:
    """The hidden fields of the activation page (CSRF token and attempt key)."""
    html = client.get(f"/activate/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    attempt = re.search(r'id="attempt" name="attempt" type="hidden" value="([^"]*)"', html).group(1)
    return {"csrf_token": csrf, "attempt": attempt}


def activation_data(card=GOOD_CARD, **overrides) -> dict:
    data = {
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "opening_balance": "75.00",
        "card_name": "Hana Kereama",
        "card_number": card,
        "card_expiry": "12/34",
        "security_code": "737",
        "accept_terms": "y",
    }
    data.update(overrides)
    return data


def submit_activation(client, token: str, card=GOOD_CARD, hidden=None, **overrides):
    hidden = hidden or activation_form(client, token)
    return client.post(f"/activate/{token}", data={**hidden, **activation_data(card, **overrides)})
