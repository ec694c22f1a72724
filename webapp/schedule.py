"""The worker: between requests it delivers the outbox's emails and the webhooks, and every
SCHEDULE_INTERVAL_SECONDS it runs the periodic jobs. It sits above everything it runs (the
outbox, activation, payments, webhooks), which never import it: `flask outbox-worker` runs it
as its own process, `make run` and the browser tests in a thread.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app

from .activation.service import expire_activations, send_reminders
from .extensions import db
from .imports.service import run_imports
from .mail import deliver_due, purge_sent_emails
from .payments.intents import reconcile
from .webhooks.delivery import deliver_due_webhooks

log = logging.getLogger(__name__)


def purge_old_emails() -> int:
    """Empty the bodies of emails sent more than OUTBOX_RETENTION_DAYS ago."""
    return purge_sent_emails(current_app.config["OUTBOX_RETENTION_DAYS"])


# The periodic jobs, in the order they run: activation reminders, Stripe reconciliation, expiry
# with its refunds, emptying old sent emails' bodies. Each is safe to repeat.
JOBS = (send_reminders, reconcile, expire_activations, purge_old_emails)


def run_schedule() -> None:
    """Run every periodic job once; one failing does not stop the others (the next run retries)."""
    for job in JOBS:
        try:
            job()
        except Exception:
            log.exception("Scheduled job %s failed", job.__name__)


def run_worker(app: Flask, stop: threading.Event | None = None) -> None:
    """Deliver due emails and webhooks until `stop` is set, polling every OUTBOX_POLL_SECONDS,
    and run the schedule every SCHEDULE_INTERVAL_SECONDS."""
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
                    deliver_due(stop=stop)
                    # Webhooks after the emails, and for a bounded time, so slow receivers
                    # cannot hold up the mail.
                    deliver_due_webhooks(budget_seconds=app.config["WEBHOOK_TIMEOUT"] * 3, stop=stop)
                    # Confirmed imports, a bounded time per pass, so their activation emails
                    # (and everyone else's) go out between turns.
                    run_imports(stop=stop)
            except Exception:  # keep the worker alive through database hiccups
                log.exception("Outbox worker pass failed")
            stop.wait(interval)


def start_worker_thread(app: Flask) -> tuple[threading.Thread, threading.Event]:
    """Run the worker in a daemon thread (development server and browser tests)."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(app, stop), name="outbox-worker", daemon=True)
    thread.start()
    return thread, stop
