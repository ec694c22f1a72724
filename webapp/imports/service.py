"""Importing customers from a CSV file: read it on upload, check every row in the worker
(nothing is created), then, once an administrator confirms, create them in the worker one row
per transaction.

Reading is quick and stays in the upload's request, so a file the reader refuses (encoding,
columns, size) is refused at once. Checking a row runs the wizard's forms (about 100 rows a
second on a busy 2-CPU machine): a file of thousands of rows would outlast a web worker's
timeout, so the worker checks it in turns, each a transaction that moves a batch of rows from
unchecked to ready or bad together with the job's counts, while the page shows the progress.

Each row's customer is made by the wizard's own `create_customer`, in the transaction that first
moves the row from ready to created: a worker killed half-way leaves the row ready (its whole
transaction undone), and a row already created is never claimed again, so every row is created
at most once however often the job restarts. Emails (activation links) go through the outbox
in the same transaction, as they do from the wizard and the API.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from flask import current_app
from peewee import fn

from .. import leases
from ..audit import audit
from ..extensions import db
from ..ledger import available_credit
from ..models import CustomerImport, CustomerImportRow, User, WhiteLabel, WhiteLabelMembership, utcnow
from ..onboarding import service as onboarding
from ..onboarding.options import Option, option_for
from ..onboarding.wizard import Wizard
from ..spreadsheets import CsvLines, safe_cell
from ..templating import format_money
from .checks import FileChecks, answers, check_row
from .columns import FIELD_COLUMNS, ROW
from .reader import FileRefused, read_rows

log = logging.getLogger(__name__)

BATCH = 200
Job = CustomerImport
Line = CustomerImportRow


class ImportRefused(Exception):
    """The import cannot go ahead (not enough credit, nothing to create...); says why."""


def limits() -> tuple[int, int]:
    """(largest file in bytes, most rows) one import takes."""
    return current_app.config["IMPORT_MAX_BYTES"], current_app.config["IMPORT_MAX_ROWS"]


# --- Reading an upload -------------------------------------------------------------------------


def receive_file(white_label: WhiteLabel, actor: User, stream: BinaryIO, filename: str, option: Option | None) -> Job:
    """Read an uploaded file and keep its rows for the worker to check (run_imports); nothing is
    created. A file the reader refuses comes back with `file_error` set and no rows. The
    administrator's earlier unconfirmed file, if any, is replaced by this one.

    The rows are stored a batch per transaction, so the job waits as `reading` (which no worker
    claims) until the last one is in: a worker must never find the rows stored so far, check
    them and call the file checked while the rest are still arriving."""
    max_bytes, max_rows = limits()
    _discard_unconfirmed(white_label, actor)
    job = Job.create(
        white_label=white_label,
        created_by=actor,
        filename=_storable(filename or "")[:255],
        option=option.key if option else "",
        status=Job.READING,
    )
    total = 0
    batch: list[dict] = []
    try:
        for row in read_rows(stream, per_row=option is None, max_bytes=max_bytes, max_rows=max_rows):
            total += 1
            batch.append(
                {"job": job.id, "line": row.line, "cells": row.cells, "errors": row.errors, "status": Line.UNCHECKED}
            )
            if len(batch) >= BATCH:
                _store(batch)
    except FileRefused as refused:
        batch.clear()
        Line.delete().where(Line.job == job.id).execute()
        # The message may quote the file (a column's name): PostgreSQL cannot hold a NUL character.
        job.file_error, total = _storable(str(refused)), 0
    _store(batch)
    job.total_rows = total
    if not job.file_error and total == 0:
        job.file_error = "The file has column names but no customers. Add one row per customer."
    if not job.file_error:
        job.status, job.next_attempt_at = Job.TO_CHECK, utcnow()  # every row is in: the worker may start
    job.save()
    return job


def _storable(text: str) -> str:
    """Text from the file or its name as the database can hold it (no NUL characters)."""
    return text.replace("\x00", "\ufffd")


def _store(batch: list[dict]) -> None:
    if batch:
        with db.atomic():
            Line.insert_many(batch).execute()
        batch.clear()


UNCONFIRMED = (Job.READING, Job.TO_CHECK, Job.CHECKING, Job.CHECKED)


def _discard_unconfirmed(white_label: WhiteLabel, actor: User) -> None:
    """A new upload replaces the administrator's earlier file that was not confirmed (a worker
    still checking it stops at its next batch: its claim no longer holds)."""
    old = [
        job.id
        for job in Job.select(Job.id).where(
            (Job.white_label == white_label.id) & (Job.created_by == actor.id) & Job.status.in_(UNCONFIRMED)
        )
    ]
    if old:
        with db.atomic():
            # The job rows first, as a worker saving its checks locks them (_save_checks): one
            # order of locks, so the two never deadlock on PostgreSQL.
            Job.update(status=Job.DISCARDED, locked_until=None).where(
                Job.id.in_(old) & Job.status.in_(UNCONFIRMED)
            ).execute()
            Line.delete().where(Line.job.in_(old)).execute()


def checking(job: Job) -> bool:
    """The worker has not finished checking the file's rows yet (or not started: still being read)."""
    return job.status in (Job.READING, Job.TO_CHECK, Job.CHECKING)


