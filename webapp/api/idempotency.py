"""`Idempotency-Key` on every POST, with Stripe's semantics.

The key is claimed (a row inserted under a unique (white-label, key) index) as the first write
of the transaction that makes the change (after the change's own row locks, if it takes any),
and the answer is stored in the same transaction. So a change and its key commit together or
not at all. Nothing is looked up before the claim, so a new key costs one insert; a claim that
finds the key taken rolls its transaction back and reads the stored answer. A second request
with the same key while the first is still running waits (at the white-label lock a create of
the white-label option takes, or at the insert: PostgreSQL holds it on the unique index;
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
from ..prepared import prepared
from ..tenancy import belongs_to
from .problems import Problem

REPLAY_WINDOW = dt.timedelta(hours=24)


def fingerprint() -> str:
    """The request as far as idempotency is concerned: method, path and the body's JSON
    (keys sorted, so the same object written in another order is the same request)."""
    body = request.get_json(silent=True)  # parsed once per request (cached); None without a JSON body
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")) if body is not None else ""
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


@prepared
def _key_row(white_label, key):
    return (
        ApiIdempotencyKey.select()
        .where(belongs_to(ApiIdempotencyKey, of=white_label) & (ApiIdempotencyKey.key == key))
        .limit(1)
    )


@prepared
def _store_answer(claim_id, status, response_body, location):
    return ApiIdempotencyKey.update(status=status, response_body=response_body, location=location).where(
        ApiIdempotencyKey.id == claim_id
    )


def _stored(key: str) -> ApiIdempotencyKey | None:
    row = _key_row.first(white_label=g.api_white_label, key=key)
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
    # The claim comes first, without looking for the key beforehand: a new key (nearly every
    # request) costs one insert and no look-up. A key already used fails the claim, and only
    # then is its stored answer read. A key older than 24 hours is forgotten by that read, and
    # the change is tried once more.
    for _attempt in range(2):
        claimed = False
        try:
            with db.atomic():
                if lock is not None:
                    lock()
                # The claim is the transaction's first write, so when the key is taken (or
                # another request with it committed first, this one having waited for it here),
                # rolling the whole transaction back loses nothing: no savepoint needed.
                claim = ApiIdempotencyKey.create(
                    white_label=g.api_white_label,
                    key=key,
                    api_key=g.api_key,
                    request_hash=digest,
                    status=0,
                    response_body="",
                )
                claimed = True
                response = change()
                _store_answer.execute(
                    claim_id=claim.id,
                    status=response.status_code,
                    response_body=response.get_data(as_text=True),
                    location=response.headers.get("Location", "")[:255],
                )
                return response
        except IntegrityError:
            if claimed:  # the change's own, not the claim's
                raise
        found = _stored(key)
        if found is not None:
            return _replay(found, digest)
    raise Problem(
        "conflict",
        "Another request with this Idempotency-Key is still being processed. Send this one again in a moment.",
    )


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
