"""Sending queued webhook deliveries: signed per Standard Webhooks, retried with back-off.

`deliver_due_webhooks()` runs in the outbox worker beside `mail.deliver_due()`. Each due row is
claimed with a conditional UPDATE (as outbox emails are), so two workers never send one attempt;
a worker that dies mid-send leaves a lease that runs out after OUTBOX_LEASE_SECONDS. Any 2xx answer within
WEBHOOK_TIMEOUT is delivered; anything else is retried with exponential back-off and jitter until
the delivery's `retry_until` (WEBHOOK_RETRY_HOURS after the event). An endpoint whose attempts
have all failed for WEBHOOK_DISABLE_AFTER_HOURS is disabled and its white-label's administrators
are emailed.
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import random
import socket
import ssl
import time

from flask import current_app
from standardwebhooks import Webhook

from .. import emails, leases, logs, metrics
from ..audit import audit
from ..extensions import db
from ..mail import lease
from ..models import User, WebhookDelivery, WebhookEndpoint, WhiteLabel, WhiteLabelMembership, utcnow
from ..tenancy import belongs_to
from .addresses import AddressRefused, Target, check

log = logging.getLogger(__name__)

# A claimed row is held for OUTBOX_LEASE_SECONDS, renewed by a heartbeat while the attempt lasts
# (webapp/leases.py), so a live worker's attempt is never sent a second time meanwhile, and a dead
# worker's row is taken over (and counted) that long after it stopped.
# The most of a response body read (and then thrown away): a receiver cannot make us read forever.
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "PBX-Onboarding-Webhooks/1 (Standard Webhooks)"


# --- Signing ---------------------------------------------------------------------------------------


class CannotSign(Exception):
    """No readable secret: the encryption key it was stored under is gone."""

    message = "The signing secret cannot be read (the encryption key changed): rotate the secret."


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The current secret, then the previous one while its overlap lasts after a rotation."""
    found = [endpoint.secret] if endpoint.secret else []
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        found.append(endpoint.previous_secret)
    return found


