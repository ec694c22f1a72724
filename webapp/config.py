"""Configuration read from the environment, with safe development defaults.

Every setting can be overridden by `create_app(config={...})` (tests do this). Production is
selected by APP_ENV=production (or FLASK_ENV=production); there the app refuses to start
without a SECRET_KEY instead of inventing one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# Anyone who learns or guesses the key can forge sessions and CSRF tokens.
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """Raised when the environment cannot produce a safe configuration."""


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def app_env() -> str:
    """The deployment environment: "production" or "development"."""
    value = os.environ.get("APP_ENV") or os.environ.get("FLASK_ENV") or "development"
    return "production" if value.strip().lower() == "production" else "development"


def _development_secret_key(instance_path: Path) -> str:
    """A random key generated once per checkout and kept under instance/ (never committed)."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def from_environment(instance_path: Path) -> dict:
    """Build the configuration mapping from environment variables."""
    env = app_env()
    production = env == "production"
    secret_key = os.environ.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. In production the app will not start without it: "
                "set SECRET_KEY to a long random value (for example the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`)."
            )
        secret_key = _development_secret_key(instance_path)
    elif production and len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"SECRET_KEY is too short ({len(secret_key)} characters). In production it must be at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters: use for example the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`."
        )

    default_db = f"sqlite:///{instance_path / 'onboarding.sqlite3'}"
    port = os.environ.get("PORT", "5000")
    secure_cookies = _env_flag("SESSION_COOKIE_SECURE", production)
    return {
        "APP_ENV": env,
        "DEBUG": False,
        "SECRET_KEY": secret_key,
        "DATABASE_URL": os.environ.get("DATABASE_URL", default_db),
        # PostgreSQL: prepare the hot statements on the server once per connection (prepared.py).
        # Turn off behind a pooler that shares server connections between transactions.
        "DATABASE_SERVER_PREPARE": _env_flag("DATABASE_SERVER_PREPARE", True),
        # Fernet keys for stored third-party secrets, newest first (webapp/crypto.py); empty:
        # one key derived from SECRET_KEY.
        "SECRETS_ENCRYPTION_KEYS": os.environ.get("SECRETS_ENCRYPTION_KEYS", ""),
        "APP_BASE_URL": os.environ.get("APP_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        # Sessions: HttpOnly and SameSite=Lax always, Secure wherever TLS is expected.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        # __Host-: the browser keeps the cookie only if it is Secure, for Path=/ and without a
        # Domain (Flask's defaults: SESSION_COOKIE_PATH "/", no SESSION_COOKIE_DOMAIN), so no
        # other subdomain and no plain-http page can set or overwrite the session. Without
        # Secure (development over http://127.0.0.1) the prefix would make browsers drop it.
        "SESSION_COOKIE_NAME": "__Host-session" if secure_cookies else "session",
        "REMEMBER_COOKIE_NAME": "__Host-remember_token" if secure_cookies else "remember_token",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_LIFETIME_SECONDS", 8 * 3600)),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # No form here comes near this (the longest, a wizard step, is a few kB); a bigger body
        # is refused with 413 before anything parses, stores or searches for it.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(32 * 1024))),
        # Customers > Import (webapp/imports/): the largest file and most rows one import takes
        # (the upload alone may exceed MAX_CONTENT_LENGTH), and how long the worker spends on
        # imports in one pass before it sends the emails waiting (then it carries on).
        "IMPORT_MAX_BYTES": int(os.environ.get("IMPORT_MAX_BYTES", "5000000")),
        "IMPORT_MAX_ROWS": int(os.environ.get("IMPORT_MAX_ROWS", "10000")),
        "IMPORT_BUDGET_SECONDS": float(os.environ.get("IMPORT_BUDGET_SECONDS", "10")),
        # Mail: development talks to the local catcher that `make run` starts.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "1025")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _env_flag("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _env_flag("MAIL_USE_SSL", False),
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "PBX Onboarding <no-reply@onboarding.example.com>"
        ),
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "10")),
        "MAIL_CATCHER_DIR": os.environ.get("MAIL_CATCHER_DIR", str(instance_path / "mailbox")),
        "OUTBOX_MAX_ATTEMPTS": int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8")),
        "OUTBOX_BACKOFF_SECONDS": float(os.environ.get("OUTBOX_BACKOFF_SECONDS", "30")),
        "OUTBOX_POLL_SECONDS": float(os.environ.get("OUTBOX_POLL_SECONDS", "2")),
        # Sent (or failed) emails' bodies are emptied after this many days; the rows stay.
        "OUTBOX_RETENTION_DAYS": int(os.environ.get("OUTBOX_RETENTION_DAYS", "30")),
        "SCHEDULE_INTERVAL_SECONDS": float(os.environ.get("SCHEDULE_INTERVAL_SECONDS", "300")),
        # Webhooks (webapp/webhooks/): one attempt may take WEBHOOK_TIMEOUT seconds; failures are
        # retried with exponential back-off (doubling from WEBHOOK_BACKOFF_SECONDS, capped at
        # WEBHOOK_MAX_BACKOFF_SECONDS, with jitter) for WEBHOOK_RETRY_HOURS; an endpoint whose
        # attempts all failed for WEBHOOK_DISABLE_AFTER_HOURS is disabled.
        "WEBHOOK_TIMEOUT": float(os.environ.get("WEBHOOK_TIMEOUT", "10")),
        "WEBHOOK_BACKOFF_SECONDS": float(os.environ.get("WEBHOOK_BACKOFF_SECONDS", "30")),
        "WEBHOOK_MAX_BACKOFF_SECONDS": float(os.environ.get("WEBHOOK_MAX_BACKOFF_SECONDS", str(6 * 3600))),
        "WEBHOOK_RETRY_HOURS": float(os.environ.get("WEBHOOK_RETRY_HOURS", "72")),
        "WEBHOOK_DISABLE_AFTER_HOURS": float(os.environ.get("WEBHOOK_DISABLE_AFTER_HOURS", "72")),
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        # How many proxies in front of the app set X-Forwarded-For/-Proto (0: none). Rate limits
        # key on the client address, which behind a proxy is only right when this is set.
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
        # Where rate-limit counters live. database:// (webapp/ratelimit_storage.py) and redis://
        # are shared by every process; memory:// counts per process and is refused in production.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "database://"),
        "RATELIMIT_ENABLED": _env_flag("RATELIMIT_ENABLED", True),
        # Failed sign-ins (Flask-Limiter strings): per account (email) from one client address;
        # per account from all addresses together (distributed guessing); per client address.
        # LOGIN_RATE_LIMIT is the older name of the per-address limit and is still read.
        "LOGIN_ACCOUNT_RATE_LIMIT": os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes"),
        "LOGIN_ACCOUNT_ALL_ADDRESSES_RATE_LIMIT": os.environ.get(
            "LOGIN_ACCOUNT_ALL_ADDRESSES_RATE_LIMIT", "100 per hour"
        ),
        "LOGIN_ADDRESS_RATE_LIMIT": os.environ.get(
            "LOGIN_ADDRESS_RATE_LIMIT", os.environ.get("LOGIN_RATE_LIMIT", "50 per hour")
        ),
        # Requests per API key (Flask-Limiter string); past it a 429 with Retry-After.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "300 per minute"),
        "CUSTOMERS_PER_PAGE": int(os.environ.get("CUSTOMERS_PER_PAGE", "20")),
        "ACTIVATION_TTL_SECONDS": int(os.environ.get("ACTIVATION_TTL", str(7 * 24 * 3600))),
        # "Forgot your password?": how long an emailed reset link works, and how many reset emails
        # may be asked for per email address (from any client address) and per client address.
        "PASSWORD_RESET_TTL_SECONDS": int(os.environ.get("PASSWORD_RESET_TTL", "3600")),
        "PASSWORD_RESET_ACCOUNT_RATE_LIMIT": os.environ.get("PASSWORD_RESET_ACCOUNT_RATE_LIMIT", "3 per hour"),
        "PASSWORD_RESET_ADDRESS_RATE_LIMIT": os.environ.get("PASSWORD_RESET_ADDRESS_RATE_LIMIT", "20 per hour"),
        "DRAFT_MAX_AGE_DAYS": int(os.environ.get("DRAFT_MAX_AGE_DAYS", "30")),
        "ACTIVATION_RATE_LIMIT": os.environ.get("ACTIVATION_RATE_LIMIT", "30 per minute"),
        "RESEND_RATE_LIMIT": os.environ.get("RESEND_RATE_LIMIT", "5 per hour"),
        # Largest opening balance a customer may pay at activation, in minor units.
        "TOP_UP_MINIMUM": int(os.environ.get("TOP_UP_MINIMUM", "1000")),  # minor units
        "ACTIVATION_MAX_OPENING_BALANCE": int(os.environ.get("ACTIVATION_MAX_OPENING_BALANCE", "500000")),
        # Stripe payments never lost (README, Stripe): the reconciliation job asks Stripe about an
        # unsettled intent after this long for white-labels without a webhook, and after the
        # second (a backstop) for those with one. Failed webhook signatures per address.
        "STRIPE_RECONCILE_AFTER_SECONDS": int(os.environ.get("STRIPE_RECONCILE_AFTER_SECONDS", "900")),
        "STRIPE_RECONCILE_WEBHOOK_AFTER_SECONDS": int(
            os.environ.get("STRIPE_RECONCILE_WEBHOOK_AFTER_SECONDS", "86400")
        ),
        "STRIPE_WEBHOOK_RATE_LIMIT": os.environ.get("STRIPE_WEBHOOK_RATE_LIMIT", "30 per minute"),
        # Operations (issue 18). A worker holds an email or webhook it is sending for
        # OUTBOX_LEASE_SECONDS, renewed every third of it while the send lasts; a worker that dies
        # loses it that long after, and another takes it over (webapp/leases.py).
        "OUTBOX_LEASE_SECONDS": float(os.environ.get("OUTBOX_LEASE_SECONDS", "30")),
        # /readyz says the outbox is stalled when an email has been due this long, untried.
        "OUTBOX_STALLED_SECONDS": float(os.environ.get("OUTBOX_STALLED_SECONDS", "120")),
        # /metrics: direct connections from these addresses (comma-separated, CIDR allowed), or
        # any request with "Authorization: Bearer <METRICS_TOKEN>".
        "METRICS_ALLOWED_ADDRESSES": os.environ.get("METRICS_ALLOWED_ADDRESSES", "127.0.0.0/8,::1"),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        "METRICS_CACHE_SECONDS": float(os.environ.get("METRICS_CACHE_SECONDS", "10")),
        # text (the default) or json: one JSON object per log line (webapp/logs.py).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
    }


# Storages whose counts live inside one process: with several workers each counts on its own.
PER_PROCESS_STORAGE_SCHEMES = ("memory", "async+memory")


def check_production(config: dict) -> None:
    """Refuse a production configuration that would not hold what the README promises."""
    if config.get("APP_ENV") != "production" or not config.get("RATELIMIT_ENABLED", True):
        return
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    scheme = uri.split("://", 1)[0].lower()
    if scheme in PER_PROCESS_STORAGE_SCHEMES:
        raise ConfigError(
            f"RATELIMIT_STORAGE_URI is {uri}, which keeps rate-limit counts inside each process: with "
            "several gunicorn workers or servers every one counts on its own, and sign-in guesses are "
            "allowed several times over. In production set RATELIMIT_STORAGE_URI to database:// "
            "(the default: counters in the app's database) or to a Redis URL such as "
            "redis://127.0.0.1:6379/0."
        )
