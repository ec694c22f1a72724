"""Stripe: PaymentIntents created here, card details entered in Stripe.js Elements, so the
card never reaches this server. Verified server-side before anything is recorded."""
from __future__ import annotations

import logging

import stripe
from flask import current_app, has_app_context

from . import ChargeResult, GatewayUnavailable

log = logging.getLogger(__name__)

# Stripe cannot be reached, or refuses the white-label's secret key (revoked, rolled, or
# unreadable here after an encryption key change): either way the customer cannot pay now, and
# nothing was charged.
UNAVAILABLE = (stripe.APIConnectionError, stripe.AuthenticationError, stripe.PermissionError)


def _unavailable(error: stripe.StripeError) -> GatewayUnavailable:
    if isinstance(error, stripe.APIConnectionError):
        return GatewayUnavailable(type(error).__name__)
    log.error("Stripe refused the white-label's secret key (%s): enter a current key in "
              "Settings > Payment gateway", type(error).__name__)
    return GatewayUnavailable(type(error).__name__, retry=False)


class StripeGateway:
    name = "stripe"
    collects_card = False  # the browser hands the card straight to Stripe

    def __init__(self, secret_key: str, publishable_key: str = ""):
        http_client = current_app.config.get("STRIPE_HTTP_CLIENT") if has_app_context() else None
        self.publishable_key = publishable_key
        self.client = stripe.StripeClient(secret_key, http_client=http_client, max_network_retries=2)

    def create_intent(self, *, amount: int, currency: str, idempotency_key: str, description: str,
                      metadata: dict) -> tuple[str, str]:
        """A PaymentIntent for `amount`; the same key returns the same intent. -> (id, client secret)."""
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "description": description,
                    "metadata": metadata,
                    "payment_method_types": ["card"],
                },
                options={"idempotency_key": idempotency_key},
            )
        except UNAVAILABLE as error:
            raise _unavailable(error) from error
        return intent.id, intent.client_secret

    def verify_intent(self, intent_id: str, *, amount: int, currency: str, metadata: dict) -> ChargeResult:
        """Whether the intent was paid in full, for this purpose; card details from its charge."""
        try:
            intent = self.client.v1.payment_intents.retrieve(intent_id, params={"expand": ["latest_charge"]})
        except UNAVAILABLE as error:
            raise _unavailable(error) from error
        except stripe.InvalidRequestError:
            return ChargeResult(False, decline_code="unknown_intent", message="That payment was not found. Try again.")
        recorded = intent.metadata.to_dict() if intent.metadata else {}
        mismatched = (
            intent.amount != amount
            or intent.currency != currency.lower()
            or any(recorded.get(k) != v for k, v in metadata.items())
        )
        if mismatched:
            return ChargeResult(False, decline_code="mismatch", message="That payment does not match this activation. Try again.")
        if intent.status != "succeeded":
            error = getattr(intent, "last_payment_error", None)
            message = getattr(error, "message", None) if error else None
            return ChargeResult(False, decline_code=intent.status,
                                message=message or "The card payment did not complete. Try again or use another card.")
        card = {}
        charge = intent.latest_charge
        if charge is not None and not isinstance(charge, str):
            card = charge.payment_method_details.card
        return ChargeResult(
            True,
            reference=intent.id,
            brand=str(getattr(card, "brand", "") or "card").title(),
            last4=str(getattr(card, "last4", "") or ""),
            exp_month=getattr(card, "exp_month", None),
            exp_year=getattr(card, "exp_year", None),
        )

    def paid_intent(self, intent_id: str, *, metadata: dict) -> bool:
        """Whether this intent was paid and belongs to `metadata`'s purpose (for refunding strays)."""
        try:
            intent = self.client.v1.payment_intents.retrieve(intent_id)
        except stripe.InvalidRequestError:
            return False
        except UNAVAILABLE as error:
            raise _unavailable(error) from error
        recorded = intent.metadata.to_dict() if intent.metadata else {}
        return intent.status == "succeeded" and all(recorded.get(k) == v for k, v in metadata.items())

    def charge(self, **_):
        raise NotImplementedError("With Stripe the card is charged by Stripe.js, never on this server.")

    def refund(self, reference: str, *, idempotency_key: str) -> None:
        try:
            self.client.v1.refunds.create(params={"payment_intent": reference}, options={"idempotency_key": idempotency_key})
        except UNAVAILABLE as error:
            raise _unavailable(error) from error
