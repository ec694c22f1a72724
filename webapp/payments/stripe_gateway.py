"""Stripe: PaymentIntents created here, card details entered in Stripe.js Elements, so the
card never reaches this server. Verified server-side before anything is recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import stripe
from flask import current_app, has_app_context

from . import ChargeResult, GatewayUnavailable

log = logging.getLogger(__name__)

# Stripe cannot be reached, or refuses the white-label's secret key (revoked, rolled, or
# unreadable here after an encryption key change): either way the customer cannot pay now, and
# nothing was charged.
UNAVAILABLE = (stripe.APIConnectionError, stripe.AuthenticationError, stripe.PermissionError)


# Stripe.js needs its own origin for the script, the card iframe and its API calls; only
# the Stripe payment pages (activation, top-up) get this policy.
STRIPE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' https://js.stripe.com",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-src https://js.stripe.com https://hooks.stripe.com",
        "connect-src 'self' https://api.stripe.com",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


def _unavailable(error: stripe.StripeError) -> GatewayUnavailable:
    if isinstance(error, stripe.APIConnectionError):
        return GatewayUnavailable(type(error).__name__)
    log.error(
        "Stripe refused the white-label's secret key (%s): enter a current key in Settings > Payment gateway",
        type(error).__name__,
    )
    return GatewayUnavailable(type(error).__name__, retry=False)


@dataclass
class IntentInfo:
    """What the app needs of a PaymentIntent, read from Stripe (never from the browser)."""

    id: str
    status: str
    amount: int
    currency: str
    metadata: dict
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    error: str = ""

    @classmethod
    def from_stripe(cls, intent) -> IntentInfo:
        data = intent.to_dict() if hasattr(intent, "to_dict") else dict(intent)
        card = None
        charge = data.get("latest_charge")
        if isinstance(charge, dict):  # expanded: the charge itself, not only its id
            card = (charge.get("payment_method_details") or {}).get("card")
        error = data.get("last_payment_error") or {}
        return cls(
            id=data["id"],
            status=data.get("status") or "",
            amount=int(data.get("amount") or 0),
            currency=data.get("currency") or "",
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
            brand=str(card.get("brand") or "card").title() if card else "",
            last4=str(card.get("last4") or "") if card else "",
            exp_month=card.get("exp_month") if card else None,
            exp_year=card.get("exp_year") if card else None,
            error=error.get("message") or "",
        )

    def belongs_to(self, metadata: dict) -> bool:
        """Whether the intent was made for this purpose: every key we expect, with our value."""
        return all(self.metadata.get(key) == value for key, value in metadata.items())

    def check(self, *, amount: int, currency: str, metadata: dict) -> ChargeResult:
        """Paid in full, in this currency, for this purpose: the card's details. Else why not."""
        if self.amount != amount or self.currency != currency.lower() or not self.belongs_to(metadata):
            return ChargeResult(
                False,
                decline_code="mismatch",
                message="That payment does not match what you are paying for here. Try again.",
            )
        if self.status != "succeeded":
            return ChargeResult(
                False,
                decline_code=self.status,
                message=self.error or "The card payment did not complete. Try again or use another card.",
            )
        return ChargeResult(
            True,
            reference=self.id,
            brand=self.brand or "Card",
            last4=self.last4,
            exp_month=self.exp_month,
            exp_year=self.exp_year,
        )


class StripeGateway:
    name = "stripe"
    collects_card = False  # the browser hands the card straight to Stripe

    def __init__(self, secret_key: str, publishable_key: str = ""):
        http_client = current_app.config.get("STRIPE_HTTP_CLIENT") if has_app_context() else None
        self.publishable_key = publishable_key
        self.client = stripe.StripeClient(secret_key, http_client=http_client, max_network_retries=2)

    def create_intent(
        self, *, amount: int, currency: str, idempotency_key: str, description: str, metadata: dict
    ) -> tuple[str, str]:
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

    def retrieve_intent(self, intent_id: str) -> IntentInfo | None:
        """The intent as Stripe has it now, with its latest charge expanded (card brand, last
        four, expiry); None when this white-label's Stripe account has no such intent."""
        try:
            intent = self.client.v1.payment_intents.retrieve(intent_id, params={"expand": ["latest_charge"]})
        except UNAVAILABLE as error:
            raise _unavailable(error) from error
        except stripe.InvalidRequestError:
            return None
        return IntentInfo.from_stripe(intent)

    def charge(self, **_):
        raise NotImplementedError("With Stripe the card is charged by Stripe.js, never on this server.")

    def refund(self, reference: str, *, idempotency_key: str) -> None:
        """Return a paid intent in full. Refunded already (the idempotency key has expired after
        a day, say) counts as done."""
        try:
            self.client.v1.refunds.create(
                params={"payment_intent": reference}, options={"idempotency_key": idempotency_key}
            )
        except UNAVAILABLE as error:
            raise _unavailable(error) from error
        except stripe.InvalidRequestError as error:
            if getattr(error, "code", None) == "charge_already_refunded":
                return
            log.error(
                "Stripe refused to refund %s: %s", reference, getattr(error, "code", None) or type(error).__name__
            )
            raise GatewayUnavailable("refund refused", retry=False) from error

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> bool:
        """Cancel an unpaid intent so it can never be paid; False when Stripe says it cannot be
        cancelled any more (it was paid meanwhile, or is already cancelled)."""
        try:
            self.client.v1.payment_intents.cancel(
                intent_id, params={"cancellation_reason": "abandoned"}, options={"idempotency_key": idempotency_key}
            )
        except UNAVAILABLE as error:
            raise _unavailable(error) from error
        except stripe.InvalidRequestError:
            return False
        return True
