"""The outbox: emails are rows written with the change that causes them, sent afterwards.

`queue_email` must be called inside the caller's `db.atomic()` block, so an email exists
exactly when its change committed. `deliver_due` claims due rows one at a time with a
conditional UPDATE (so several workers never send the same row), sends them through
Flask-Mail, and reschedules failures with exponential back-off.

No working link is ever stored. An email that carries a secret link (activation, invitation,
any later one such as a password reset) is queued with `queue_email(..., secret_link="/path/<token>")`:
its bodies are rendered with LINK_PLACEHOLDER as `{{ link }}`, and the path waits encrypted
(crypto.encrypt) in `secret_link`. `deliver_due` puts APP_BASE_URL + the path into the message
as it sends it, and forgets the path once the email is sent or has failed for good. Sent emails'
bodies are emptied after OUTBOX_RETENTION_DAYS (`purge_sent_emails`); the rows stay.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import threading
import uuid

from flask import current_app, template_rendered
from flask_mail import Connection, Message
from markupsafe import escape

from . import crypto, leases, logs, metrics
from .models import Customer, OutboxEmail, WhiteLabel, utcnow

log = logging.getLogger(__name__)

MAX_BACKOFF = dt.timedelta(hours=1)
# What the stored bodies hold where the secret link goes; the sender replaces it.
LINK_PLACEHOLDER = "[link added when sent]"


class UnreadableLink(Exception):
    """The queued email's link cannot be decrypted: the key that encrypted it is gone."""


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

    def __exit__(self, exc_type, exc_value, tb):
        # Flask-Mail says QUIT and lets its failure escape. After a send that worked, the server
        # has the message (it answered 250 to DATA): a QUIT that times out must not count as a
        # failed send, or the message goes again. After a send that failed, the line is often
        # already closed: QUIT's "please run connect() first" must not replace the real cause.
        if self.host is None:
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            self.host.close()


def sender_for(white_label: WhiteLabel | None) -> str:
    """The From header: the white-label's display name on the platform's sending address."""
    default = current_app.config["MAIL_DEFAULT_SENDER"]
    if white_label is None:
        return default
    address = default.rsplit("<", 1)[-1].rstrip(">") if "<" in default else default
    name = white_label.display_name.replace('"', "").replace("\n", " ").replace("\r", " ")
    return f'"{name}" <{address}>'


def render_email(name: str, **context: object) -> str:
    """One of `templates/email/`, from `context` alone: an email reads the same whether it is
    queued by a request, the worker or the command line. The page context processors do not run
    (nothing of the person who caused the email, their membership or the request's brand, can
    leak into it; and the request's brand look-up costs a query per email). Flask's
    template_rendered signal is sent as render_template sends it."""
    app = current_app._get_current_object()
    template = app.jinja_env.get_template(name)
    body = template.render(context)
    template_rendered.send(app, template=template, context=context)
    return body


def queue_email(
    *,
    kind: str,
    recipient: str,
    subject: str,
    template: str,
    white_label: WhiteLabel | None = None,
    customer: Customer | None = None,
    secret_link: str | None = None,
    **context,
) -> OutboxEmail:
    """Render `email/<template>.txt` and `.html` and write them to the outbox (no sending).

    `secret_link` is the path of a link that must not be stored (it holds a token), such as
    "/activate/<token>": the templates show it as `{{ link }}`, the outbox keeps it encrypted
    until the email is sent, and the link is built from APP_BASE_URL as it is sent."""
    context.update(white_label=white_label, customer=customer)
    if secret_link is not None:
        if not secret_link.startswith("/") or secret_link.startswith("//"):
            raise ValueError("secret_link is a path on APP_BASE_URL, such as /activate/<token>")
        context["link"] = LINK_PLACEHOLDER
    text_body = render_email(f"email/{template}.txt", **context)
    html_body = render_email(f"email/{template}.html", **context)
    if secret_link is not None:
        token = secret_link.rstrip("/").rsplit("/", 1)[-1]
        if LINK_PLACEHOLDER not in text_body or LINK_PLACEHOLDER not in html_body:
            raise ValueError(f"email/{template} does not show {{{{ link }}}}: the secret link would be lost")
        if token and (token in text_body or token in html_body):
            raise ValueError(f"email/{template} would store the secret link's token in its bodies")
    return OutboxEmail.create(
        white_label=white_label,
        customer=customer,
        kind=kind,
        recipient=recipient,
        sender=sender_for(white_label),
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        message_id=f"<{uuid.uuid4().hex}@pbx-onboarding>",
        secret_link=crypto.encrypt(secret_link) if secret_link is not None else "",
        request_id=logs.current_request_id(),
    )


def lease() -> dt.timedelta:
    """How long a worker holds an email it is sending before another may take it over; the
    heartbeat renews it while the send lasts (webapp/leases.py)."""
    return dt.timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])


def _claim(email_id: int, now: dt.datetime) -> str | None:
    """Take the row for this worker (leases.DUE or leases.TAKEN_OVER); None when another worker
    has it or it is not due."""
    return leases.claim(
        OutboxEmail, email_id, now=now, lease=lease(), waiting=OutboxEmail.QUEUED, sending=OutboxEmail.SENDING
    )


