"""API keys: made and revoked by a white-label's administrators, checked on every API request.
No request handling here.

A key reads `pbx_<prefix>_<secret>`: the prefix (8 hex characters) names the key in lists and
logs; the secret is 256 random bits. Only the SHA-256 of the whole key is stored. A slow hash
(scrypt, bcrypt) protects a password a person chose, which can be guessed; nobody can guess 256
random bits, so a fast hash loses nothing, and it lets each request find its key with one
indexed look-up instead of paying ~50 ms of scrypt per request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from peewee import JOIN, Case

from ..audit import audit
from ..extensions import db
from ..models import ApiKey, User, WhiteLabel, WhiteLabelMembership, utcnow
from ..prepared import prepared
from ..tenancy import belongs_to

KEY_PATTERN = re.compile(r"pbx_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
# last_used_at is written at most once a minute per key: not a write on every request.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass
class NewKey:
    row: ApiKey
    secret: str  # the whole key, shown once and never stored


def create_key(white_label: WhiteLabel, actor: User, *, name: str, scope: str) -> NewKey:
    """Make a key for the white-label; the caller shows `secret` once. Audited."""
    if scope not in ApiKey.SCOPE_LABELS:
        raise ValueError(f"unknown scope {scope!r}")
    with db.atomic():
        while True:
            prefix = secrets.token_hex(4)
            if not ApiKey.select().where(ApiKey.prefix == prefix).exists():
                break
        raw = f"pbx_{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiKey.create(
            white_label=white_label,
            name=name.strip(),
            prefix=prefix,
            secret_hash=hash_key(raw),
            scope=scope,
            created_by=actor,
        )
        audit(white_label, "api_key_created", actor=actor, name=row.name, prefix=prefix, scope=scope)
    return NewKey(row, raw)


def revoke_key(key: ApiKey, actor: User) -> bool:
    """Stop the key working from the next request on. Audited; False if it was already revoked."""
    with db.atomic():
        revoked = (
            ApiKey.update(revoked_at=utcnow(), revoked_by=actor)
            .where((ApiKey.id == key.id) & ApiKey.revoked_at.is_null())
            .execute()
        )
        if revoked:
            audit(key.white_label_id, "api_key_revoked", actor=actor, name=key.name, prefix=key.prefix)
    return bool(revoked)


@prepared
def _live_key(secret_hash):
    creator = WhiteLabelMembership.alias()
    return (
        # The key's administrator comes along: every write acts as them (api/routes.py _actor).
        ApiKey.select(ApiKey, WhiteLabel, User)
        .join(WhiteLabel, on=(ApiKey.white_label == WhiteLabel.id))
        .join_from(ApiKey, User, on=(ApiKey.created_by == User.id), attr="created_by")
        .join_from(
            ApiKey,
            creator,
            on=(
                (creator.user == ApiKey.created_by)
                & (creator.white_label == ApiKey.white_label)
                & (creator.role == WhiteLabelMembership.ADMINISTRATOR)
            ),
        )
        .where((ApiKey.secret_hash == secret_hash) & ApiKey.revoked_at.is_null())
        .limit(1)
    )


def authenticate(raw: str | None) -> ApiKey | None:
    """The live key `raw` names, with its white-label and administrator loaded; None for anything else (unknown,
    malformed, revoked, or made by someone who is no longer the white-label's administrator).
    Every API request asks, so the look-up is prepared (compiled once)."""
    if not raw or not KEY_PATTERN.fullmatch(raw):
        return None
    key = _live_key.first(secret_hash=hash_key(raw))
    if key is None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.update(last_used_at=now).where(
            (ApiKey.id == key.id)
            & (ApiKey.last_used_at.is_null() | (ApiKey.last_used_at <= now - LAST_USED_RESOLUTION))
        ).execute()
        key.last_used_at = now
    return key


def keys_of(white_label: WhiteLabel) -> list[ApiKey]:
    """Every key of the white-label, live ones first, newest first."""
    return list(
        ApiKey.select(ApiKey, User)
        .join(User, on=(ApiKey.created_by == User.id), join_type=JOIN.LEFT_OUTER)
        .where(belongs_to(ApiKey, of=white_label))
        .order_by(Case(None, [(ApiKey.revoked_at.is_null(), 0)], 1), ApiKey.created_at.desc(), ApiKey.id.desc())
    )