def rows_read(job: Job) -> int:
    """How many of the file's rows are stored so far (while it is being read: `total_rows` is
    written when the last one is in)."""
    return Line.select().where(Line.job == job.id).count()


def checked_count(job: Job) -> int:
    """How many of the file's rows the worker has checked so far (none while it is being read)."""
    if job.status == Job.READING:
        return 0
    if not checking(job):
        return job.total_rows
    unchecked = Line.select().where((Line.job == job.id) & (Line.status == Line.UNCHECKED)).count()
    return job.total_rows - unchecked


def ready_count(job: Job) -> int:
    return job.total_rows - job.bad_rows


def credit_problem(job: Job, white_label: WhiteLabel | None = None) -> str | None:
    """Why the white-label cannot pay the first month of every ready row at once, or None."""
    if not job.charges:
        return None
    white_label = white_label or job.white_label
    available = available_credit(white_label)
    if job.charges <= available:
        return None
    currency = white_label.currency
    return (
        f"The first month of the customers you would administer comes to {format_money(job.charges, currency)}, "
        f"but your white-label account has only {format_money(available, currency)} available (balance plus "
        f"credit limit of {format_money(white_label.credit_limit, currency)}). Remove some of those rows, or "
        "add funds to your white-label account, then upload the file again."
    )


def bad_rows(job: Job, limit: int | None = None) -> Iterator[Line]:
    """The rows the checks refused, in file order."""
    query = (
        Line.select(Line.line, Line.errors).where((Line.job == job.id) & (Line.status == Line.BAD)).order_by(Line.line)
    )
    return iter(query.limit(limit) if limit else query.iterator())


def error_list(errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    """A row's errors as (column, message) pairs, the whole row's first."""
    pairs = [("", m) for m in errors.get(ROW, [])]
    return pairs + [(column, m) for column, messages in errors.items() if column != ROW for m in messages]


# --- Confirming and cancelling ----------------------------------------------------------------


def confirm(job: Job, actor: User) -> Job:
    """Start creating the ready rows: the worker takes the job from here. Confirming twice (a
    double click) starts it once."""
    with db.atomic():
        white_label = onboarding.lock_white_label(job.white_label)
        current = Job.get_by_id(job.id)
        if current.status != Job.CHECKED:
            return current
        if current.file_error or ready_count(current) == 0:
            raise ImportRefused("There are no rows ready to create. Fix the file and upload it again.")
        problem = credit_problem(current, white_label)
        if problem:
            raise ImportRefused(problem)
        now = utcnow()
        Job.update(status=Job.QUEUED, confirmed_at=now, next_attempt_at=now).where(
            (Job.id == job.id) & (Job.status == Job.CHECKED)
        ).execute()
        audit(
            white_label,
            "customer_import_confirmed",
            actor=actor,
            import_id=job.id,
            filename=current.filename,
            rows=ready_count(current),
        )
    return Job.get_by_id(job.id)


def cancel(job: Job, actor: User) -> Job:
    """Stop creating: the customers already created stay, the rows not reached are skipped."""
    with db.atomic():
        stopped = (
            Job.update(status=Job.CANCELLED, finished_at=utcnow(), locked_until=None)
            .where((Job.id == job.id) & Job.status.in_((*UNCONFIRMED, Job.QUEUED, Job.RUNNING)))
            .execute()
        )
        if stopped:
            Line.update(status=Line.SKIPPED, reason="Not created: the import was cancelled before this row.").where(
                (Line.job == job.id) & Line.status.in_((Line.READY, Line.UNCHECKED))
            ).execute()
            audit(job.white_label_id, "customer_import_cancelled", actor=actor, import_id=job.id)
    return Job.get_by_id(job.id)


# --- Progress and the report ------------------------------------------------------------------


@dataclass
class Progress:
    total: int
    bad: int
    created: int
    failed: int
    skipped: int
    ready: int

    @property
    def to_create(self) -> int:
        return self.total - self.bad

    @property
    def done(self) -> int:
        return self.created + self.failed + self.skipped

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.to_create) if self.to_create else 100


def progress(job: Job) -> Progress:
    counts = dict(Line.select(Line.status, fn.COUNT(Line.id)).where(Line.job == job.id).group_by(Line.status).tuples())
    return Progress(
        total=job.total_rows,
        bad=counts.get(Line.BAD, 0),
        created=counts.get(Line.CREATED, 0),
        failed=counts.get(Line.FAILED, 0),
        skipped=counts.get(Line.SKIPPED, 0),
        ready=counts.get(Line.READY, 0),
    )


