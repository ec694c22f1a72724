"""A stand-in for Stripe's HTTP API at the HTTP-client layer: the stripe library builds and
parses real requests and responses; only the network is replaced."""
from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qs, urlsplit

import stripe
from stripe._http_client import HTTPClient


class FakeStripeHTTP(HTTPClient):
    name = "fake-stripe"

    def __init__(self):
        super().__init__()
        self.intents: dict[str, dict] = {}
        self.by_key: dict[str, str] = {}
        self.refunds: list[dict] = []
        self.requests: list[tuple[str, str, dict]] = []
        self.down = False
        self.key_revoked = False  # Stripe answers 401: the secret key was rolled or revoked

    # What the browser and Stripe.js would do: confirm the intent with a card.
    def confirm(self, intent_id: str, *, succeed: bool = True, brand="visa", last4="4242"):
        intent = self.intents[intent_id]
        if succeed:
            intent["status"] = "succeeded"
            intent["latest_charge"] = {
                "id": "ch_" + secrets.token_hex(8), "object": "charge",
                "payment_method_details": {"type": "card", "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034}},
            }
        else:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {"message": "Your card was declined.", "code": "card_declined"}

    def request(self, method, url, headers, post_data=None, **_):
        if self.down:  # what the library's own HTTP clients raise for a network failure
            raise stripe.APIConnectionError("stripe unreachable")
        if self.key_revoked:
            return json.dumps({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}), 401, {}
        parts = urlsplit(url)
        form = {k: v[0] for k, v in parse_qs(post_data or "").items()}
        self.requests.append((method, parts.path, {**form, "_idempotency": (headers or {}).get("Idempotency-Key")}))
        if method == "post" and parts.path == "/v1/payment_intents":
            key = headers.get("Idempotency-Key")
            if key in self.by_key:
                return self._json(self.intents[self.by_key[key]])
            intent_id = "pi_" + secrets.token_hex(8)
            self.intents[intent_id] = {
                "id": intent_id, "object": "payment_intent", "amount": int(form["amount"]),
                "currency": form["currency"], "status": "requires_payment_method",
                "client_secret": f"{intent_id}_secret_{secrets.token_hex(6)}",
                "metadata": {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")},
                "latest_charge": None,
            }
            self.by_key[key] = intent_id
            return self._json(self.intents[intent_id])
        if method == "get" and parts.path.startswith("/v1/payment_intents/"):
            intent = self.intents.get(parts.path.rsplit("/", 1)[1])
            if intent is None:
                return json.dumps({"error": {"type": "invalid_request_error", "message": "No such payment_intent"}}), 404, {}
            return self._json(intent)
        if method == "post" and parts.path == "/v1/refunds":
            self.refunds.append(form)
            return self._json({"id": "re_" + secrets.token_hex(6), "object": "refund", "status": "succeeded"})
        return json.dumps({"error": {"type": "invalid_request_error", "message": "unexpected"}}), 400, {}

    def request_stream(self, *args, **kwargs):
        raise NotImplementedError

    def close(self):
        pass

    @staticmethod
    def _json(obj):
        return json.dumps(obj), 200, {"Request-Id": "req_fake"}
