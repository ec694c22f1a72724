"""`Idempotency-Key` on every POST, with Stripe's semantics.

The key is claimed (a row inserted under a unique (white-label, key) index) as the first write
of the transaction that makes the change (after the change's own row locks, if it takes any),
and the answer is stored in the same transaction. So a change and its key commit together or
not at all. A second request with the same key while the first is still running waits (at the
white-label lock a create of the white-label option takes, or at the insert: PostgreSQL holds it on the unique index;
SQLite's IMMEDIATE transactions hold the write lock) and, once the first has committed, finds
the key taken and replays the stored answer. Within 24 hours the same key and body replay the
first answer; the same key with another method, URL or body is refused.

A refused request (any Problem) rolls back with its key: it changed nothing, so the key can
be used again, and a corrected request with it is not taken for a replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable

from flask import Response, g, request
from peewee import IntegrityError

from ..extensions import db
from ..models import ApiIdempotencyKey, utcnow
from ..tenancy import belongs_to
from .problems import Problem

REPLAY_WINDOW = dt.timedelta(hours=24)


def fingerprint() -> str:
    """The request as far as idempotency is concerned: method, path and the body's JSON
    (keys sorted, so the same object written in another order is the same request)."""
    body = request.get_json(silent=True)  # parsed once per request (cached); None without a JSON body
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")) if body is not None else ""
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _stored(key: str) -> ApiIdempotencyKey | None:
    row = ApiIdempotencyKey.get_or_none(
        belongs_to(ApiIdempotencyKey, of=g.api_white_label) & (ApiIdempotencyKey.key == key)
    )
    if row is not None and row.created_at < utcnow() - REPLAY_WINDOW:
        # Older than 24 hours: forgotten, so the key may name a new request.
        ApiIdempotencyKey.delete().where(ApiIdempotencyKey.id == row.id).execute()
        return None
    return row


def _replay(row: ApiIdempotencyKey, digest: str) -> Response:
    if row.request_hash != digest:
        raise Problem("idempotency-key-reused")
    headers = {"Idempotent-Replayed": "true"}
    if row.location:
        headers["Location"] = row.location
    return Response(row.response_body, status=row.status, mimetype="application/json", headers=headers)


def run(change: Callable[[], Response], *, lock: Callable[[], object] | None = None) -> Response:
    """Make the change in one transaction, once per Idempotency-Key (when the request has one).

    `lock` takes the change's row locks before the key is claimed. It must come first: the
    claim's insert holds a key-share lock on the white-label row (its foreign key), so two
    creates that claimed first and then asked for the white-label row FOR UPDATE would each
    wait for the other (PostgreSQL found that deadlock under load)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        with db.atomic():
            if lock is not None:
                lock()
            return change()
    digest = fingerprint()
    found = _stored(key)
    if found is not None:
        return _replay(found, digest)
    with db.atomic():
        if lock is not None:
            lock()
        try:
            with db.atomic():  # a savepoint: a failed claim leaves the transaction usable
                claim = ApiIdempotencyKey.create(
                    white_label=g.api_white_label,
                    key=key,
                    api_key=g.api_key,
                    request_hash=digest,
                    status=0,
                    response_body="",
                )
        except IntegrityError:
            # Another request with this key committed first (this one waited for it at the claim).
            found = _stored(key)
            if found is None:
                raise Problem(
                    "conflict",
                    "Another request with this Idempotency-Key is still being processed. "
                    "Send this one again in a moment.",
                ) from None
            return _replay(found, digest)
        response = change()
        ApiIdempotencyKey.update(
            status=response.status_code,
            response_body=response.get_data(as_text=True),
            location=response.headers.get("Location", "")[:255],
        ).where(ApiIdempotencyKey.id == claim.id).execute()
        return response


def purge_expired(now: dt.datetime | None = None) -> int:
    """Forget keys older than 24 hours; returns how many."""
    cutoff = (now or utcnow()) - REPLAY_WINDOW
    return ApiIdempotencyKey.delete().where(ApiIdempotencyKey.created_at < cutoff).execute()


def register_commands(bp) -> None:
    """`flask api purge-idempotency-keys`: for cron, next to purge-drafts."""
    import click

    @bp.cli.command("purge-idempotency-keys")
    def purge_command():
        """Forget Idempotency-Keys older than 24 hours."""
        with db.connection_context():
            click.echo(f"Forgot {purge_expired()} Idempotency-Keys older than 24 hours.")
