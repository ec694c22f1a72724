"""The events a shop can hear about, and `emit()`: the one way an event is queued.

Services call `emit()` inside the `db.atomic()` block of the change that causes the event, so an
event exists exactly when its change committed (a rolled-back change sends nothing). It writes
one delivery row per enabled endpoint of the white-label that subscribes to the event; the
outbox worker sends them (delivery.py). Payloads are small and never carry secrets or card data.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable

from flask import current_app
from peewee import JOIN

from ..extensions import db
from ..logs import current_request_id
from ..models import Customer, Payment, Plan, WebhookDelivery, WebhookEndpoint, WhiteLabel, utcnow
from ..prepared import prepared
from ..tenancy import belongs_to

CUSTOMER_CREATED = "customer.created"
CUSTOMER_ACTIVATED = "customer.activated"
CUSTOMER_ACTIVATION_EXPIRED = "customer.activation_expired"
CUSTOMER_STATUS_CHANGED = "customer.status_changed"
PAYMENT_SUCCEEDED = "payment.succeeded"

# Every event type, with what it means (shown next to its box on the endpoint form).
EVENT_TYPES: dict[str, str] = {
    CUSTOMER_CREATED: "A customer was created, by either option (from the console or the API).",
    CUSTOMER_ACTIVATED: "The customer’s contact activated the account and paid the opening balance.",
    CUSTOMER_ACTIVATION_EXPIRED: "The activation link expired before the customer activated.",
    CUSTOMER_STATUS_CHANGED: "The customer was suspended, reactivated or cancelled, or an expired customer was sent a new link.",
    PAYMENT_SUCCEEDED: "A card payment succeeded: an opening balance or a top-up.",
}


def timestamp(value: dt.datetime | None) -> str | None:
    """A stored (naive UTC) time as the payloads write it: RFC 3339 in UTC."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


@prepared
def _listening(white_label):
    """The white-label's enabled endpoints and what each subscribes to (every event asks)."""
    return WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.events).where(
        belongs_to(WebhookEndpoint, of=white_label) & WebhookEndpoint.enabled
    )


def emit(
    white_label: WhiteLabel | int,
    event_type: str,
    data: dict | Callable[[], dict],
    *,
    customer: Customer | int | None = None,
) -> int:
    """Queue `event_type` for every enabled endpoint of the white-label that subscribes to it;
    returns how many. Call inside the transaction of the change that causes the event.

    `data` may be a function: it is called only when some endpoint listens, so a white-label
    without webhooks pays one query per event and nothing more."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    if not db.in_transaction():
        raise RuntimeError("emit() must run inside the db.atomic() block of the change it reports")
    white_label_id = getattr(white_label, "id", white_label)
    endpoints = [
        endpoint.id for endpoint in _listening.rows(white_label=white_label_id) if event_type in endpoint.event_types
    ]
    if not endpoints:
        return 0
    now = utcnow()
    body = json.dumps(
        {"type": event_type, "timestamp": timestamp(now), "data": data() if callable(data) else data},
        separators=(",", ":"),
    )
    message_id = f"msg_{uuid.uuid4().hex}"  # webhook-id: receivers drop a message they have seen
    retry_until = now + dt.timedelta(hours=current_app.config["WEBHOOK_RETRY_HOURS"])
    WebhookDelivery.insert_many(
        [
            {
                "white_label": white_label_id,
                "endpoint": endpoint_id,
                "customer": getattr(customer, "id", customer),
                "message_id": message_id,
                "event_type": event_type,
                "payload": body,
                "status": WebhookDelivery.PENDING,
                "next_attempt_at": now,
                "retry_until": retry_until,
                "created_at": now,
                "request_id": current_request_id(),
            }
            for endpoint_id in endpoints
        ]
    ).execute()
    return len(endpoints)


def customer_data(customer_id: int) -> dict:
    """What every customer event says about the customer (read afresh, inside the transaction)."""
    customer = (
        Customer.select(Customer, Plan)
        .join(Plan, JOIN.LEFT_OUTER, on=(Customer.plan == Plan.id))
        .where(Customer.id == customer_id)
        .get()
    )
    plan = customer.plan if customer.plan_id else None
    return {
        "id": customer.id,
        "business_name": customer.business_name,
        "trading_name": customer.trading_name,
        "contact": {
            "first_name": customer.contact_first_name,
            "last_name": customer.contact_last_name,
            "email": customer.contact_email,
        },
        "status": customer.status,
        # The option's key: "customer" (the customer administers it) or "white_label".
        "administered_by": customer.administered_by,
        "plan": {"id": plan.id, "name": plan.name} if plan else None,
        "created_at": timestamp(customer.created_at),
        "activated_at": timestamp(customer.activated_at),
    }


def emit_customer_event(event_type: str, customer: Customer, **extra) -> int:
    """Queue a customer event: the customer as it is now, plus `extra` (say, the previous status)."""
    return emit(
        customer.white_label_id,
        event_type,
        lambda: {"customer": customer_data(customer.id), **extra},
        customer=customer,
    )


def emit_payment_succeeded(payment: Payment) -> int:
    """Queue payment.succeeded: amount and purpose, never the card (not even its brand or digits)."""

    def data() -> dict:
        return {
            "payment": {
                "id": payment.id,
                "purpose": payment.purpose,  # "activation" (the opening balance) or "top_up"
                "amount": payment.amount,  # minor units (cents)
                "currency": payment.currency,
                "gateway": payment.gateway,
                "created_at": timestamp(payment.created_at),
            },
            "customer": customer_data(payment.customer_id),
        }

    return emit(payment.white_label_id, PAYMENT_SUCCEEDED, data, customer=payment.customer_id)
