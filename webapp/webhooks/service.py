"""Managing a white-label's webhook endpoints: create, change, disable, rotate, delete, send
again. Every change is in the audit trail (no customer); secrets never are. No request handling
here, so the API and the CLI can call it too."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from flask import current_app

from ..audit import audit
from ..extensions import db
from ..models import User, WebhookDelivery, WebhookEndpoint, WhiteLabel, utcnow


class WebhookProblem(Exception):
    """A change that cannot be made; the message says why, for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _audit(white_label_id: int, actor: User | None, action: str, endpoint: WebhookEndpoint, **detail: object) -> None:
    audit(white_label_id, action, actor=actor, endpoint=endpoint.id, url=endpoint.url, **detail)


def create_endpoint(
    white_label: WhiteLabel, actor: User, *, url: str, description: str, events: list[str]
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint subscribed to `events`; returns it and its secret (shown once, then only
    stored encrypted)."""
    secret = new_secret()
    with db.atomic():
        endpoint = WebhookEndpoint.create(
            white_label=white_label,
            url=url,
            description=description,
            events=" ".join(events),
            secret=secret,
            created_by=actor,
        )
        _audit(white_label.id, actor, "webhook_endpoint_created", endpoint, events=events)
    return endpoint, secret


def update_endpoint(endpoint: WebhookEndpoint, actor: User, *, url: str, description: str, events: list[str]) -> None:
    """Change the endpoint's URL, description or subscriptions (queued deliveries keep their events)."""
    with db.atomic():
        before = {"url": endpoint.url, "events": endpoint.event_types}
        WebhookEndpoint.update(url=url, description=description, events=" ".join(events), updated_at=utcnow()).where(
            WebhookEndpoint.id == endpoint.id
        ).execute()
        endpoint.url, endpoint.description, endpoint.events = url, description, " ".join(events)
        _audit(endpoint.white_label_id, actor, "webhook_endpoint_changed", endpoint, events=events, before=before)


def set_enabled(endpoint: WebhookEndpoint, actor: User, enabled: bool) -> None:
    """Disable (no new events are queued, waiting ones wait) or enable again (waiting ones go,
    and the 3-day failure clock starts afresh)."""
    with db.atomic():
        changed = (
            WebhookEndpoint.update(
                enabled=enabled,
                disabled_reason="" if enabled else WebhookEndpoint.MANUAL,
                disabled_at=None if enabled else utcnow(),
                failing_since=None,
                updated_at=utcnow(),
            )
            .where((WebhookEndpoint.id == endpoint.id) & (WebhookEndpoint.enabled != enabled))
            .execute()
        )
        if changed:
            _audit(
                endpoint.white_label_id,
                actor,
                "webhook_endpoint_enabled" if enabled else "webhook_endpoint_disabled",
                endpoint,
                reason="" if enabled else WebhookEndpoint.MANUAL,
            )


def delete_endpoint(endpoint: WebhookEndpoint, actor: User) -> None:
    """Remove the endpoint and its delivery log; nothing more is sent to it."""
    with db.atomic():
        _audit(endpoint.white_label_id, actor, "webhook_endpoint_deleted", endpoint, events=endpoint.event_types)
        WebhookEndpoint.delete().where(WebhookEndpoint.id == endpoint.id).execute()


def rotate_secret(endpoint: WebhookEndpoint, actor: User, *, overlap_hours: int) -> str:
    """A new signing secret (returned, to show once). For `overlap_hours` every webhook is also
    signed with the old one, so the receiver can switch without missing any."""
    secret = new_secret()
    now = utcnow()
    with db.atomic():
        WebhookEndpoint.update(
            secret=secret,
            previous_secret=endpoint.secret if overlap_hours else "",
            previous_secret_until=now + dt.timedelta(hours=overlap_hours) if overlap_hours else None,
            updated_at=now,
        ).where(WebhookEndpoint.id == endpoint.id).execute()
        _audit(endpoint.white_label_id, actor, "webhook_secret_rotated", endpoint, overlap_hours=overlap_hours)
    return secret


def send_again(delivery: WebhookDelivery, actor: User) -> None:
    """Queue the delivery once more, now, with the same webhook-id and body (a receiver that
    already has it can tell), retried like a new one if it fails."""
    with db.atomic():
        endpoint = WebhookEndpoint.get_by_id(delivery.endpoint_id)
        if not endpoint.enabled:
            raise WebhookProblem("The endpoint is disabled. Enable it first, then send the event again.")
        now = utcnow()
        queued = (
            WebhookDelivery.update(
                status=WebhookDelivery.PENDING,
                next_attempt_at=now,
                retry_until=now + dt.timedelta(hours=current_app.config["WEBHOOK_RETRY_HOURS"]),
            )
            .where((WebhookDelivery.id == delivery.id) & (WebhookDelivery.status != WebhookDelivery.SENDING))
            .execute()
        )
        if not queued:
            raise WebhookProblem("This event is being sent right now. Check the log again in a moment.")
        _audit(
            endpoint.white_label_id,
            actor,
            "webhook_sent_again",
            endpoint,
            delivery=delivery.id,
            event=delivery.event_type,
            message_id=delivery.message_id,
        )
