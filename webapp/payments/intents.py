"""Stripe payments are never lost: every PaymentIntent the app creates is remembered here, and
once Stripe says it was paid it is recorded exactly once, or refunded, whichever reports it
first: the browser's post-back, the webhook (`routes.py`), or the reconciliation job.

Stripe is always asked (with the white-label's own secret key) rather than believed from a
browser or an event body, and an intent counts as ours only when its metadata names our
purpose, this white-label and one of its customers. No request handling here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from peewee import IntegrityError

from ..extensions import db
from ..models import Customer, StripeEvent, StripeIntent, WhiteLabel, utcnow
from ..tenancy import scoped
from . import GatewayUnavailable

log = logging.getLogger(__name__)

# What settle() did.
IGNORED = "ignored"  # not one of ours (the white-label's own shop uses the same Stripe account)
WAITING = "waiting"  # not paid yet: the browser may still confirm it
RECEIVED = StripeIntent.RECEIVED
RECORDED = StripeIntent.RECORDED
REFUNDED = StripeIntent.REFUNDED
CANCELED = StripeIntent.CANCELED
FAILED = StripeIntent.FAILED

HANDLED_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled")


@dataclass(frozen=True)
class Purpose:
    """What an intent is for, told by the feature that creates such intents (activation, top-up),
    so that this module settles them without importing the features (they import it)."""

    on_paid: Callable  # (customer, intent info, record, gateway) -> the outcome; records once
    still_payable: Callable  # (record, now) -> whether anyone may still pay an unpaid intent


PURPOSES: dict[str, Purpose] = {}


def purpose(name: str, *, still_payable: Callable):
    """Decorator: register the function that records a paid intent of `name`."""

    def register(on_paid: Callable) -> Callable:
        PURPOSES[name] = Purpose(on_paid=on_paid, still_payable=still_payable)
        return on_paid

    return register


def stripe_for(white_label: WhiteLabel):
    """The white-label's own Stripe account (its secret key), whatever gateway it uses today:
    payments made before a switch are still settled and refunded there."""
    if not white_label.stripe_secret_key:
        return None
    from .stripe_gateway import StripeGateway

    return StripeGateway(white_label.stripe_secret_key, white_label.stripe_publishable_key)


def remember(
    intent_id: str,
    *,
    white_label,
    customer,
    purpose: str,
    amount: int,
    currency: str,
    token_hash: str | None = None,
    attempt_key: str | None = None,
    created_by=None,
) -> StripeIntent:
    """Keep our own record of an intent just created at Stripe (the same intent again, as an
    idempotent create returns it: the same record)."""
    existing = StripeIntent.get_or_none(StripeIntent.intent_id == intent_id)
    if existing is not None:
        return existing
    try:
        with db.atomic():
            return StripeIntent.create(
                intent_id=intent_id,
                white_label=white_label,
                customer=customer,
                purpose=purpose,
                amount=amount,
                currency=currency,
                token_hash=token_hash,
                attempt_key=attempt_key,
                created_by=created_by,
            )
    except IntegrityError:  # the same intent remembered at the same moment by a doubled request
        return StripeIntent.get(StripeIntent.intent_id == intent_id)


def _customer_of(white_label: WhiteLabel, metadata: dict) -> Customer | None:
    """The white-label's customer the intent names, if the intent is one of ours."""
    if metadata.get("white_label_id") != str(white_label.id) or metadata.get("purpose") not in PURPOSES:
        return None
    raw = metadata.get("customer_id") or ""
    if not raw.isdigit() or len(raw) > 18:
        return None
    return scoped(Customer, of=white_label).where(Customer.id == int(raw)).first()


def _record_of(info, white_label: WhiteLabel, customer: Customer) -> StripeIntent:
    """Our record of the intent; made from Stripe's metadata if ours was lost."""
    record = StripeIntent.get_or_none(StripeIntent.intent_id == info.id)
    if record is not None:
        return record
    return remember(
        info.id,
        white_label=white_label,
        customer=customer,
        purpose=info.metadata["purpose"],
        amount=info.amount,
        currency=info.currency.upper(),
        token_hash=info.metadata.get("activation_token_hash"),
        attempt_key=info.metadata.get("top_up_attempt"),
    )


def mark(record: StripeIntent, status: str, *, only_from=StripeIntent.UNSETTLED) -> bool:
    """Move the record to `status` if it is still in one of `only_from` (so a late or repeated
    report never undoes a later state); returns whether it moved."""
    return bool(
        StripeIntent.update(status=status, settled_at=utcnow())
        .where((StripeIntent.id == record.id) & StripeIntent.status.in_(only_from))
        .execute()
    )


def settle(white_label: WhiteLabel, intent_id: str, *, info=None) -> str:
    """Ask Stripe about the intent and act on what it says, once however often it is called:
    paid -> recorded (an activation: received, waiting for the password; or refunded when the
    activation can no longer finish); cancelled or declined -> marked. Raises GatewayUnavailable
    when Stripe cannot be asked (the caller tries again later)."""
    gateway = stripe_for(white_label)
    if gateway is None:
        return IGNORED
    if info is None:
        info = gateway.retrieve_intent(intent_id)
    if info is None:
        return IGNORED
    customer = _customer_of(white_label, info.metadata)
    if customer is None:
        return IGNORED
    record = _record_of(info, white_label, customer)
    StripeIntent.update(checked_at=utcnow()).where(StripeIntent.id == record.id).execute()
    if info.status == "succeeded":
        return PURPOSES[record.purpose].on_paid(customer, info, record, gateway)
    if info.status == "canceled":
        mark(record, CANCELED)
        return CANCELED
    if info.status == "requires_payment_method" and info.error:
        mark(record, FAILED, only_from=(StripeIntent.CREATED,))
        return FAILED
    return WAITING


