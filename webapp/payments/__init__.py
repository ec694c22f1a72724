"""Payment gateways: one interface, a built-in sandbox and Stripe.

Card data exists only in memory for the duration of one call: no model, log line, email
or error page ever receives a card number or security code. Every charge carries an
idempotency key, so a retried or doubled request charges once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class GatewayUnavailable(Exception):
    """The gateway cannot take the payment now.

    `retry` True: it did not answer (timeout, network), the outcome is unknown, and a retry must
    reuse the same idempotency key. False: it refused this white-label's credentials, nothing
    was charged, and trying again will not help until an administrator fixes them.
    """

    def __init__(self, reason: str = "", *, retry: bool = True):
        super().__init__(reason)
        self.retry = retry


@dataclass(repr=False)
class Card:
    """Card details typed on the sandbox page. repr() never shows the number or code."""

    name: str
    number: str
    exp_month: int
    exp_year: int
    security_code: str = field(default="")

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def __repr__(self) -> str:  # keeps card data out of tracebacks and logs
        return f"Card(last4={self.last4!r}, exp={self.exp_month:02d}/{self.exp_year})"


@dataclass
class ChargeResult:
    succeeded: bool
    reference: str = ""
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    decline_code: str = ""  # card_declined, insufficient_funds, expired_card, incorrect_number
    message: str = ""


class PaymentGateway(Protocol):
    name: str
    collects_card: bool  # True when our own page takes the card (sandbox), False for Stripe.js

    def charge(self, *, amount: int, currency: str, card: Card, idempotency_key: str, description: str) -> ChargeResult:
        """Charge `amount` minor units; the same key always returns the first result."""

    def refund(self, reference: str, *, idempotency_key: str) -> None:
        """Return a charge in full (used when a charge lost a race and must not stand)."""


def gateway_for(white_label) -> PaymentGateway | None:
    """The white-label's configured gateway, or None when it has none."""
    if white_label.payment_gateway == "sandbox":
        from .sandbox import SandboxGateway

        return SandboxGateway()
    if white_label.payment_gateway == "stripe":
        from .stripe_gateway import StripeGateway

        return StripeGateway(white_label.stripe_secret_key, white_label.stripe_publishable_key)
    return None
