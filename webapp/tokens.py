"""Emailed single-use links: random tokens of 256 bits of which only a SHA-256 is stored."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from .database import locked
from .models import ActivationToken, Customer, utcnow


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(customer: Customer, purpose: str, ttl_seconds: int, *, revoke_others: bool = True) -> tuple[str, ActivationToken]:
    """Create a token for `customer`; unless told otherwise, every older unused one of the same
    purpose stops working (invitations revoke per person instead)."""
    now = utcnow()
    # Two resends at once must leave one valid link: the second waits for the first here.
    locked(Customer.select(Customer.id).where(Customer.id == customer.id)).get()
    if revoke_others:
        ActivationToken.update(revoked_at=now).where(
            (ActivationToken.customer == customer.id)
            & (ActivationToken.purpose == purpose)
            & ActivationToken.used_at.is_null()
            & ActivationToken.revoked_at.is_null()
        ).execute()
    token = secrets.token_urlsafe(32)
    row = ActivationToken.create(
        customer=customer,
        purpose=purpose,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=ttl_seconds),
    )
    return token, row