def _with_link(row: OutboxEmail) -> tuple[str, str]:
    """The bodies to send: the secret link, decrypted and built from APP_BASE_URL, in place of
    the placeholder. Raises UnreadableLink when no configured key opens it."""
    if not row.secret_link:
        return row.text_body, row.html_body
    path = crypto.decrypt(row.secret_link) if row.secret_link.startswith(crypto.PREFIX) else None
    if path is None:
        raise UnreadableLink(
            "its link was encrypted with a key SECRETS_ENCRYPTION_KEYS no longer holds, so it cannot "
            "be sent: send a new link (Resend)"
        )
    url = current_app.config["APP_BASE_URL"].rstrip("/") + path
    return row.text_body.replace(LINK_PLACEHOLDER, url), row.html_body.replace(LINK_PLACEHOLDER, str(escape(url)))


def _message(row: OutboxEmail) -> Message:
    text_body, html_body = _with_link(row)
    msg = Message(
        subject=row.subject,
        recipients=[row.recipient],
        body=text_body,
        html=html_body or None,
        sender=row.sender or current_app.config["MAIL_DEFAULT_SENDER"],
    )
    # The same Message-ID on every attempt lets a receiving server drop a duplicate.
    msg.msgId = row.message_id
    return msg


def _backoff(attempts: int) -> dt.timedelta:
    base = current_app.config["OUTBOX_BACKOFF_SECONDS"]
    return min(dt.timedelta(seconds=base * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def deliver_due(limit: int = 50, stop: threading.Event | None = None) -> int:
    """Send up to `limit` due emails; returns how many were sent. With `stop` set (SIGTERM), the
    send in progress finishes and no new one starts."""
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
        if stop is not None and stop.is_set():
            break
        claimed = _claim(email_id, now)
        if claimed is None:
            continue
        row = OutboxEmail.get_by_id(email_id)
        with logs.bound(request_id=row.request_id, email_id=row.id, white_label_id=row.white_label_id):
            sent += _send(row, taken_over=claimed == leases.TAKEN_OVER)
    return sent


def _send(row: OutboxEmail, *, taken_over: bool) -> int:
    """One attempt at one claimed email; 1 when the SMTP server accepted it."""
    mine = leases.still_mine(OutboxEmail, row)
    if taken_over:
        metrics.EMAIL_LEASE_RESENDS.inc()
        log.warning(
            "Email %s (%s) taken over after its worker's lease ran out (attempt %s): it may "
            "already have been sent; sending again with the same Message-ID",
            row.id,
            row.kind,
            row.attempts,
        )
    try:
        message = _message(row)
    except UnreadableLink as error:
        # Retrying cannot help (the key is gone): the email fails now, and says why.
        OutboxEmail.update(
            status=OutboxEmail.FAILED, locked_until=None, secret_link="", last_error=f"Not sent: {error}"[:500]
        ).where(mine).execute()
        metrics.EMAIL_ATTEMPTS.labels("failed").inc()
        log.error("Email %s (%s) to %s not sent: %s", row.id, row.kind, row.recipient, error)
        return 0
    accepted = False
    try:
        with (
            leases.Heartbeat(OutboxEmail, row, lease()),
            _TimeoutConnection(current_app.extensions["mail"]) as connection,
        ):
            connection.send(message)
            # The server answered 250 to the message: it has it. Whatever happens after this
            # (QUIT stalling past MAIL_TIMEOUT, the line dropping before QUIT's reply) is a
            # success, or the message would go again.
            accepted = True
    except Exception as error:  # noqa: BLE001 - any failure to hand over the message: retry later
        if accepted:
            log.info(
                "Email %s (%s): the server accepted it, then the connection ended badly (%s: %s)",
                row.id,
                row.kind,
                type(error).__name__,
                error,
            )
        else:
            gave_up = row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
            changes = dict(
                status=OutboxEmail.FAILED if gave_up else OutboxEmail.QUEUED,
                next_attempt_at=utcnow() + _backoff(row.attempts),
                locked_until=None,
                last_error=f"{type(error).__name__}: {error}"[:500],
            )
            if gave_up:
                changes["secret_link"] = ""  # never to be sent: the link is forgotten
            # Only while the row is still this attempt's: a worker that took it over owns it now.
            OutboxEmail.update(**changes).where(mine).execute()
            metrics.EMAIL_ATTEMPTS.labels("failed" if gave_up else "retry").inc()
            log.warning("Email %s to %s not sent (attempt %s): %s", row.id, row.recipient, row.attempts, error)
            return 0
    # Sent is true whoever holds the row now, so this is not conditional on the claim.
    OutboxEmail.update(
        status=OutboxEmail.SENT, sent_at=utcnow(), locked_until=None, last_error="", secret_link=""
    ).where(OutboxEmail.id == row.id).execute()
    metrics.EMAIL_ATTEMPTS.labels("sent").inc()
    log.info("Email %s (%s) sent (attempt %s)", row.id, row.kind, row.attempts)
    return 1


def purge_sent_emails(retention_days: int, now: dt.datetime | None = None) -> int:
    """Empty the bodies of emails sent (or failed for good) more than `retention_days` ago; the
    rows stay for the activation tracker and delivery history. Returns how many were emptied."""
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    old = ((OutboxEmail.status == OutboxEmail.SENT) & (OutboxEmail.sent_at < cutoff)) | (
        (OutboxEmail.status == OutboxEmail.FAILED) & (OutboxEmail.created_at < cutoff)
    )
    return (
        OutboxEmail.update(text_body="", html_body="", secret_link="")
        .where(old & ((OutboxEmail.text_body != "") | (OutboxEmail.html_body != "")))
        .execute()
    )
