"""Rate-limit counters in the app's own database: `RATELIMIT_STORAGE_URI=database://`.

With `memory://` every gunicorn worker counted on its own (30 wrong passwords on 3 workers gave
the first 429 after 17). Counting in the database every process already shares makes a limit
hold however the app is run, with nothing more to operate; Redis (`redis://...`) remains the
choice for a busy site.

A `limits` storage for the fixed-window strategy (Flask-Limiter's default): one row per key
and window, `hits` and `expires_at`. Each increment is one INSERT ... ON CONFLICT DO UPDATE
... RETURNING statement, atomic on SQLite (one writer at a time) and on PostgreSQL (the
conflicting row is locked and re-read), so concurrent requests never lose an update and each
sees its own count. A row whose window has passed reads as zero and is restarted by the next
increment; every `purge_interval` seconds (300) an increment also deletes the expired rows, so
the table holds only live windows.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager

from limits.storage import Storage
from peewee import PeeweeException

from .extensions import db

TABLE = "rate_limit_counter"


def bucket_for(key: str) -> str:
    """The stored name of a limit's key: its SHA-256, so no email or address is kept in clear,
    and any key fits the column."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@contextmanager
def _connection():
    """The request's connection when there is one; otherwise one opened (and closed) here, for
    callers outside a request such as the tests' reset between tests."""
    opened = db.is_closed()
    if opened:
        db.connect()
    try:
        yield
    finally:
        if opened and not db.is_closed():
            db.close()


class DatabaseStorage(Storage):
    """Fixed-window counters in the `rate_limit_counter` table of the app's database."""

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, purge_interval: float = 300, **options):
        self.purge_interval = float(purge_interval)
        self._last_purge = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return PeeweeException

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's count in its current window (a new window once the old has
        passed) and return the count, in one statement."""
        now = time.time()
        p = db.param
        sql = (
            f'INSERT INTO "{TABLE}" ("bucket", "hits", "expires_at") VALUES ({p}, {p}, {p}) '
            'ON CONFLICT ("bucket") DO UPDATE SET '
            f'"hits" = CASE WHEN "{TABLE}"."expires_at" <= {p} THEN excluded."hits" '
            f'ELSE "{TABLE}"."hits" + excluded."hits" END, '
            f'"expires_at" = CASE WHEN "{TABLE}"."expires_at" <= {p} THEN excluded."expires_at" '
            f'ELSE "{TABLE}"."expires_at" END '
            'RETURNING "hits"'
        )
        with _connection():
            cursor = db.execute_sql(sql, (bucket_for(key), amount, now + expiry, now, now))
            rows = cursor.fetchall()  # SQLite finishes (and commits) the statement once it is read
            cursor.close()
            if now - self._last_purge >= self.purge_interval:
                self._last_purge = now
                self.purge_expired(now)
        return int(rows[0][0])

    def get(self, key: str) -> int:
        """The key's count in its current window (0 when there is none)."""
        with _connection():
            row = db.execute_sql(
                f'SELECT "hits" FROM "{TABLE}" WHERE "bucket" = {db.param} AND "expires_at" > {db.param}',
                (bucket_for(key), time.time()),
            ).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """When the key's current window ends (now, when there is none)."""
        now = time.time()
        with _connection():
            row = db.execute_sql(
                f'SELECT "expires_at" FROM "{TABLE}" WHERE "bucket" = {db.param} AND "expires_at" > {db.param}',
                (bucket_for(key), now),
            ).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        """Whether the table can be read."""
        try:
            with _connection():
                db.execute_sql(f'SELECT 1 FROM "{TABLE}" LIMIT 1').fetchall()
            return True
        except PeeweeException:
            return False

    def clear(self, key: str) -> None:
        """Forget one key's count."""
        with _connection():
            db.execute_sql(f'DELETE FROM "{TABLE}" WHERE "bucket" = {db.param}', (bucket_for(key),))

    def reset(self) -> int | None:
        """Forget every count; returns how many counters there were."""
        with _connection():
            return db.execute_sql(f'DELETE FROM "{TABLE}"').rowcount

    def purge_expired(self, now: float | None = None) -> int:
        """Delete the counters whose window has passed; returns how many."""
        with _connection():
            return db.execute_sql(
                f'DELETE FROM "{TABLE}" WHERE "expires_at" <= {db.param}', (time.time() if now is None else now,)
            ).rowcount