def refund_intent(record: StripeIntent, gateway) -> None:
    """Return a paid intent to the card at Stripe; one refund ever, however often this runs."""
    gateway.refund(record.intent_id, idempotency_key=f"refund_{record.intent_id}")


# --- Webhook events ---------------------------------------------------------------------------


def handle_event(white_label: WhiteLabel, event) -> str:
    """A verified webhook event: PaymentIntent events are settled (asking Stripe for the
    intent's state now, so events arriving out of order or twice change nothing); anything else
    is acknowledged and ignored. Raises GatewayUnavailable when Stripe cannot be asked."""
    event = event.to_dict() if hasattr(event, "to_dict") else event
    kind = event["type"]
    if kind not in HANDLED_EVENTS:
        return IGNORED
    event_id = event["id"]
    if StripeEvent.select().where(StripeEvent.event_id == event_id).exists():
        return "duplicate"
    intent = event["data"]["object"]
    metadata = intent.get("metadata") or {}
    outcome = IGNORED
    if _customer_of(white_label, {str(k): str(v) for k, v in metadata.items()}) is not None:
        if stripe_for(white_label) is None:
            # Its secret key is unreadable here: not acknowledged, so Stripe delivers it again
            # once an administrator has entered the key again.
            raise GatewayUnavailable("no readable Stripe secret key")
        outcome = settle(white_label, intent["id"])
    try:
        with db.atomic():
            StripeEvent.create(event_id=event_id, white_label=white_label, kind=kind)
    except IntegrityError:  # the same event handled at the same moment by another request
        pass
    return outcome


# --- Reconciliation -------------------------------------------------------------------------


def reconcile(now: dt.datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Ask Stripe about every intent created but not settled after STRIPE_RECONCILE_AFTER_SECONDS
    (15 minutes) for white-labels without a webhook, and after STRIPE_RECONCILE_WEBHOOK_AFTER_SECONDS
    (a day) for those with one, in case their events never arrive; settle each the same way the
    webhook would. An unpaid intent whose activation link no longer works, or an unpaid top-up
    older than a day, is cancelled at Stripe so it can never be paid. Returns counts by outcome."""
    now = now or utcnow()
    without_webhook = now - dt.timedelta(seconds=current_app.config["STRIPE_RECONCILE_AFTER_SECONDS"])
    with_webhook = now - dt.timedelta(seconds=current_app.config["STRIPE_RECONCILE_WEBHOOK_AFTER_SECONDS"])
    due = (
        StripeIntent.select(StripeIntent, WhiteLabel)
        .join(WhiteLabel)
        .where(
            StripeIntent.status.in_(StripeIntent.UNSETTLED)
            & (StripeIntent.created_at <= without_webhook)
            # With a webhook its events report the intent; reconciliation is only the backstop.
            & ((WhiteLabel.stripe_webhook_secret == "") | (StripeIntent.created_at <= with_webhook))
        )
        .order_by(StripeIntent.checked_at.asc(nulls="first"), StripeIntent.id)
        .limit(limit)
    )
    counts: dict[str, int] = {}
    skipped: set[int] = set()
    for record in due:
        white_label = record.white_label
        if white_label.id in skipped:
            continue
        if stripe_for(white_label) is None:
            # Its secret key is unreadable (SECRETS_ENCRYPTION_KEYS changed): ask again once it is fixed.
            log.error(
                "Reconciliation: white-label %s has no readable Stripe secret key; enter it in "
                "Settings > Payment gateway",
                white_label.slug,
            )
            skipped.add(white_label.id)
            continue
        try:
            outcome = settle(white_label, record.intent_id)
            if outcome in (WAITING, FAILED) and _abandoned(record, now):
                outcome = _cancel(record, white_label)
        except GatewayUnavailable as error:
            log.warning(
                "Reconciliation: Stripe did not answer for white-label %s (%s); trying again next run",
                white_label.slug,
                error,
            )
            skipped.add(white_label.id)
            outcome = "unreachable"
        if outcome == IGNORED:
            # Stripe does not know it under this white-label's key (or it is not ours): stop asking.
            mark(record, CANCELED)
            log.warning(
                "Reconciliation: intent %s of white-label %s is unknown to its Stripe account",
                record.intent_id,
                white_label.slug,
            )
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _abandoned(record: StripeIntent, now: dt.datetime) -> bool:
    """An unpaid intent that nobody can or should pay any more."""
    return not PURPOSES[record.purpose].still_payable(record, now)


def _cancel(record: StripeIntent, white_label: WhiteLabel) -> str:
    """Cancel an abandoned intent at Stripe (if Stripe says it was paid meanwhile, settle that)."""
    gateway = stripe_for(white_label)
    if gateway.cancel_intent(record.intent_id, idempotency_key=f"cancel_{record.intent_id}"):
        mark(record, CANCELED)
        return CANCELED
    return settle(white_label, record.intent_id)
