"""'Forgot your password?': emailed single-use links that let a person choose a new password.

The same rules as activation links (webapp/tokens.py): 256 random bits of which only the SHA-256
is stored, a short life (PASSWORD_RESET_TTL_SECONDS, an hour), one use, and a newer link
replacing the older ones; the link waits encrypted in the outbox until the email is sent. Asking
gives the same answer, after the same work, whether or not the email belongs to an account, so
the form tells nobody who has one. Using a link sets the password and ends every session of the
person (a reset is a change of credentials).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app

from ..database import locked
from ..emails import reset_link_hours, send_password_reset_email
from ..extensions import db
from ..mail import render_email
from ..models import CustomerMembership, PasswordResetToken, User, WhiteLabel, WhiteLabelMembership, utcnow
from ..tokens import EXPIRED, REVOKED, UNKNOWN, USED, VALID, hash_token, new_token
from .service import normalise_email


def brand_of(user: User) -> WhiteLabel | None:
    """The white-label whose name a person's emails and pages carry: the one they work for, or
    the one of the first customer account they belong to."""
    membership = WhiteLabelMembership.get_or_none(WhiteLabelMembership.user == user.id)
    if membership is not None:
        return membership.white_label
    customer_membership = (
        CustomerMembership.select()
        .where(CustomerMembership.user == user.id)
        .order_by(CustomerMembership.active.desc(), CustomerMembership.id)
        .first()
    )
    return customer_membership.customer.white_label if customer_membership else None


def sign_in_brand(user: User) -> WhiteLabel | None:
    """The brand of the sign-in page a person goes back to: their white-label's own address for a
    customer's user, the platform's for white-label staff and administrators."""
    if WhiteLabelMembership.get_or_none(WhiteLabelMembership.user == user.id) is not None:
        return None
    return brand_of(user)


def _can_reset(user: User | None) -> bool:
    # A deactivated person cannot come back this way, and someone invited who never chose a
    # password accepts their invitation instead (it says which account they are joining).
    return user is not None and user.is_active and bool(user.password_hash)


def request_reset(email: str) -> None:
    """Email a reset link to the account with this email, if there is one that may use it.
    Call inside a transaction; returns nothing, so a caller cannot tell the difference."""
    user = User.get_or_none(User.email == normalise_email(email))
    if not _can_reset(user):
        # The same work as below without a row or an email: a known address must not answer
        # measurably slower than an unknown one.
        raw, _ = new_token()
        context = {"link": raw, "user": User(email=email), "white_label": None, "hours": reset_link_hours()}
        render_email("email/password_reset.txt", **context)
        render_email("email/password_reset.html", **context)
        return
    now = utcnow()
    locked(User.select(User.id).where(User.id == user.id)).get()  # two requests at once leave one link
    revoke_resets(user.id)
    raw, token_hash = new_token()
    ttl = current_app.config["PASSWORD_RESET_TTL_SECONDS"]
    row = PasswordResetToken.create(
        user=user, token_hash=token_hash, created_at=now, expires_at=now + dt.timedelta(seconds=ttl)
    )
    send_password_reset_email(user, brand_of(user), raw_token=raw, expires_at=row.expires_at)


@dataclass
class ResetLookup:
    state: str
    token: PasswordResetToken | None = None
    user: User | None = None


def look_up_reset(raw_token: str, now: dt.datetime | None = None) -> ResetLookup:
    """The reset link behind `raw_token`, and whether it can still be used (tokens.py's states)."""
    if not raw_token or len(raw_token) > 100:
        return ResetLookup(UNKNOWN)
    token = PasswordResetToken.get_or_none(PasswordResetToken.token_hash == hash_token(raw_token))
    if token is None:
        return ResetLookup(UNKNOWN)
    user = User.get_by_id(token.user_id)
    if token.used_at is not None:
        return ResetLookup(USED, token, user)
    if token.revoked_at is not None or not _can_reset(user):
        return ResetLookup(REVOKED, token, user)
    if token.expires_at <= (now or utcnow()):
        return ResetLookup(EXPIRED, token, user)
    return ResetLookup(VALID, token, user)


def reset_password(raw_token: str, password: str) -> ResetLookup:
    """Use a reset link: set the new password, end every session of the person, and make the
    link (and any other of theirs) unusable. Returns the lookup; nothing changes unless VALID."""
    from ..accounts.service import change_password

    with db.atomic():
        found = look_up_reset(raw_token)
        if found.state != VALID:
            return found
        # Claim the link: of two submits at once, only the one whose UPDATE changed the row goes on.
        claimed = (
            PasswordResetToken.update(used_at=utcnow())
            .where((PasswordResetToken.id == found.token.id) & PasswordResetToken.used_at.is_null())
            .execute()
        )
        if not claimed:
            return ResetLookup(USED, found.token, found.user)
        # Sets the password, ends every session (session_version) and revokes the other links.
        change_password(found.user, password)
    return found


def revoke_resets(user_id: int) -> None:
    """Every unused reset link of the person stops working (their password changed otherwise)."""
    PasswordResetToken.update(revoked_at=utcnow()).where(
        (PasswordResetToken.user == user_id)
        & PasswordResetToken.used_at.is_null()
        & PasswordResetToken.revoked_at.is_null()
    ).execute()
