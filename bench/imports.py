"""Target 9 (issue 17): Customers > Import, on SQLite (and PostgreSQL when reachable).

- 9 check: ROWS rows read by the upload and checked by the worker (CSV read and rows stored,
  then each row through the wizard's forms and the file's own checks, in the worker's
  transactions of CHECK_BATCH rows) vs the same checks called directly in a loop
  (`Wizard.from_answers` + `checked_forms` for each row's answers): at least 0.5 of the rate.
- 9 create: rows created by the worker's import loop (`run_imports`) vs the API's create
  (POST /api/v1/customers through the Flask test client, each with its own Idempotency-Key, the
  customer option both times): at least 0.5 of the rate.
- 9 memory: RSS of a `flask outbox-worker` process after it created 100 rows of an import vs
  after ROWS: within 1.2x. White-label option rows (no emails to send), credit raised to fit.

BENCH_IMPORT_ROWS (default 10,000) sets ROWS; creating 10,000 customers takes minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from testkit.imports import csv_bytes, good_row, receive_and_check
from webapp.extensions import db
from webapp.models import CustomerImport, CustomerImportRow, Plan, User, WhiteLabel

from .harness import ADMIN, Row, build_app, close_database, log, rss_kib, throwaway_database

CHECK_LIMIT, CREATE_LIMIT, MEMORY_LIMIT = 0.5, 0.5, 1.2
ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
API_CREATES = min(ROWS, 300)
FIRST = 100
WARMUP = 20


def _rows(tag: str, count: int, **changes) -> list[dict]:
    return [good_row(i, email=f"{tag}{i:05d}@bench-import.example.com", **changes) for i in range(count)]


def _demo():
    demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
    return demo, User.get(User.email == ADMIN[0])


def _check(app, label: str) -> Row:
    from webapp.imports.checks import FileChecks, answers
    from webapp.onboarding.options import CUSTOMER
    from webapp.onboarding.service import checked_forms
    from webapp.onboarding.wizard import Wizard

    with app.app_context(), db.connection_context():
        demo, admin = _demo()
        rows = _rows("check", ROWS)
        checks = FileChecks(demo, CUSTOMER)
        prepared = [answers(checks, CUSTOMER, {k: str(v) for k, v in row.items()}, {}) for row in rows]
        for given in prepared[:WARMUP]:  # templates, plans and the first queries: not timed
            checked_forms(Wizard.from_answers(demo, CUSTOMER, given))
        receive_and_check(demo, admin, csv_bytes(_rows("warm", WARMUP)), "warm.csv", CUSTOMER)
        # The whole file in one upload, between the two halves of the direct loop, so a machine
        # whose load changes during the run slows both alike.
        half = ROWS // 2
        log(f"target 9 check on {label}: {ROWS:,} rows directly (two halves) and as one file between them")
        began = time.perf_counter()
        for given in prepared[:half]:
            checked_forms(Wizard.from_answers(demo, CUSTOMER, given))
        direct = time.perf_counter() - began
        data = csv_bytes(rows)
        began = time.perf_counter()
        job = receive_and_check(demo, admin, data, "bench.csv", CUSTOMER)  # read on upload, checked by the worker
        imported = time.perf_counter() - began
        assert not job.file_error and job.bad_rows == 0, (job.file_error, job.bad_rows)
        began = time.perf_counter()
        for given in prepared[half:]:
            checked_forms(Wizard.from_answers(demo, CUSTOMER, given))
        direct += time.perf_counter() - began
    direct_rate, import_rate = ROWS / direct, ROWS / imported
    ratio = import_rate / direct_rate
    return Row(
        f"9 import check, {ROWS:,} rows, vs the same checks in a loop ({label})",
        f"import {import_rate:.0f} rows/s, direct {direct_rate:.0f} rows/s",
        ratio,
        f">= {CHECK_LIMIT:.2f}",
        ratio >= CHECK_LIMIT,
    )


def _create(app, label: str) -> Row:
    from webapp.api.keys import create_key
    from webapp.imports.service import confirm, run_imports
    from webapp.onboarding.options import CUSTOMER

    with app.app_context(), db.connection_context():
        demo, admin = _demo()
        secret = create_key(demo, admin, name="Bench", scope="read_write").secret
        plan = Plan.get((Plan.white_label == demo.id) & (Plan.name == "Starter")).id
        job = receive_and_check(demo, admin, csv_bytes(_rows("create", ROWS)), "bench.csv", CUSTOMER)
        confirm(job, admin)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    bodies = []
    for index, row in enumerate(_rows("api", API_CREATES)):
        body = {
            "option": "customer",
            "contact": {k: row[k] for k in ("business_name", "first_name", "last_name", "email", "phone")},
            "address": {
                "line1": row["address_line1"],
                "city": row["city"],
                "postcode": row["postcode"],
                "country": "NZ",
            },
            "plan": {"plan_id": plan},
        }
        bodies.append((json.dumps(body), f"bench-{index}-{uuid.uuid4().hex}"))
    log(f"target 9 create on {label}: {API_CREATES} API creates")
    began = time.perf_counter()
    for body, key in bodies:
        response = client.post("/api/v1/customers", data=body, headers={**headers, "Idempotency-Key": key})
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
    api = time.perf_counter() - began
    log(f"target 9 create on {label}: {ROWS:,} rows by the worker's import loop")
    with app.app_context(), db.connection_context():
        began = time.perf_counter()
        handled = run_imports(budget_seconds=3600)
        imported = time.perf_counter() - began
        created = (
            CustomerImportRow.select()
            .where((CustomerImportRow.job == job.id) & (CustomerImportRow.status == CustomerImportRow.CREATED))
            .count()
        )
    assert created == ROWS, (handled, created)
    api_rate, import_rate = API_CREATES / api, ROWS / imported
    ratio = import_rate / api_rate
    return Row(
        f"9 import create, {ROWS:,} rows, vs the API's create ({label})",
        f"import {import_rate:.1f} customers/s, API {api_rate:.1f} customers/s ({API_CREATES} creates, test client)",
        ratio,
        f">= {CREATE_LIMIT:.2f}",
        ratio >= CREATE_LIMIT,
    )


def _memory(url: str, app, label: str) -> Row:
    from webapp.imports.service import confirm
    from webapp.onboarding.options import WHITE_LABEL

    with app.app_context(), db.connection_context():
        demo, admin = _demo()
        WhiteLabel.update(credit_limit=2_000_000_000).where(WhiteLabel.id == demo.id).execute()
        rows = _rows("memory", ROWS, authorized="yes")
        job = receive_and_check(demo, admin, csv_bytes(rows), "bench.csv", WHITE_LABEL)
        assert job.bad_rows == 0, list(CustomerImportRow.select().where(CustomerImportRow.status == "bad").limit(1))
        confirm(job, admin)
    close_database()
    environment = {k: v for k, v in os.environ.items() if k not in {"APP_ENV", "FLASK_ENV"}}
    environment.update(
        DATABASE_URL=url,
        SECRET_KEY="bench-secret-key",
        APP_BASE_URL="http://127.0.0.1",
        SCHEDULE_INTERVAL_SECONDS="3600",
        OUTBOX_POLL_SECONDS="0.2",
        IMPORT_BUDGET_SECONDS="3600",
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox-worker"],
        cwd=Path(__file__).resolve().parent.parent,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def created() -> int:
        with app.app_context(), db.connection_context():
            return (
                CustomerImportRow.select()
                .where((CustomerImportRow.job == job.id) & (CustomerImportRow.status == CustomerImportRow.CREATED))
                .count()
            )

    try:
        log(f"target 9 memory on {label}: a worker process creating {ROWS:,} rows")
        deadline = time.monotonic() + 3600
        while created() < FIRST:
            assert worker.poll() is None and time.monotonic() < deadline, "the worker stopped"
            time.sleep(0.05)
        first = rss_kib(worker.pid)
        while created() < ROWS:
            assert worker.poll() is None and time.monotonic() < deadline, "the worker stopped"
            time.sleep(0.5)
        last = rss_kib(worker.pid)
        with app.app_context(), db.connection_context():
            status = CustomerImport.get_by_id(job.id).status
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    ratio = last / first
    return Row(
        f"9 import worker memory, {ROWS:,} rows vs {FIRST} ({label})",
        f"RSS {last / 1024:.1f} MiB after {ROWS:,}, {first / 1024:.1f} MiB after {FIRST} (import {status})",
        ratio,
        f"<= {MEMORY_LIMIT:.2f}",
        ratio <= MEMORY_LIMIT,
    )


def run(kind: str, label: str) -> list[Row]:
    rows = []
    with throwaway_database(kind) as url:
        app = build_app(url, RATELIMIT_ENABLED=False)
        rows.append(_check(app, label))
        rows.append(_create(app, label))
    close_database()
    with throwaway_database(kind) as url:
        app = build_app(url, RATELIMIT_ENABLED=False)
        rows.append(_memory(url, app, label))
    close_database()
    return rows
