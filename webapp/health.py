"""/healthz and /readyz: small JSON answers for load balancers, deploys and monitoring.

- /healthz: the process answers (no database, nothing else): 200 {"status": "ok"}.
- /readyz: 200 when the database answers, every migration on disk is applied, and the outbox is
  not stalled (no email has been due for longer than OUTBOX_STALLED_SECONDS, which means no
  worker is sending); otherwise 503 with the check that failed. Three indexed queries.

Both are public (no sign-in: a load balancer has none) and say nothing secret: no addresses,
versions, counts or error messages, only which check failed and, for the outbox, for how long.
"""

from __future__ import annotations

from functools import cache

from flask import Blueprint, current_app, jsonify

from .database import MIGRATIONS_DIR
from .extensions import db, limiter

bp = Blueprint("health", __name__)


def _answer(body: dict, status: int = 200):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """The process is up and answering."""
    return _answer({"status": "ok"})


@cache
def migrations_on_disk() -> frozenset[str]:
    """The migrations this code expects (read once per process: they change only with the code)."""
    return frozenset(path.stem for path in MIGRATIONS_DIR.glob("[0-9]*.py"))


def _database() -> str:
    db.execute_sql("SELECT 1").fetchone()
    return "ok"


def _migrations() -> str:
    applied = {name for (name,) in db.execute_sql("SELECT name FROM migratehistory").fetchall()}
    missing = sorted(migrations_on_disk() - applied)
    if missing:
        return f"{len(missing)} not applied (run flask db-upgrade): {', '.join(missing)}"
    return "ok"


def _outbox() -> str:
    from .models import OutboxEmail, utcnow

    now = utcnow()
    oldest_due = (
        OutboxEmail.select(OutboxEmail.next_attempt_at)
        .where((OutboxEmail.status == OutboxEmail.QUEUED) & (OutboxEmail.next_attempt_at <= now))
        .order_by(OutboxEmail.next_attempt_at)
        .limit(1)
        .scalar()
    )
    overdue = (now - oldest_due).total_seconds() if oldest_due is not None else 0.0
    if overdue > current_app.config["OUTBOX_STALLED_SECONDS"]:
        return f"stalled: an email has been due for {overdue:.0f} s and no worker has tried it (is the outbox worker running?)"
    return "ok"


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Ready for traffic: database reachable, schema current, outbox moving."""
    checks = {}
    for name, check in (("database", _database), ("migrations", _migrations), ("outbox", _outbox)):
        try:
            checks[name] = check()
        except Exception as error:  # the reason's kind only: a message could hold an address
            checks[name] = f"failed ({type(error).__name__})"
            if name == "database":
                checks.update(migrations="not checked", outbox="not checked")
                break
    ready = all(value == "ok" for value in checks.values())
    return _answer({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)


# Neither opens a connection before it runs (webapp/database.py): /healthz never touches the
# database, and /readyz reports a database that is down instead of failing with it.
healthz.needs_database = False
readyz.needs_database = False
