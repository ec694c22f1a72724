"""A stand-in for Stripe's HTTP API at the HTTP-client layer: the stripe library builds and
parses real requests and responses; only the network is replaced.

It behaves like Stripe where the app could get it wrong:
- each secret key is its own Stripe account: a key the fake was not given answers 401, and an
  object made with one key is "No such payment_intent" (404) for another;
- `latest_charge` is the charge's id unless the request asked for `expand[]=latest_charge`;
- metadata is stored and returned exactly as sent (strings);
- an idempotency key replays the first answer, and the same key with other parameters is
  refused (400 idempotency_error), per account;
- refunds need a succeeded payment and refuse a second full refund (charge_already_refunded);
  only payable intents can be cancelled.
Webhook events are built here the way Stripe builds them (the intent inside is not expanded)
and signed with Stripe's scheme by `sign()`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import parse_qsl, urlsplit

import stripe
from stripe._http_client import HTTPClient

CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action", "processing")


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header: t=<timestamp>,v1=<HMAC-SHA256 of "<timestamp>.<payload>">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _error(
    status: int, message: str, kind: str = "invalid_request_error", code: str | None = None, param: str | None = None
):
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return json.dumps({"error": error}), status, {"Request-Id": "req_fake"}


def _nested(form: dict, name: str) -> dict:
    """`metadata[a]=1&metadata[b]=2` -> {"a": "1", "b": "2"}."""
    prefix = f"{name}["
    return {k[len(prefix) : -1]: v for k, v in form.items() if k.startswith(prefix) and k.endswith("]")}


def _listed(form: dict, name: str) -> list[str]:
    """`expand[0]=x` or `expand[]=x` -> ["x"]."""
    return [
        v for k, v in form.items() if k == f"{name}[]" or (k.startswith(f"{name}[") and k[len(name) + 1 : -1].isdigit())
    ]


class FakeStripeHTTP(HTTPClient):
    name = "fake-stripe"

    def __init__(self, *secret_keys: str):
        super().__init__()
        # Each key is one Stripe account; objects belong to the account that made them.
        self.accounts = {key: "acct_" + secrets.token_hex(8) for key in secret_keys}
        self.intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.idempotent: dict[tuple[str, str], tuple[str, str, dict, tuple]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.down = False
        self.key_revoked = False  # Stripe answers 401: the secret key was rolled or revoked

    def add_key(self, secret_key: str) -> None:
        self.accounts.setdefault(secret_key, "acct_" + secrets.token_hex(8))

    # --- What the browser (Stripe.js) or the Stripe dashboard would do -------------------------

    def confirm(self, intent_id: str, *, succeed: bool = True, brand="visa", last4="4242", exp_month=12, exp_year=2034):
        """Stripe.js confirming the card: the intent succeeds, or the card is declined."""
        intent = self.intents[intent_id]
        charge_id = "ch_" + secrets.token_hex(12)
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "currency": intent["currency"],
            "payment_intent": intent_id,
            "status": "succeeded" if succeed else "failed",
            "refunded": False,
            "amount_refunded": 0,
            "payment_method_details": {
                "type": "card",
                "card": {"brand": brand, "last4": last4, "exp_month": exp_month, "exp_year": exp_year},
            },
            "_account": intent["_account"],
        }
        intent["latest_charge"] = charge_id
        if succeed:
            intent["status"] = "succeeded"
            intent["last_payment_error"] = None
        else:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "message": "Your card was declined.",
                "code": "card_declined",
                "type": "card_error",
            }

    def cancel(self, intent_id: str, reason: str = "abandoned") -> None:
        intent = self.intents[intent_id]
        intent.update(status="canceled", cancellation_reason=reason, canceled_at=int(time.time()))

    def create_intent_directly(self, secret_key: str, *, amount: int, currency: str, metadata: dict) -> str:
        """An intent made by someone else with the same Stripe account (the white-label's own shop)."""
        intent = self._new_intent(self.accounts[secret_key], {"amount": str(amount), "currency": currency}, metadata)
        return intent["id"]

    def event(self, kind: str, intent_id: str, *, event_id: str | None = None, created: int | None = None) -> str:
        """A webhook event's body as Stripe sends it: the intent inside is a snapshot, not expanded."""
        return json.dumps(
            {
                "id": event_id or "evt_" + secrets.token_hex(12),
                "object": "event",
                "api_version": stripe.api_version,
                "created": created or int(time.time()),
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": kind,
                "data": {"object": self._public(self.intents[intent_id], expand=())},
            }
        )

    def refunded_intents(self) -> list[str]:
        return [r["payment_intent"] for r in self.refunds]

    # --- The HTTP API --------------------------------------------------------------------------

    def request(self, method, url, headers, post_data=None, **_):
        if self.down:  # what the library's own HTTP clients raise for a network failure
            raise stripe.APIConnectionError("stripe unreachable")
        headers = headers or {}
        parts = urlsplit(url)
        form = (
            dict(parse_qsl(post_data or "", keep_blank_values=True))
            if method == "post"
            else dict(parse_qsl(parts.query, keep_blank_values=True))
        )
        api_key = (headers.get("Authorization") or "").removeprefix("Bearer ")
        idempotency_key = headers.get("Idempotency-Key")
        self.requests.append((method, parts.path, {**form, "_idempotency": idempotency_key, "_api_key": api_key}))
        account = self.accounts.get(api_key)
        if self.key_revoked or account is None:
            masked = f"{api_key[:8]}****{api_key[-4:]}" if len(api_key) > 12 else "****"
            return _error(401, f"Invalid API Key provided: {masked}")
        if method == "post" and idempotency_key:
            remembered = self.idempotent.get((account, idempotency_key))
            if remembered is not None:
                path, params, answer = remembered[0], remembered[1], remembered[2]
                if path != parts.path or params != form:
                    return _error(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                        kind="idempotency_error",
                    )
                return answer
            answer = self._handle(method, parts.path, form, account)
            if answer[1] < 500:
                self.idempotent[(account, idempotency_key)] = (parts.path, form, answer)
            return answer
        return self._handle(method, parts.path, form, account)

    def _handle(self, method, path, form, account):
        segments = path.strip("/").split("/")
        if method == "post" and path == "/v1/payment_intents":
            if "amount" not in form or "currency" not in form:
                return _error(400, "Missing required param: amount.", param="amount")
            return self._json(
                self._public(self._new_intent(account, form, _nested(form, "metadata")), _listed(form, "expand"))
            )
        if segments[:2] == ["v1", "payment_intents"] and len(segments) >= 3:
            intent = self.intents.get(segments[2])
            if intent is None or intent["_account"] != account:
                return _error(404, f"No such payment_intent: '{segments[2]}'", code="resource_missing", param="intent")
            if method == "get" and len(segments) == 3:
                return self._json(self._public(intent, _listed(form, "expand")))
            if method == "post" and segments[3:] == ["cancel"]:
                if intent["status"] not in CANCELABLE:
                    return _error(
                        400,
                        f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
                        code="payment_intent_unexpected_state",
                    )
                self.cancel(segments[2], form.get("cancellation_reason") or None)
                return self._json(self._public(intent, _listed(form, "expand")))
        if method == "post" and path == "/v1/refunds":
            intent = self.intents.get(form.get("payment_intent", ""))
            if intent is None or intent["_account"] != account:
                return _error(404, f"No such payment_intent: '{form.get('payment_intent')}'", code="resource_missing")
            charge = self.charges.get(intent["latest_charge"] or "")
            if intent["status"] != "succeeded" or charge is None:
                return _error(
                    400, "This PaymentIntent does not have a successful charge to refund.", code="charge_not_refundable"
                )
            if charge["refunded"]:
                return _error(400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
            amount = int(form.get("amount", charge["amount"]))
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            refund = {
                "id": "re_" + secrets.token_hex(8),
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "payment_intent": intent["id"],
                "currency": intent["currency"],
                "status": "succeeded",
                "metadata": _nested(form, "metadata"),
            }
            self.refunds.append(refund)
            return self._json(refund)
        return _error(404, f"Unrecognized request URL ({method.upper()}: {path}).")

    def _new_intent(self, account: str, form: dict, metadata: dict) -> dict:
        intent_id = "pi_" + secrets.token_hex(12)
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "description": form.get("description"),
            "metadata": dict(metadata),
            "payment_method_types": _listed(form, "payment_method_types") or ["card"],
            "latest_charge": None,
            "last_payment_error": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "created": int(time.time()),
            "livemode": False,
            "_account": account,
        }
        self.intents[intent_id] = intent
        return intent

    def _public(self, intent: dict, expand) -> dict:
        shown = {k: v for k, v in intent.items() if not k.startswith("_")}
        shown["metadata"] = dict(intent["metadata"])
        if "latest_charge" in expand and intent["latest_charge"]:
            shown["latest_charge"] = {
                k: v for k, v in self.charges[intent["latest_charge"]].items() if not k.startswith("_")
            }
        return json.loads(json.dumps(shown))

    def request_stream(self, *args, **kwargs):
        raise NotImplementedError

    def close(self):
        pass

    @staticmethod
    def _json(obj):
        return json.dumps(obj), 200, {"Request-Id": "req_fake"}