def signed_headers(endpoint: WebhookEndpoint, message_id: str, body: str, now: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt: signed now, with every live secret (a
    receiver still on the old secret during an overlap finds its signature among them)."""
    secrets = signing_secrets(endpoint, now)
    if not secrets:
        raise CannotSign()
    sent_at = dt.datetime.fromtimestamp(int(time.time()), dt.UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(Webhook(secret).sign(message_id, sent_at, body) for secret in secrets),
    }


# --- Sending -----------------------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the checked address, with the URL's host name in the Host header."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address; the certificate must still be valid for the URL's host."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to the checked target within `timeout` seconds in all; returns the status.
    Redirects are not followed (a 3xx is an answer, and not a 2xx)."""
    deadline = time.monotonic() + timeout
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = cls(target, timeout)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        _remaining(connection, deadline)
        response = connection.getresponse()
        read = 0
        while read < MAX_RESPONSE_BYTES:
            _remaining(connection, deadline)
            chunk = response.read1(8192)
            if not chunk:
                break
            read += len(chunk)
        return response.status
    finally:
        connection.close()


def _remaining(connection, deadline: float) -> None:
    """Give the socket only what is left of the attempt's time (a slow drip cannot stretch it)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    if connection.sock is not None:
        connection.sock.settimeout(left)


def _describe(error: Exception, timeout: float) -> str:
    """A failed attempt in words for the delivery log (no stack traces, nothing secret)."""
    if isinstance(error, (AddressRefused, CannotSign)):
        return error.message
    if isinstance(error, (TimeoutError, socket.timeout)):
        return f"No answer within {timeout:g} s."
    if isinstance(error, ConnectionRefusedError):
        return "Connection refused: nothing is listening at that address."
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"The TLS certificate was not accepted: {error.verify_message or error.reason}."
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}."
    return f"{type(error).__name__}: {error}"[:300]


# --- The worker's pass ---------------------------------------------------------------------------------


def _due(now: dt.datetime):
    due = (WebhookDelivery.status == WebhookDelivery.PENDING) & (WebhookDelivery.next_attempt_at <= now)
    abandoned = (WebhookDelivery.status == WebhookDelivery.SENDING) & (WebhookDelivery.locked_until < now)
    return due | abandoned


def _claim(delivery_id: int, now: dt.datetime) -> WebhookDelivery | None:
    """Take the row for this worker (one attempt); None when another worker has it or it is not due.
    A row taken over after its worker's lease ran out is counted (it may have gone already)."""
    claimed = leases.claim(
        WebhookDelivery,
        delivery_id,
        now=now,
        lease=lease(),
        waiting=WebhookDelivery.PENDING,
        sending=WebhookDelivery.SENDING,
    )
    if claimed is None:
        return None
    row = WebhookDelivery.get_by_id(delivery_id)
    if claimed == leases.TAKEN_OVER:
        metrics.WEBHOOK_LEASE_RESENDS.inc()
        log.warning(
            "Webhook %s (%s) taken over after its worker's lease ran out (attempt %s): it may already "
            "have been delivered; sending again with the same webhook-id",
            row.id,
            row.event_type,
            row.attempts,
        )
    return row


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: doubling from WEBHOOK_BACKOFF_SECONDS up to
    WEBHOOK_MAX_BACKOFF_SECONDS, then a random half of it taken off, so deliveries that failed
    together (a receiver that was down) do not all come back at the same moment."""
    config = current_app.config
    delay = min(config["WEBHOOK_MAX_BACKOFF_SECONDS"], config["WEBHOOK_BACKOFF_SECONDS"] * 2 ** min(attempts - 1, 40))
    return dt.timedelta(seconds=delay * random.uniform(0.5, 1.0))


def deliver_due_webhooks(
    limit: int = 50, *, now: dt.datetime | None = None, budget_seconds: float | None = None, stop=None
) -> int:
    """Attempt up to `limit` due deliveries of enabled endpoints; returns how many were delivered.

    `now` stands in for the clock (tests move it days ahead); `budget_seconds` stops the pass
    from starting new attempts after that long, so slow receivers do not hold up the emails;
    `stop` (a threading.Event, set on SIGTERM) lets the attempt in progress finish and starts no other."""
    clock = (lambda: now) if now is not None else utcnow
    started_at = clock()
    candidates = [
        row.id
        for row in WebhookDelivery.select(WebhookDelivery.id)
        .join(WebhookEndpoint)
        .where(_due(started_at) & WebhookEndpoint.enabled)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    ]
    started = time.monotonic()
    delivered = 0
    for delivery_id in candidates:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
        if stop is not None and stop.is_set():
            break
        row = _claim(delivery_id, clock())
        if row is not None:
            with logs.bound(request_id=row.request_id, delivery_id=row.id, white_label_id=row.white_label_id):
                delivered += _attempt(row, clock)
    return delivered


def _attempt(row: WebhookDelivery, clock) -> int:
    endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.id == row.endpoint_id)
    mine = (
        (WebhookDelivery.id == row.id)
        & (WebhookDelivery.status == WebhookDelivery.SENDING)
        & (WebhookDelivery.attempts == row.attempts)
    )
    if endpoint is None or not endpoint.enabled:
        # Disabled after this pass chose the row: put it back, the attempt not counted.
        WebhookDelivery.update(
            status=WebhookDelivery.PENDING, locked_until=None, attempts=WebhookDelivery.attempts - 1
        ).where(mine).execute()
        return 0
    config = current_app.config
    timeout = config["WEBHOOK_TIMEOUT"]
    started = time.monotonic()
    status, error = None, ""
    try:
        target = check(endpoint.url, production=config["APP_ENV"] == "production")
        headers = signed_headers(endpoint, row.message_id, row.payload, clock())
        with leases.Heartbeat(WebhookDelivery, row, lease(), clock):
            status = post(target, row.payload.encode(), headers, timeout)
        if not 200 <= status < 300:
            error = f"HTTP {status}: not a 2xx answer."
    except (AddressRefused, CannotSign, OSError, http.client.HTTPException, ValueError) as failure:
        error = _describe(failure, timeout)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    now = clock()
    with db.atomic():
        if not error:
            WebhookDelivery.update(
                status=WebhookDelivery.DELIVERED,
                delivered_at=now,
                last_attempt_at=now,
                last_status_code=status,
                last_response_ms=elapsed_ms,
                last_error="",
                locked_until=None,
            ).where(mine).execute()
            WebhookEndpoint.update(failing_since=None).where(
                (WebhookEndpoint.id == endpoint.id) & WebhookEndpoint.failing_since.is_null(False)
            ).execute()
            metrics.WEBHOOK_ATTEMPTS.labels("delivered").inc()
            log.info(
                "Webhook %s (%s) delivered to endpoint %s (attempt %s, HTTP %s)",
                row.id,
                row.event_type,
                endpoint.id,
                row.attempts,
                status,
            )
            return 1
        gave_up = now >= row.retry_until
        metrics.WEBHOOK_ATTEMPTS.labels("failed" if gave_up else "retry").inc()
        WebhookDelivery.update(
            status=WebhookDelivery.FAILED if gave_up else WebhookDelivery.PENDING,
            next_attempt_at=min(now + backoff(row.attempts), row.retry_until),
            last_attempt_at=now,
            last_status_code=status,
            last_response_ms=elapsed_ms,
            last_error=error[:300],
            locked_until=None,
        ).where(mine).execute()
        # Failing since when? A failed first attempt means nothing was taken since the event was
        # queued (or since the endpoint was last changed or enabled), so the spell starts there:
        # an endpoint that never accepts an event is disabled as that event's retries run out.
        since = max(row.created_at, endpoint.updated_at) if row.attempts == 1 else now
        WebhookEndpoint.update(failing_since=min(since, now)).where(
            (WebhookEndpoint.id == endpoint.id) & WebhookEndpoint.failing_since.is_null()
        ).execute()
        failing_since = (
            WebhookEndpoint.select(WebhookEndpoint.failing_since).where(WebhookEndpoint.id == endpoint.id).scalar()
        )
        if failing_since is not None and now - failing_since >= dt.timedelta(
            hours=config["WEBHOOK_DISABLE_AFTER_HOURS"]
        ):
            _disable_failing(endpoint, failing_since, error, now)
    log.info(
        "Webhook %s (%s) to endpoint %s not delivered (attempt %s): %s",
        row.id,
        row.event_type,
        endpoint.id,
        row.attempts,
        error,
    )
    return 0


def _disable_failing(endpoint: WebhookEndpoint, failing_since: dt.datetime, error: str, now: dt.datetime) -> None:
    """Disable an endpoint that has failed for too long, audit it, and email the administrators."""
    disabled = (
        WebhookEndpoint.update(
            enabled=False,
            disabled_reason=WebhookEndpoint.FAILING,
            disabled_at=now,
            updated_at=now,
        )
        .where((WebhookEndpoint.id == endpoint.id) & WebhookEndpoint.enabled)
        .execute()
    )
    if not disabled:
        return  # another worker got here first
    audit(
        endpoint.white_label_id,
        "webhook_endpoint_disabled",
        endpoint=endpoint.id,
        url=endpoint.url,
        reason="failing",
        failing_since=failing_since.isoformat(),
    )
    white_label = WhiteLabel.get_by_id(endpoint.white_label_id)
    administrators = (
        User.select()
        .join(WhiteLabelMembership)
        .where(
            belongs_to(WhiteLabelMembership, of=white_label)
            & (WhiteLabelMembership.role == WhiteLabelMembership.ADMINISTRATOR)
            & User.active
        )
        .order_by(User.id)
    )
    hours = round((now - failing_since).total_seconds() / 3600)
    for administrator in administrators:
        emails.send_webhook_endpoint_disabled_email(
            administrator, endpoint, failing_since=failing_since, hours=hours, error=error
        )
