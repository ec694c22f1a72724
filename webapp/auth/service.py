"""Password hashing, credential checks and safe redirects; no request handling here."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import User

# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH: dict[str, str] = {}


def hash_password(password: str) -> str:
    """Hash a password with the configured method (scrypt unless configured otherwise)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(email: str, password: str) -> User | None:
    """The user whose email and password match, else None (whatever was wrong)."""
    user = User.get_or_none(User.email == normalise_email(email))
    if user is None or not user.password_hash:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        dummy = _DUMMY_HASH.setdefault(method, generate_password_hash("x" * 20, method=method))
        check_password_hash(dummy, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is `user`'s current password (an account without one matches nothing)."""
    return bool(user.password_hash) and check_password_hash(user.password_hash, password or "")


class EmailTaken(Exception):
    """Another account already signs in with that email address."""


def rename(user: User, first_name: str, last_name: str) -> None:
    """Change the person's own name."""
    User.update(first_name=first_name.strip(), last_name=last_name.strip()).where(User.id == user.id).execute()


def change_email(user: User, new_email: str) -> str:
    """Make `new_email` the address the person signs in with; returns the old one. Every other
    session ends and unused reset links (sent to the old address) stop working. Raises EmailTaken.
    Call inside a transaction (the caller queues the notice to the old address in it)."""
    from ..models import PasswordResetToken, utcnow
    from .sessions import end_all_sessions

    new_email = normalise_email(new_email)
    old_email = User.get_by_id(user.id).email
    if User.select().where((User.email == new_email) & (User.id != user.id)).exists():
        raise EmailTaken()
    User.update(email=new_email).where(User.id == user.id).execute()
    end_all_sessions(user.id)
    PasswordResetToken.update(revoked_at=utcnow()).where(
        (PasswordResetToken.user == user.id)
        & PasswordResetToken.used_at.is_null()
        & PasswordResetToken.revoked_at.is_null()
    ).execute()
    return old_email
