"""Emailed single-use links (activation, invitation): random tokens of 256 bits of which only a
SHA-256 is stored, and whether a link can still be used."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .database import locked
from .models import ActivationToken, Customer, OutboxEmail, utcnow


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh link token (256 random bits, URL-safe) and the SHA-256 that is all we store of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def issue_token(
    customer: Customer,
    purpose: str,
    ttl_seconds: int,
    *,
    revoke_others: bool = True,
    new_customer: bool = False,
    email_for: Callable[[str, dt.datetime], OutboxEmail] | None = None,
) -> tuple[str, ActivationToken]:
    """Create a token for `customer`; unless told otherwise, every older unused one of the same
    purpose stops working (invitations revoke per person instead). `email_for(token, expires_at)`
    queues the email that carries the link; the token's row records it.

    `new_customer`: the customer was inserted by this transaction, so no other connection can
    see it yet: it has no older token to revoke and no resend can race this one, so neither the
    row lock nor the revoking UPDATE is needed."""
    now = utcnow()
    if new_customer:
        revoke_others = False
    else:
        # Two resends at once must leave one valid link: the second waits for the first here.
        locked(Customer.select(Customer.id).where(Customer.id == customer.id)).get()
    if revoke_others:
        ActivationToken.update(revoked_at=now).where(
            (ActivationToken.customer == customer.id)
            & (ActivationToken.purpose == purpose)
            & ActivationToken.used_at.is_null()
            & ActivationToken.revoked_at.is_null()
        ).execute()
    token, token_hash = new_token()
    expires_at = now + dt.timedelta(seconds=ttl_seconds)
    row = ActivationToken.create(
        customer=customer,
        purpose=purpose,
        token_hash=token_hash,
        created_at=now,
        expires_at=expires_at,
        # The email that carries the link, queued first so the row is written once with it.
        email=email_for(token, expires_at) if email_for is not None else None,
    )
    return token, row


# Why a link cannot be used, and the HTTP status its page carries.
UNKNOWN, EXPIRED, USED, REVOKED, CANCELLED, VALID = "unknown", "expired", "used", "revoked", "cancelled", "valid"
GONE_STATUS = {UNKNOWN: 404, EXPIRED: 410, USED: 410, REVOKED: 410, CANCELLED: 410}


@dataclass
class Lookup:
    state: str
    token: ActivationToken | None = None
    customer: Customer | None = None


def look_up(raw_token: str, purpose: str) -> Lookup:
    """Find the token behind a link of `purpose` and say whether it can still be used."""
    if not raw_token or len(raw_token) > 100:
        return Lookup(UNKNOWN)
    token = ActivationToken.get_or_none(
        (ActivationToken.token_hash == hash_token(raw_token)) & (ActivationToken.purpose == purpose)
    )
    if token is None:
        return Lookup(UNKNOWN)
    return look_up_row(token)


def look_up_row(token: ActivationToken, now: dt.datetime | None = None) -> Lookup:
    """Whether a link's row can still be used, and if not why."""
    customer = Customer.get_by_id(token.customer_id)
    if token.used_at is not None:
        return Lookup(USED, token, customer)
    if customer.status == Customer.CANCELLED:
        return Lookup(CANCELLED, token, customer)
    if token.revoked_at is not None:
        return Lookup(REVOKED, token, customer)
    if token.expires_at <= (now or utcnow()):
        return Lookup(EXPIRED, token, customer)
    return Lookup(VALID, token, customer)
