"""Third-party secrets the app must keep (a white-label's Stripe secret key), encrypted at rest;
also the secret link of an email waiting in the outbox (webapp/mail.py).

Fernet from pyca/cryptography (AES-128-CBC with an HMAC-SHA256 over it), keyed from the
environment, so a copy of the database alone (a backup, a replica, a leaked dump) does not hold
usable payment keys. `SECRETS_ENCRYPTION_KEYS` is a comma-separated list of Fernet keys, newest
first: the first encrypts, every one decrypts. To rotate: put a new key first, run
`flask reencrypt-secrets`, then remove the old key. Without the variable, one key is derived
from SECRET_KEY (HKDF-SHA256), and changing SECRET_KEY then makes stored secrets unreadable.

An unreadable value (its key is gone) reads as "not set", and the log says so: the settings
page then asks for the key again instead of every page that loads the white-label failing.
A value without the prefix is a plaintext one stored before encryption arrived; it reads as it
is until `flask reencrypt-secrets` or the next save encrypts it.
"""

from __future__ import annotations

import base64
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from peewee import TextField

from .config import ConfigError

PREFIX = "fernet:"
_HKDF_INFO = b"pbx-onboarding stored secrets v1"

log = logging.getLogger(__name__)
_box: MultiFernet | None = None
_reported: set[str] = set()


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from SECRET_KEY, for installs that set no encryption keys."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


def keys_from_config(config) -> list[bytes]:
    listed = [k.strip() for k in (config.get("SECRETS_ENCRYPTION_KEYS") or "").split(",") if k.strip()]
    if not listed:
        return [derived_key(config["SECRET_KEY"])]
    for index, key in enumerate(listed, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(
                f"SECRETS_ENCRYPTION_KEYS: key {index} is not a Fernet key (32 bytes, URL-safe "
                "base64). Make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`."
            ) from None
    return [k.encode() for k in listed]


def init_app(app: Flask) -> None:
    global _box
    _box = MultiFernet([Fernet(key) for key in keys_from_config(app.config)])


def is_configured() -> bool:
    """Whether create_app() has set the keys up (a bare migration run has not)."""
    return _box is not None


def _configured() -> MultiFernet:
    if _box is None:
        raise RuntimeError("webapp.crypto is used before create_app() configured its keys")
    return _box


def encrypt(plain: str) -> str:
    return PREFIX + _configured().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str | None:
    """The plaintext of a stored value; None when no configured key opens it."""
    if not stored.startswith(PREFIX):
        return stored  # stored before encryption arrived
    try:
        return _configured().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        return None


class EncryptedTextField(TextField):
    """A text column stored encrypted: models read and write plaintext, the database sees only
    ciphertext (a different one on every save). It cannot be searched or compared in SQL."""

    def db_value(self, value):
        return encrypt(value) if value else value

    def python_value(self, value):
        if not value:
            return value
        plain = decrypt(value)
        if plain is None:
            if value not in _reported:  # once per value and process, not on every page
                _reported.add(value)
                log.warning(
                    "%s.%s: a stored value cannot be decrypted with the configured "
                    "SECRETS_ENCRYPTION_KEYS; it reads as not set",
                    self.model._meta.table_name,
                    self.name,
                )
            return ""
        return plain
