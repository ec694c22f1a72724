"""Topping up through the two steps a person takes: the amount, then the card on a page whose
button says the amount (webapp/accounts/routes.py top_up and top_up_pay)."""

from __future__ import annotations

import re

CARD = {
    "card_name": "Hana Kereama",
    "card_number": "4242 4242 4242 4242",
    "card_expiry": "12/34",
    "security_code": "737",
}


def hidden_fields(html: str) -> dict:
    """The hidden fields a top-up page carries (CSRF token, attempt key, the chosen amount)."""
    found = dict(re.findall(r'<input[^>]*?name="(csrf_token|attempt|amount)"[^>]*?value="([^"]*)"', html))
    found.update(
        {m[1]: m[0] for m in re.findall(r'<input[^>]*?value="([^"]*)"[^>]*?name="(csrf_token|attempt|amount)"', html)}
    )
    return found


def choose_amount(client, customer_id: int, amount: str):
    """Step 1: type the amount. A 303 to the payment step when it is read, else 422."""
    page = client.get(f"/account/{customer_id}/top-up").get_data(as_text=True)
    return client.post(f"/account/{customer_id}/top-up", data={**hidden_fields(page), "amount": amount})  # typed


def top_up(client, customer_id: int, amount: str, card: dict | None = None):
    """Both steps with the sandbox: the amount, then the card. Returns the step that answered
    last: the amount step's 422, or the payment step's response (303 when paid)."""
    chosen = choose_amount(client, customer_id, amount)
    if chosen.status_code != 303:
        return chosen
    pay_url = chosen.headers["Location"]
    page = client.get(pay_url).get_data(as_text=True)
    return client.post(pay_url, data={**hidden_fields(page), **(card or CARD)})