def report_lines(job: Job, customer_url: Callable[[int], str]) -> Iterator[str]:
    """The report as CSV text, a row at a time: each file row and what became of it (the
    customer's link, or why not). `customer_url(id)` makes the link."""
    lines = CsvLines()

    def line(cells: Iterable[object]) -> str:
        return lines.line(safe_cell(c) for c in cells)

    yield line(["row", "result", "business_name", "email", "customer_link", "reason"])
    query = (
        Line.select(Line.line, Line.status, Line.cells, Line.errors, Line.reason, Line.customer)
        .where(Line.job == job.id)
        .order_by(Line.line)
    )
    words = {
        Line.CREATED: "created",
        Line.BAD: "not created",
        Line.FAILED: "not created",
        Line.SKIPPED: "not created",
        Line.READY: "waiting",
        Line.UNCHECKED: "not checked yet",
    }
    for row in query.iterator():
        if row.status == Line.CREATED and row.customer_id is None:
            reason = "Created; the customer has since been deleted."
        elif row.status == Line.BAD:
            reason = "; ".join(f"{c}: {m}" if c else m for c, m in error_list(row.errors))
        else:
            reason = row.reason
        link = customer_url(row.customer_id) if row.customer_id else ""
        yield line(
            [
                row.line,
                words.get(row.status, row.status),
                row.cells.get("business_name", ""),
                row.cells.get("email", ""),
                link,
                reason,
            ]
        )


# --- The worker's side ------------------------------------------------------------------------


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])


CHECK_BATCH = 50  # rows checked per transaction (about half a second of the wizard's forms)


def run_imports(
    stop: threading.Event | None = None, budget_seconds: float | None = None, checks_only: bool = False
) -> int:
    """Work on imports for up to `budget_seconds` (IMPORT_BUDGET_SECONDS): claim one with a
    lease, check its rows (an upload) or create its ready rows (a confirmed import), and hand it
    back or finish that stage. Returns rows handled. `checks_only`: uploads only (tests)."""
    budget = current_app.config["IMPORT_BUDGET_SECONDS"] if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    now = utcnow()
    waiting = (Job.TO_CHECK,) if checks_only else (Job.TO_CHECK, Job.QUEUED)
    holding = (Job.CHECKING,) if checks_only else (Job.CHECKING, Job.RUNNING)
    due = Job.status.in_(waiting) & (Job.next_attempt_at <= now)
    abandoned = Job.status.in_(holding) & (Job.locked_until < now)
    candidates = list(Job.select(Job.id, Job.status).where(due | abandoned).order_by(Job.id).limit(10).tuples())
    handled = 0
    for job_id, status in candidates:
        if (stop is not None and stop.is_set()) or time.monotonic() >= deadline:
            break
        handled += _turn(job_id, status in (Job.TO_CHECK, Job.CHECKING), deadline, stop)
    return handled


def _turn(job_id: int, checks: bool, deadline: float, stop: threading.Event | None) -> int:
    """One worker's turn at one import: its checks or its creation, whichever stage it is in."""
    waiting, holding = (Job.TO_CHECK, Job.CHECKING) if checks else (Job.QUEUED, Job.RUNNING)
    claimed = leases.claim(Job, job_id, now=utcnow(), lease=lease(), waiting=waiting, sending=holding)
    if claimed is None:
        return 0
    job = Job.get_by_id(job_id)
    if claimed == leases.TAKEN_OVER:
        log.warning("Import %s taken over after its worker's lease ran out: carrying on", job.id)
    with leases.Heartbeat(Job, job, lease()) as beat:
        finished, count = _check(job, deadline, stop, beat) if checks else _work(job, deadline, stop, beat)
    mine = leases.still_mine(Job, job)
    if finished and checks:
        Job.update(status=Job.CHECKED, locked_until=None).where(mine).execute()
        log.info("Import %s checked", job.id)
    elif finished:
        Job.update(status=Job.DONE, finished_at=utcnow(), locked_until=None).where(mine).execute()
        log.info("Import %s finished", job.id)
    else:
        Job.update(status=waiting, locked_until=None, next_attempt_at=utcnow()).where(mine).execute()
    return count


