"""Cheaper database connections for the tests that send thousands of requests.

The app opens and closes a connection per request. On PostgreSQL that is a new backend
each time (about 5 ms) and a flushed commit; on SQLite, closing the last connection
checkpoints the write-ahead log. Neither changes what a test can observe, only how long
thousands of requests take, so these tests trim both:

- PostgreSQL: the same database through peewee's pool (`postgresql+pool://`, a scheme the
  app accepts in DATABASE_URL) without waiting for commits to reach the disk;
- SQLite: one more connection held open, as a busy server would have.

Transactions, isolation and every query stay exactly what the app does.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager

from playhouse.db_url import connect

from webapp.extensions import db


@contextmanager
def quick_connections(database_url: str):
    if database_url.startswith("sqlite"):
        keeper = sqlite3.connect(database_url.split("sqlite:///", 1)[1])
        try:
            keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()
            yield
        finally:
            keeper.close()
        return
    original = db.obj
    pooled = connect(database_url.replace("://", "+pool://", 1), options="-c synchronous_commit=off")
    db.initialize(pooled)
    try:
        yield
    finally:
        if not db.is_closed():
            db.close()
        pooled.close_all()
        db.initialize(original)
