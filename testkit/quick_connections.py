"""Cheaper database connections for the tests that send thousands of requests.

With a plain `postgresql://` URL the app opens a connection per request: a new backend each
time (about 5 ms) and a flushed commit. That changes nothing a test can observe, only how long
thousands of requests take, so these tests use the same database through peewee's pool
(`postgresql+pool://`, a scheme the app accepts in DATABASE_URL) without waiting for commits
to reach the disk. SQLite needs nothing: the app pools file-backed SQLite connections itself.

Transactions, isolation and every query stay exactly what the app does.
"""

from __future__ import annotations

from contextlib import contextmanager

from playhouse.db_url import connect

from webapp.extensions import db


@contextmanager
def quick_connections(database_url: str):
    if database_url.startswith("sqlite"):
        yield
        return
    original = db.obj
    pooled_url = database_url if "+pool://" in database_url else database_url.replace("://", "+pool://", 1)
    pooled = connect(pooled_url, options="-c synchronous_commit=off")
    db.initialize(pooled)
    try:
        yield
    finally:
        if not db.is_closed():
            db.close()
        pooled.close_all()
        db.initialize(original)
