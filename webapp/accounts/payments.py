"""Topping up a customer's balance by card, through the same gateway as activation. With
Stripe the card is confirmed in the browser; the top-up is credited exactly once whoever
reports the payment first (the browser's post, the webhook, or reconciliation)."""

from __future__ import annotations

import datetime as dt
import hashlib

from peewee import IntegrityError

from ..audit import audit
from ..database import locked
from ..extensions import db
from ..models import Customer, Payment, StripeIntent, User, utcnow
from ..payments import Card, GatewayUnavailable, gateway_for
from ..payments.charges import PaidCard, record_card_payment
from ..payments.intents import purpose, remember, settle


class TopUpRefused(Exception):
    def __init__(self, message: str, new_attempt: bool = True):
        super().__init__(message)
        self.message = message
        self.new_attempt = new_attempt


def top_up_key(customer: Customer, actor: User, attempt: str, amount: int) -> str:
    """One key per payment page and amount: a doubled or retried POST of it charges once. The
    attempt is 128 random bits made for the page; the ids only scope it."""
    return "top_" + hashlib.sha256(f"{customer.id}:{actor.id}:{attempt}:{amount}".encode()).hexdigest()[:40]


def top_up_metadata(customer: Customer, key: str) -> dict:
    """What a top-up's PaymentIntent carries at Stripe, and what a paid intent must carry to be
    credited for this page: the purpose, the customer, the white-label and the attempt's key."""
    return {
        "purpose": "top_up",
        "customer_id": str(customer.id),
        "white_label_id": str(customer.white_label_id),
        "top_up_attempt": key,
    }


def top_up(customer: Customer, actor: User, *, amount: int, card: Card, attempt: str) -> Payment:
    """Charge the card (idempotently per attempt) and credit the balance in one transaction."""
    white_label = customer.white_label
    gateway = gateway_for(white_label)
    key = top_up_key(customer, actor, attempt, amount)
    existing = Payment.get_or_none(Payment.idempotency_key == key)
    if existing is not None:  # the same attempt posted twice: already done
        return existing
    try:
        result = gateway.charge(
            amount=amount,
            currency=white_label.currency,
            card=card,
            idempotency_key=key,
            description=f"Top-up for {customer.business_name}",
        )
    except GatewayUnavailable:
        raise TopUpRefused(
            "The payment service did not answer. You have not been charged twice: try again.", new_attempt=False
        ) from None
    if not result.succeeded:
        raise TopUpRefused(result.message or "Your card was declined.")
    with db.atomic():
        existing = Payment.get_or_none(Payment.idempotency_key == key)
        if existing is not None:
            return existing
        payment = record_card_payment(
            customer,
            gateway=gateway.name,
            purpose="top_up",
            amount=amount,
            currency=white_label.currency,
            reference=result.reference,
            idempotency_key=key,
            reason="Top-up",
            created_by=actor,
            card=PaidCard(result.brand, result.last4, result.exp_month, result.exp_year),
        )
        audit(white_label, "topped_up", customer=customer, actor=actor, amount=amount, payment=payment.reference)
        return payment


def _unavailable(error: GatewayUnavailable, customer: Customer) -> TopUpRefused:
    if error.retry:
        return TopUpRefused(
            "The payment service did not answer. You have not been charged twice: try again.", new_attempt=False
        )
    white_label = customer.white_label
    return TopUpRefused(
        f"Card payments are not available right now and nothing was charged. Contact "
        f"{white_label.display_name} at {white_label.support_email}.",
        new_attempt=False,
    )


def start_stripe_top_up(customer: Customer, actor: User, *, amount: int, attempt: str) -> tuple[str, str]:
    """Stripe: a PaymentIntent for the top-up, which the browser confirms with Stripe.js;
    remembered so it is credited even if the browser never comes back. -> (id, client secret)."""
    white_label = customer.white_label
    key = top_up_key(customer, actor, attempt, amount)
    try:
        intent_id, client_secret = gateway_for(white_label).create_intent(
            amount=amount,
            currency=white_label.currency,
            idempotency_key=key,
            description=f"Top-up for {customer.business_name}",
            metadata=top_up_metadata(customer, key),
        )
    except GatewayUnavailable as error:
        raise _unavailable(error, customer) from None
    remember(
        intent_id,
        white_label=white_label,
        customer=customer,
        purpose=StripeIntent.TOP_UP,
        amount=amount,
        currency=white_label.currency,
        attempt_key=key,
        created_by=actor,
    )
    return intent_id, client_secret


def confirm_stripe_top_up(
    customer: Customer, actor: User, *, amount: int, attempt: str, payment_intent: str
) -> Payment:
    """The browser's post after Stripe.js confirmed the card: check with Stripe that this very
    top-up was paid, then credit it (once, if the webhook or reconciliation did not already)."""
    white_label = customer.white_label
    key = top_up_key(customer, actor, attempt, amount)
    try:
        info = gateway_for(white_label).retrieve_intent(payment_intent)
        if info is None:
            raise TopUpRefused("That payment was not found. Try again.")
        result = info.check(amount=amount, currency=white_label.currency, metadata=top_up_metadata(customer, key))
        if not result.succeeded:
            raise TopUpRefused(result.message or "Your card was declined.")
        settle(white_label, info.id, info=info)
    except GatewayUnavailable as error:
        raise _unavailable(error, customer) from None
    return Payment.get(Payment.reference == info.id)


def record_top_up(customer: Customer, info, record: StripeIntent) -> Payment:
    """Credit a paid top-up intent exactly once, whoever reports it first."""
    white_label = customer.white_label
    key = record.attempt_key or f"stripe_{info.id}"
    try:
        with db.atomic():
            locked(Customer.select(Customer.id).where(Customer.id == customer.id)).get()
            payment = Payment.get_or_none(Payment.reference == info.id)
            if payment is None:
                payment = record_card_payment(
                    customer,
                    gateway="stripe",
                    purpose="top_up",
                    amount=info.amount,
                    currency=info.currency.upper(),
                    reference=info.id,
                    idempotency_key=key,
                    reason="Top-up",
                    created_by=record.created_by_id,
                    card=PaidCard(info.brand, info.last4, info.exp_month, info.exp_year),
                )
                audit(
                    white_label,
                    "topped_up",
                    customer=customer,
                    actor=record.created_by_id,
                    amount=info.amount,
                    payment=info.id,
                )
            StripeIntent.update(status=StripeIntent.RECORDED, payment=payment, settled_at=utcnow()).where(
                (StripeIntent.id == record.id) & (StripeIntent.status != StripeIntent.RECORDED)
            ).execute()
            return payment
    except IntegrityError:  # recorded by another request at the same moment
        return Payment.get(Payment.reference == info.id)


# Reconciliation cancels an unpaid top-up intent at Stripe after this long, so a page left open
# for days cannot pay it; a new top-up makes a new intent.
ABANDON_TOP_UP_AFTER = dt.timedelta(hours=24)


def _top_up_still_payable(record: StripeIntent, now: dt.datetime) -> bool:
    return record.created_at > now - ABANDON_TOP_UP_AFTER


@purpose(StripeIntent.TOP_UP, still_payable=_top_up_still_payable)
def _top_up_paid(customer: Customer, info, record: StripeIntent, gateway) -> str:
    """A paid top-up intent, reported by the webhook or reconciliation: credited once."""
    record_top_up(customer, info, record)
    return StripeIntent.RECORDED
