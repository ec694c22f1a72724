"""Binding the database proxy, per-request connections, and schema migrations."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from peewee import Database, SqliteDatabase
from peewee_migrate import Router
from playhouse.db_url import connect

from .extensions import db

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# WAL lets the outbox worker and the web app use one SQLite file at once; foreign keys make
# SQLite enforce what PostgreSQL enforces; busy_timeout waits for a writer instead of failing.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
}


def open_database(url: str) -> Database:
    """Connect-on-demand database object for a DATABASE_URL."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        options = {
            "pragmas": SQLITE_PRAGMAS,
            # IMMEDIATE: a transaction takes the write lock when it begins. A deferred one that
            # reads, then writes, fails at once with "database is locked" if another connection
            # (the outbox worker, another request) wrote in between; busy_timeout cannot help it.
            "lock_type": "IMMEDIATE",
        }
        if path and path != ":memory:":  # an in-memory database lives and dies with its connection
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if url.startswith(("sqlite:///", "sqlite+pool:///")):
                # Pooled: a request takes an open connection and gives it back. Opening one per
                # request cost two thirds of a bare page (four pragmas each time), and closing
                # the last connection after a write checkpoints the WAL, which a plain page then
                # paid for. The pool hands a connection to one thread at a time; requests past
                # max_connections wait up to 10 s for one rather than fail.
                url = "sqlite+pool:///" + path
                options.update(check_same_thread=False, max_connections=32, timeout=10, stale_timeout=600)
        return connect(url, **options)
    return connect(url)


def init_app(app: Flask) -> None:
    """Bind the proxy to the configured database and open a connection per request."""
    database = open_database(app.config["DATABASE_URL"])
    database.server_prepare = app.config.get("DATABASE_SERVER_PREPARE", True)  # prepared.py
    db.initialize(database)
    app.extensions["database"] = database

    @app.before_request
    def _connect() -> None:
        # A view marked `needs_database = False` (/healthz, /readyz) must answer, or say what
        # failed, when the database is down: it connects on its first query, if it has one.
        if getattr(app.view_functions.get(request.endpoint), "needs_database", True):
            db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(_exc) -> None:
        if not db.is_closed():
            db.close()


def migration_router() -> Router:
    """The peewee-migrate router: the only way the schema changes."""
    return Router(db, migrate_dir=str(MIGRATIONS_DIR), ignore=["basemodel"])


def upgrade(target: str | None = None) -> list[str]:
    """Apply every migration not applied yet (up to `target`, when named); returns the names applied.

    SQLite changes most column definitions by rebuilding the table (copy, drop the old one,
    rename the copy). With foreign keys enforced, dropping the old table runs its ON DELETE
    actions: rebuilding `white_label` deleted every customer, plan and role that pointed at it.
    So, as SQLite's own procedure for schema changes says, foreign keys are off while migrations
    run, and the upgrade stops if the result breaks a reference (`PRAGMA foreign_key_check`).
    """
    with db.connection_context():
        if not is_sqlite():
            return migration_router().run(target)
        db.execute_sql("PRAGMA foreign_keys = OFF")  # outside any transaction, or it does nothing
        try:
            applied = migration_router().run(target)
            broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migrations left rows pointing at rows that do not exist: {broken[:5]}")
            return applied
        finally:
            db.execute_sql("PRAGMA foreign_keys = ON")


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def locked(query):
    """`query` with FOR UPDATE on PostgreSQL, so concurrent transactions queue for the row.
    SQLite needs nothing: its IMMEDIATE transactions already hold the one write lock."""
    return query if is_sqlite() else query.for_update()
