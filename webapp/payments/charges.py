"""A card payment that went through, recorded once: the one place a Payment is written and the
customer's ledger credited, for the opening balance at activation and for top-ups alike, from the
sandbox's charge or from Stripe's intent. Card data never reaches here beyond what a receipt
shows (brand, last four digits, expiry)."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Customer, LedgerEntry, Payment, User
from ..webhooks.events import emit_payment_succeeded


@dataclass(frozen=True)
class PaidCard:
    """What a receipt shows of the card a payment was made with."""

    brand: str
    last4: str
    exp_month: int | None = None
    exp_year: int | None = None


def record_card_payment(
    customer: Customer,
    *,
    gateway: str,
    purpose: str,
    amount: int,
    currency: str,
    reference: str,
    idempotency_key: str,
    card: PaidCard,
    reason: str,
    created_by: User | int | None = None,
) -> Payment:
    """Record a card payment and credit the customer's balance with it, inside the caller's
    transaction (the payment's unique reference and key make a second record fail there);
    `reason` is the ledger's line, "Top-up" or "Opening balance", to which the card is added.
    Queues the payment.succeeded webhook event."""
    payment = Payment.create(
        white_label=customer.white_label_id,
        customer=customer,
        gateway=gateway,
        reference=reference,
        idempotency_key=idempotency_key,
        purpose=purpose,
        amount=amount,
        currency=currency,
        card_brand=card.brand,
        card_last4=card.last4,
        card_exp_month=card.exp_month,
        card_exp_year=card.exp_year,
        created_by=created_by,
    )
    LedgerEntry.create(
        white_label=customer.white_label_id,
        account=LedgerEntry.CUSTOMER,
        customer=customer,
        kind=LedgerEntry.CREDIT,
        amount=amount,
        currency=currency,
        reason=f"{reason} by {card.brand} ending {card.last4}",
        reference=f"payment:{payment.id}",
        created_by=created_by,
    )
    emit_payment_succeeded(payment)
    return payment
