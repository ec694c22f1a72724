"""The outbox: emails are rows written with the change that causes them, sent afterwards.

`queue_email` must be called inside the caller's `db.atomic()` block, so an email exists
exactly when its change committed. `deliver_due` claims due rows one at a time with a
conditional UPDATE (so several workers never send the same row), sends them through
Flask-Mail, and reschedules failures with exponential back-off.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
import threading
import time
import uuid

from flask import Flask, current_app, render_template
from flask_mail import Connection, Message

from .extensions import db
from .models import Customer, OutboxEmail, WhiteLabel, utcnow

log = logging.getLogger(__name__)

# A claimed row whose worker died mid-send becomes due again after this long.
LEASE = dt.timedelta(minutes=5)
MAX_BACKOFF = dt.timedelta(hours=1)


class _TimeoutConnection(Connection):
    """Flask-Mail's connection with a socket timeout, so a stalled server cannot hang a worker."""

    def configure_host(self):
        timeout = current_app.config["MAIL_TIMEOUT"]
        cls = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = cls(self.mail.server, self.mail.port, timeout=timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def sender_for(white_label: WhiteLabel | None) -> str:
    """The From header: the white-label's display name on the platform's sending address."""
    default = current_app.config["MAIL_DEFAULT_SENDER"]
    if white_label is None:
        return default
    address = default.rsplit("<", 1)[-1].rstrip(">") if "<" in default else default
    name = white_label.display_name.replace('"', "").replace("\n", " ").replace("\r", " ")
    return f'"{name}" <{address}>'


def queue_email(
    *,
    kind: str,
    recipient: str,
    subject: str,
    template: str,
    white_label: WhiteLabel | None = None,
    customer: Customer | None = None,
    **context,
) -> OutboxEmail:
    """Render `email/<template>.txt` and `.html` and write them to the outbox (no sending)."""
    context.update(white_label=white_label, customer=customer)
    return OutboxEmail.create(
        white_label=white_label,
        customer=customer,
        kind=kind,
        recipient=recipient,
        sender=sender_for(white_label),
        subject=subject,
        text_body=render_template(f"email/{template}.txt", **context),
        html_body=render_template(f"email/{template}.html", **context),
        message_id=f"<{uuid.uuid4().hex}@pbx-onboarding>",
    )


def _claim(email_id: int, now: dt.datetime) -> bool:
    """Take the row for this worker; False when another worker has it or it is not due."""
    due = (OutboxEmail.status == OutboxEmail.QUEUED) & (OutboxEmail.next_attempt_at <= now)
    abandoned = (OutboxEmail.status == OutboxEmail.SENDING) & (OutboxEmail.locked_until < now)
    claimed = (
        OutboxEmail.update(
            status=OutboxEmail.SENDING,
            locked_until=now + LEASE,
            attempts=OutboxEmail.attempts + 1,
        )
        .where((OutboxEmail.id == email_id) & (due | abandoned))
        .execute()
    )
    return claimed == 1


def _message(row: OutboxEmail) -> Message:
    msg = Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.text_body,
        html=row.html_body or None,
        sender=row.sender or current_app.config["MAIL_DEFAULT_SENDER"],
    )
    # The same Message-ID on every attempt lets a receiving server drop a duplicate.
    msg.msgId = row.message_id
    return msg


def _backoff(attempts: int) -> dt.timedelta:
    base = current_app.config["OUTBOX_BACKOFF_SECONDS"]
    return min(dt.timedelta(seconds=base * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def deliver_due(limit: int = 50) -> int:
    """Send up to `limit` due emails; returns how many were sent."""
    now = utcnow()
    due = (OutboxEmail.status == OutboxEmail.QUEUED) & (OutboxEmail.next_attempt_at <= now)
    abandoned = (OutboxEmail.status == OutboxEmail.SENDING) & (OutboxEmail.locked_until < now)
    candidates = [
        row.id
        for row in OutboxEmail.select(OutboxEmail.id)
        .where(due | abandoned)
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(limit)
    ]
    sent = 0
    for email_id in candidates:
        if not _claim(email_id, now):
            continue
        row = OutboxEmail.get_by_id(email_id)
        try:
            with _TimeoutConnection(current_app.extensions["mail"]) as connection:
                connection.send(_message(row))
        except Exception as error:  # any failure to hand over the message: retry later
            gave_up = row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
            OutboxEmail.update(
                status=OutboxEmail.FAILED if gave_up else OutboxEmail.QUEUED,
                next_attempt_at=utcnow() + _backoff(row.attempts),
                locked_until=None,
                last_error=f"{type(error).__name__}: {error}"[:500],
            ).where(OutboxEmail.id == email_id).execute()
            log.warning("Email %s to %s not sent (attempt %s): %s", row.id, row.recipient, row.attempts, error)
            continue
        OutboxEmail.update(
            status=OutboxEmail.SENT, sent_at=utcnow(), locked_until=None, last_error=""
        ).where(OutboxEmail.id == email_id).execute()
        sent += 1
    return sent


def run_worker(app: Flask, stop: threading.Event | None = None) -> None:
    """Deliver due emails and webhooks until `stop` is set, polling every OUTBOX_POLL_SECONDS."""
    from .webhooks.delivery import deliver_due_webhooks

    stop = stop or threading.Event()
    interval = app.config["OUTBOX_POLL_SECONDS"]
    last_schedule = 0.0
    with app.app_context():
        while not stop.is_set():
            try:
                with db.connection_context():
                    if time.monotonic() - last_schedule >= app.config["SCHEDULE_INTERVAL_SECONDS"]:
                        run_schedule()
                        last_schedule = time.monotonic()
                    deliver_due()
                    # Webhooks after the emails, and for a bounded time, so slow receivers
                    # cannot hold up the mail.
                    deliver_due_webhooks(budget_seconds=app.config["WEBHOOK_TIMEOUT"] * 3)
            except Exception:  # keep the worker alive through database hiccups
                log.exception("Outbox worker pass failed")
            stop.wait(interval)


def run_schedule() -> None:
    """Periodic jobs the worker runs: activation reminders, then expiry (each safe to repeat)."""
    from .activation.service import expire_activations, send_reminders

    send_reminders()
    expire_activations()


def start_worker_thread(app: Flask) -> tuple[threading.Thread, threading.Event]:
    """Run the outbox worker in a daemon thread (development server and e2e tests)."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(app, stop), name="outbox-worker", daemon=True)
    thread.start()
    return thread, stop