def _check(job: Job, deadline: float, stop: threading.Event | None, beat: leases.Heartbeat) -> tuple[bool, int]:
    """Check the file's unchecked rows in line order until none is left (True) or time is up
    (False). A turn that starts half-way reads what the rows checked before it hold in the file."""
    checks = FileChecks(job.white_label, option_for(job.option))
    earlier = (
        Line.select(Line.line, Line.claims)
        .where((Line.job == job.id) & Line.status.in_((Line.READY, Line.BAD)) & (Line.claims != {}))
        .order_by(Line.line)
    )
    for row in earlier.iterator():
        checks.restore(row.claims, row.line)
    count = 0
    while True:
        rows = list(
            Line.select(Line.id, Line.line, Line.cells, Line.errors)
            .where((Line.job == job.id) & (Line.status == Line.UNCHECKED))
            .order_by(Line.line)
            .limit(CHECK_BATCH)
        )
        if not rows:
            return True, count
        results = []
        for row in rows:
            if (stop is not None and stop.is_set()) or time.monotonic() >= deadline or beat.lost:
                break
            errors = dict(row.errors)  # what reading the row found, and now what the checks find
            results.append((row, errors, check_row(checks, row.cells, errors, row.line)))
        if not results or not _save_checks(job, results):
            return False, count
        count += len(results)
        if len(results) < len(rows):
            return False, count


def _save_checks(job: Job, results: list) -> bool:
    """Write one batch of checked rows and add them to the job's counts, in one transaction and
    only while this worker's claim holds (False: another worker took the job over, or the
    upload was replaced or cancelled, and nothing is written)."""
    bad = sum(1 for _, errors, _ in results if errors)
    charges = sum(checked.charge for _, errors, checked in results if not errors)
    with db.atomic():
        held = (
            Job.update(bad_rows=Job.bad_rows + bad, charges=Job.charges + charges)
            .where(leases.still_mine(Job, job))
            .execute()
        )
        if not held:
            return False
        for row, errors, checked in results:
            Line.update(status=Line.BAD if errors else Line.READY, errors=errors, claims=checked.claims).where(
                (Line.id == row.id) & (Line.status == Line.UNCHECKED)
            ).execute()
    return True


def _work(job: Job, deadline: float, stop: threading.Event | None, beat: leases.Heartbeat) -> tuple[bool, int]:
    """Create the job's ready rows until none is left (True) or time is up (False)."""
    actor = User.get_or_none(User.id == job.created_by_id)
    refusal = _actor_refusal(job, actor)
    checks = FileChecks(job.white_label, option_for(job.option))
    count = 0
    while True:
        rows = list(
            Line.select(Line.id, Line.line, Line.cells)
            .where((Line.job == job.id) & (Line.status == Line.READY))
            .order_by(Line.line)
            .limit(50)
        )
        if not rows:
            return True, count
        for row in rows:
            if (stop is not None and stop.is_set()) or time.monotonic() >= deadline or beat.lost:
                return False, count
            if refusal:
                Line.update(status=Line.FAILED, reason=refusal).where(
                    (Line.id == row.id) & (Line.status == Line.READY)
                ).execute()
            else:
                create_row(job, row, checks, actor)
            count += 1
        if Job.select(Job.status).where(Job.id == job.id).scalar() != Job.RUNNING:
            return False, count  # cancelled: what is done stays


def _actor_refusal(job: Job, actor: User | None) -> str | None:
    membership = (
        WhiteLabelMembership.get_or_none(
            (WhiteLabelMembership.user == actor.id) & (WhiteLabelMembership.white_label == job.white_label_id)
        )
        if actor is not None
        else None
    )
    if membership is None or membership.role != WhiteLabelMembership.ADMINISTRATOR or not actor.is_active:
        return "Not created: the administrator who confirmed the import is no longer an administrator."
    return None


def create_row(job: Job, row: Line, checks: FileChecks, actor: User) -> None:
    """Create one row's customer, at most once: the row is claimed (ready -> created) as the
    transaction's first write, and the customer made in the same transaction."""
    option = checks.option or option_for((row.cells.get("administered_by") or "").strip().lower())
    with db.atomic():
        claimed = Line.update(status=Line.CREATED).where((Line.id == row.id) & (Line.status == Line.READY)).execute()
        if not claimed:
            return
        white_label = onboarding.lock_white_label(job.white_label, option)
        errors: dict = {}
        wizard = Wizard.from_answers(white_label, option, answers(checks, option, row.cells, errors))
        try:
            with db.atomic():
                customer = onboarding.create_customer(wizard, actor, via=f"import {job.id}")
        except onboarding.StepProblem as problem:
            Line.update(status=Line.FAILED, reason=_reason(problem, wizard)).where(Line.id == row.id).execute()
            return
        Line.update(customer=customer.id).where(Line.id == row.id).execute()


def _reason(problem: onboarding.StepProblem, wizard: Wizard) -> str:
    form = problem.form
    if form is None:  # found taken while writing (a number): the step's form now says which
        form = wizard.form(problem.step, stored=True)
        form.validate()
    messages = [f"{FIELD_COLUMNS.get(name, name)}: {m}" for name, ms in form.errors.items() for m in ms]
    return "Not created: " + ("; ".join(messages) or "this row’s answers are no longer possible. Check it.")
