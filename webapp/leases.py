"""Claims with a short lease and a heartbeat: how a worker holds a row while it sends it.

Outbox emails and webhook deliveries are sent by whichever worker claims them first: one
conditional UPDATE moves the row to "sending" with `locked_until = now + lease`, so two workers
never send one attempt. While the send is in progress a heartbeat thread pushes `locked_until`
forward every third of the lease, so a live worker keeps its row however long a slow SMTP server
or receiver takes. A worker that dies (killed, out of memory, its machine gone) stops beating:
its row's lease runs out within OUTBOX_LEASE_SECONDS and the next worker takes it over.

A take-over is counted on the row (`lease_resends`) and as a metric, because the worker that died
may already have handed the message over: SMTP and HTTP have no way to ask "did you get it?", so
this is the one window where a message can go twice (with the same Message-ID or webhook-id, so
mail clients and receivers can fold the copies). Everything else is exactly once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from .extensions import db
from .models import utcnow

log = logging.getLogger(__name__)

# What claim() says about a row it took.
DUE = "due"  # waiting and due: a first attempt or a retry
TAKEN_OVER = "taken over"  # "sending", but its worker stopped renewing the lease


def claim(model, row_id: int, *, now: dt.datetime, lease: dt.timedelta, waiting: str, sending: str) -> str | None:
    """Take the row for this worker: DUE, TAKEN_OVER, or None when another worker has it or it
    is not due. Each is one conditional UPDATE, so exactly one of several workers wins."""
    fields = model._meta.fields
    taken = (
        model.update(
            status=sending,
            locked_until=now + lease,
            attempts=fields["attempts"] + 1,
            lease_resends=fields["lease_resends"] + 1,
        )
        .where((model.id == row_id) & (model.status == sending) & (model.locked_until < now))
        .execute()
    )
    if taken == 1:
        return TAKEN_OVER
    claimed = (
        model.update(status=sending, locked_until=now + lease, attempts=fields["attempts"] + 1)
        .where((model.id == row_id) & (model.status == waiting) & (model.next_attempt_at <= now))
        .execute()
    )
    return DUE if claimed == 1 else None


def still_mine(model, row) -> object:
    """The condition that the row is still this worker's claim (same attempt, still sending):
    an outcome written under it cannot undo a later worker's take-over."""
    return (model.id == row.id) & (model.status == row.status) & (model.attempts == row.attempts)


class Heartbeat:
    """While the `with` block runs, renew the claimed row's lease every third of it.

    The beats run in a thread with their own database connection, so they go on while the
    worker's thread waits on a socket. `beats` counts renewals; `lost` is set when the row was no
    longer this worker's (another took it over after beats failed for a whole lease)."""

    def __init__(self, model, row, lease: dt.timedelta, clock: Callable[[], dt.datetime] = utcnow):
        self.model = model
        self.row = row
        self.lease = lease
        self.clock = clock
        self.beats = 0
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(
            target=self._beat, name=f"lease-{self.model._meta.table_name}-{self.row.id}", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        interval = self.lease.total_seconds() / 3
        condition = still_mine(self.model, self.row)
        while not self._stop.wait(interval):
            try:
                with db.connection_context():
                    renewed = self.model.update(locked_until=self.clock() + self.lease).where(condition).execute()
            except Exception as error:  # the database hiccuped: try again at the next beat
                log.warning("Could not renew the lease of %s %s: %s", self.model._meta.table_name, self.row.id, error)
                continue
            if renewed != 1:
                self.lost = True
                log.warning(
                    "%s %s was taken over by another worker during a send", self.model._meta.table_name, self.row.id
                )
                return
            self.beats += 1
