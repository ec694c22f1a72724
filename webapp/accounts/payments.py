"""Topping up a customer's balance by card, through the same gateway as activation."""
from __future__ import annotations

import hashlib
import json

from ..extensions import db
from ..models import AuditEvent, Customer, LedgerEntry, Payment, User
from ..payments import Card, GatewayUnavailable, gateway_for
from ..webhooks.events import emit_payment_succeeded


class TopUpRefused(Exception):
    def __init__(self, message: str, new_attempt: bool = True):
        super().__init__(message)
        self.message = message
        self.new_attempt = new_attempt


def top_up(customer: Customer, actor: User, *, amount: int, card: Card, attempt: str) -> Payment:
    """Charge the card (idempotently per attempt) and credit the balance in one transaction."""
    white_label = customer.white_label
    gateway = gateway_for(white_label)
    key = "top_" + hashlib.sha256(f"{customer.id}:{actor.id}:{attempt}".encode()).hexdigest()[:40]
    existing = Payment.get_or_none(Payment.idempotency_key == key)
    if existing is not None:  # the same attempt posted twice: already done
        return existing
    try:
        result = gateway.charge(amount=amount, currency=white_label.currency, card=card, idempotency_key=key,
                                description=f"Top-up for {customer.business_name}")
    except GatewayUnavailable:
        raise TopUpRefused("The payment service did not answer. You have not been charged twice: try again.", new_attempt=False) from None
    if not result.succeeded:
        raise TopUpRefused(result.message or "Your card was declined.")
    with db.atomic():
        existing = Payment.get_or_none(Payment.idempotency_key == key)
        if existing is not None:
            return existing
        payment = Payment.create(
            white_label=white_label, customer=customer, gateway=gateway.name, reference=result.reference,
            idempotency_key=key, purpose="top_up", amount=amount, currency=white_label.currency,
            card_brand=result.brand, card_last4=result.last4, card_exp_month=result.exp_month,
            card_exp_year=result.exp_year, created_by=actor,
        )
        LedgerEntry.create(
            white_label=white_label, account=LedgerEntry.CUSTOMER, customer=customer, kind=LedgerEntry.CREDIT,
            amount=amount, currency=white_label.currency,
            reason=f"Top-up by {result.brand} ending {result.last4}", reference=f"payment:{payment.id}", created_by=actor,
        )
        AuditEvent.create(white_label=white_label, customer=customer, actor=actor, action="topped_up",
                          detail=json.dumps({"amount": amount, "payment": payment.reference}))
        emit_payment_succeeded(payment)
        return payment
