"""Fixtures shared by the unit/integration suite (tests/) and the browser suite (e2e/).

The database is real: a temporary SQLite file by default, or the PostgreSQL database named
by DATABASE_URL. The schema is built once per session through the migrations (the same path
production takes); every test then starts from empty tables plus the demo data.
"""

from __future__ import annotations

import decimal
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from jinja2 import ChoiceLoader, FileSystemLoader

from webapp import create_app
from webapp.database import is_sqlite, open_database, upgrade
from webapp.demo import seed_demo
from webapp.extensions import db
from webapp.mailcatcher import ClosingController
from webapp.models import ALL_MODELS

# --- Hypothesis: one profile for the whole suite, and one with more examples for CI ------------
#
# Test time on a shared, loaded machine says nothing about the code, so no deadline and no
# too_slow health check (it failed CI on a single slow draw). Nothing is written into the work
# tree (no example database); a failure prints the example and, in CI, the blob that replays it.
# HYPOTHESIS_PROFILE picks the profile; with CI set and no choice made, "ci" (as Hypothesis
# itself does, but ours: more examples, not derandomized, so CI keeps exploring).
settings.register_profile(
    "default",
    settings.get_profile("default"),  # Hypothesis's own default (never its CI profile: explicit below)
    max_examples=500,
    derandomize=False,
    print_blob=False,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("ci", settings.get_profile("default"), max_examples=750, print_blob=True)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default")
settings.load_profile(HYPOTHESIS_PROFILE)

# The demo's people, signing in and posting: shared with the browser tests and the bench.
from testkit.client import ADMIN, OTHER_ADMIN, STAFF, csrf_token, free_port, sign_in  # noqa: E402,F401


def service_unavailable(reason: str):
    """A test that needs a service (Redis, PostgreSQL) which does not answer: skipped on a
    developer's machine, failed when CI is set (.ci/run sets it), so CI never passes on a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}. CI is set: a service the suite needs must be running.", pytrace=False)
    pytest.skip(reason)


def redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    """Whether a Redis server answers PING there (and the redis client package is installed)."""
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        return False
    # One try: the client's default retries with back-off took 4 s to say "not there".
    client = redis.Redis(host=host, port=port, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture
def redis_server() -> str:
    """The Redis server of 127.0.0.1:6379 as a URL without a database number (tests choose
    their own: 15 for the sign-in limits, 14 for anything else); skips, or fails under CI,
    when it does not answer."""
    if not redis_reachable():
        service_unavailable("Redis is not reachable on 127.0.0.1:6379 (or the redis package is missing)")
    return "redis://127.0.0.1:6379"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    database = open_database(url)
    db.initialize(database)
    upgrade()
    database.close()
    return url


@pytest.fixture(scope="session")
def mail_port() -> int:
    return free_port()


@pytest.fixture
def config(database_url, mail_port, tmp_path) -> dict:
    """Test configuration; a test may change it before asking for `app`."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "APP_BASE_URL": "https://onboarding.example.com",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashes; production uses scrypt
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": mail_port,
        "MAIL_TIMEOUT": 5.0,
        "MAIL_SUPPRESS_SEND": False,  # tests deliver to a real SMTP server
        "MAIL_CATCHER_DIR": str(tmp_path / "mailbox"),
        "OUTBOX_BACKOFF_SECONDS": 0.0,
        "OUTBOX_POLL_SECONDS": 0.2,
    }


def _empty_tables() -> None:
    with db.atomic():
        if not is_sqlite():
            tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
            db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        else:
            for model in reversed(ALL_MODELS):
                model.delete().execute()


# --- Card data: where it could really be written ---------------------------------------------
#
# Card numbers and security codes must never be stored or logged. The checks look where they
# could really be written: every stored text value, every SQL parameter (peewee logs each
# statement as a `(sql, params)` tuple) and every other log message. A value is flagged only
# for what it is, never for digits that happen to sit inside a hash, a token or an id.

# A run of 13-19 digits standing alone (not inside a hex string such as a hash or an id).
CARD_LIKE = re.compile(r"(?<![\dA-Za-z_])\d{13,19}(?![\dA-Za-z_])")
# Security codes the suite types into card forms (and nowhere else: the fuzz never types them).
# They are looked for as whole words bounded by characters that never occur in a hash, a token,
# an id or a Fernet ciphertext ([A-Za-z0-9_-]), so a hex hash or a URL-safe token that contains
# the digits can never match, by construction; nor as part of a number with a decimal or
# thousands separator (1.737 s, NZ$1,737.00). They are also no number the app writes itself: not
# a password hash's iteration count (1000, 32768), a test card's last four (4242, 0002, 9995,
# 0069, 4444), an amount, a port (ephemeral ones are 32768 and up) or a demo phone number.
# Integer SQL parameters and integer log arguments are not compared with them: ids and amounts
# are integers, a typed code is text (a card number is looked for in both).
SECURITY_CODES_IN_TESTS = ("737", "9183")
_TOKEN_CHARACTERS = r"A-Za-z0-9_\-"
SECURITY_CODE_WORD = re.compile(
    rf"(?<![{_TOKEN_CHARACTERS}])(?<!\d[.,])(?:{'|'.join(SECURITY_CODES_IN_TESTS)})(?![{_TOKEN_CHARACTERS}])(?![.,]\d)"
)


def looks_like_card(digits: str) -> bool:
    """A card number: a card network's first digit (2-6: Mastercard, Amex, Visa, Discover...)
    and a valid Luhn check digit. Python object ids in log lines (139...) are not cards."""
    return digits[:1] in "23456" and luhn_valid(digits)


def has_card_number(text: str) -> bool:
    """Whether `text` holds a card number, digits grouped by spaces or dashes included."""
    squashed = re.sub(r"(?<=\d)[ -](?=\d)", "", text)
    return any(looks_like_card(m) for m in CARD_LIKE.findall(squashed))


def has_security_code(text: str) -> bool:
    """Whether `text` holds one of the suite's security codes as a value or a word of its own."""
    return SECURITY_CODE_WORD.search(text) is not None


def card_data_in_text(text: str) -> str | None:
    """What card data `text` holds ("card number" or "security code"), or None."""
    if has_card_number(text):
        return "card number"
    if has_security_code(text):
        return "security code"
    return None


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _text_columns(model) -> list:
    return [f for f in model._meta.sorted_fields if f.field_type in ("VARCHAR", "TEXT")]


def card_data_in_database() -> list[str]:
    """Every stored text value holding a card number (13-19 digits, a card network's first digit,
    Luhn-valid; spaces and dashes ignored) or one of the suite's security codes as a value or
    word of its own, as "table.column: value". Every text column of every table is read, hashes
    and email bodies included: neither can hold a match by chance (see SECURITY_CODE_WORD)."""
    found = []
    for model in ALL_MODELS:
        text_columns = _text_columns(model)
        for row in model.select(*text_columns).tuples():
            for column, value in zip(text_columns, row, strict=True):
                if value is not None and not isinstance(value, str):  # a JSON field: the text it holds
                    value = json.dumps(value)
                if value and card_data_in_text(value):
                    found.append(f"{model._meta.table_name}.{column.name}: {value[:80]}")
    return found


def _parameter_values(value):
    """The scalar values of one SQL parameter (lists, tuples and dicts opened up)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _parameter_values(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _parameter_values(item)
    else:
        yield value


def card_data_in_sql_parameter(value) -> str | None:
    """What card data one SQL parameter holds, or None. Text (and bytes) is checked for card
    numbers and security codes; numbers for card numbers only (ids and amounts are integers);
    dates, times and None hold nothing typed."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("latin-1")
    if isinstance(value, str):
        return card_data_in_text(value)
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return "card number" if has_card_number(str(value)) else None
    return None


def is_sql_record(record: logging.LogRecord) -> bool:
    """A peewee statement log: the message is the tuple (sql, params)."""
    return record.name == "peewee" and isinstance(record.msg, tuple) and len(record.msg) == 2


def card_data_in_log_record(record: logging.LogRecord) -> list[str]:
    """Card data in one log record, as descriptions. A SQL statement is checked parameter by
    parameter (and its SQL text on its own); any other record by its message and, when it
    carries one, its exception text."""
    found = []
    if is_sql_record(record):
        sql, params = record.msg
        if isinstance(sql, str) and card_data_in_text(sql):
            found.append(f"{card_data_in_text(sql)} in SQL: {sql[:120]}")
        for index, value in enumerate(_parameter_values(params or ())):
            what = card_data_in_sql_parameter(value)
            if what:
                found.append(f"{what} in SQL parameter {index} of {str(sql)[:80]!r}: {str(value)[:80]!r}")
        return found
    try:
        message = record.getMessage()
    except Exception:  # a broken log call is not this check's business
        message = str(record.msg)
    # As for SQL parameters: an integer argument (an id, an amount, a count) is looked at for a
    # card number but not compared with the security codes, which a person types as text. An
    # import's id reached 737 in a PostgreSQL run and "Import 737 checked" was flagged.
    what = "card number" if has_card_number(message) else None
    if what is None and has_security_code(_message_without_integer_arguments(record, message)):
        what = "security code"
    if what:
        found.append(f"{what} in a {record.name} log message: {message[:120]}")
    if record.exc_info:
        text = logging.Formatter().formatException(record.exc_info)
        what = card_data_in_text(text)
        if what:
            found.append(f"{what} in the exception logged by {record.name}: {text[-200:]}")
    return found


def _message_without_integer_arguments(record: logging.LogRecord, message: str) -> str:
    """The record's message with each integer argument written as 0 (`message` when its
    arguments cannot be formatted that way)."""
    args = record.args

    def blank(value):
        return 0 if isinstance(value, int) and not isinstance(value, bool) else value

    if isinstance(args, dict):
        blanked = {key: blank(value) for key, value in args.items()}
    elif isinstance(args, tuple) and args:
        blanked = tuple(blank(value) for value in args)
    else:
        return message
    try:
        return str(record.msg) % blanked
    except (TypeError, ValueError, KeyError):
        return message


def card_data_in_log_records(records) -> list[str]:
    found = []
    for record in records:
        if not record.name.startswith("mail.log"):  # the test SMTP server's dump of what it received
            found.extend(card_data_in_log_record(record))
    return found


@pytest.fixture
def app(config, pytestconfig):
    """The app on an emptied database holding the demo data. Afterwards the database is
    scanned for card numbers and security codes: none may ever be stored. Every test is
    scanned, the fuzz tests (which type card numbers into the card fields) included."""
    application = create_app(config)
    # Templates only the tests use (an email with a body of the test's choosing) live beside them.
    application.jinja_env.loader = ChoiceLoader(
        [application.jinja_env.loader, FileSystemLoader(str(Path(__file__).parent / "tests" / "templates"))]
    )
    with application.app_context():
        with db.connection_context():
            _empty_tables()
            seed_demo()
    yield application
    try:
        with application.app_context(), db.connection_context():
            found = card_data_in_database()
        scans = pytestconfig.stash.setdefault(CARD_SCANS, {"databases": 0, "found": 0})
        scans["databases"] += 1
        scans["found"] += len(found)
        _no_live_link_stored(application, pytestconfig)
    finally:
        if not db.is_closed():
            db.close()
        if hasattr(db.obj, "close_all"):  # a pool keeps its idle connections open: close them with the app
            db.obj.close_all()
    assert not found, f"card data stored: {found}"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_client(app):
    client = app.test_client()
    assert sign_in(client, *ADMIN).status_code == 303
    return client


@pytest.fixture
def staff_client(app):
    client = app.test_client()
    assert sign_in(client, *STAFF).status_code == 303
    return client


@pytest.fixture
def other_admin_client(app):
    client = app.test_client()
    assert sign_in(client, *OTHER_ADMIN).status_code == 303
    return client


@dataclass
class CaughtMail:
    controller: ClosingController | None = None
    port: int = 0
    messages: list = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.arrived:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.arrived.notify_all()
        return "250 OK"

    def start(self) -> None:
        self.controller = ClosingController(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        """Block until `count` messages have arrived (or fail)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        assert len(self.messages) >= count, f"expected {count} emails, got {len(self.messages)}"
        return self.messages

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def smtp(mail_port):
    """A real SMTP server (aiosmtpd) on the port the app sends to; `.messages` holds what arrived."""
    server = CaughtMail(port=mail_port)
    server.start()
    yield server
    server.stop()


# --- Reliability figures and rate-limit isolation (added with the reliability checks) -------

FIGURES = pytest.StashKey[dict]()
CARD_SCANS = pytest.StashKey[dict]()


class CardDataInLogs(logging.Handler):
    """Scans every log record as it is emitted (see card_data_in_log_record) and keeps what it
    finds, with counts of what it looked at."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = 0
        self.statements = 0
        self.parameters = 0
        self.found: list[str] = []

    def emit(self, record):
        if record.name.startswith("mail.log"):  # the test SMTP server's own traffic dump, not ours
            return
        self.records += 1
        if is_sql_record(record):
            self.statements += 1
            self.parameters += sum(1 for _ in _parameter_values(record.msg[1] or ()))
        self.found.extend(card_data_in_log_record(record))


@pytest.fixture(scope="session", autouse=True)
def _scan_logs_for_card_data(record_figure_session):
    """Every log record of the whole run, SQL debug included, scanned for card numbers and codes."""
    handler = CardDataInLogs()
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(old_level)
    record_figure_session(
        "6 card data in logs",
        f"{handler.records:,} log records scanned ({handler.statements:,} SQL statements, their "
        f"{handler.parameters:,} parameters one by one), {len(handler.found)} with card data",
    )
    assert not handler.found, handler.found[:5]


# --- Tokens and secrets in the logs (issue 18) --------------------------------------------------
#
# Beside card data, no log line may hold a working token or a secret. Every token the run issues
# through secrets.token_urlsafe (activation and invitation links, anything else the app makes
# with it) is remembered and looked for, as are strings shaped like a Stripe secret key or a
# webhook signing secret, and the suite's own passwords and keys. SQL statements are checked
# parameter by parameter (a stored hash or ciphertext is not a token); every other message and
# exception text whole.

ISSUED_TOKENS: set[str] = set()
STRIPE_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9])[sr]k_(?:test|live)_[A-Za-z0-9]{8,}")
WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{16,}")
METRICS_TOKEN_IN_TESTS = "metrics-token-for-the-tests-5f0c1e"
KNOWN_SECRETS = (
    "test-secret-key",  # the suite's SECRET_KEY
    METRICS_TOKEN_IN_TESTS,
    "demo-admin-password",
    "demo-staff-password",
    "other-admin-password",
    "kowhai-harbour-lantern-88",
    "lantern-kereru-pohutukawa-19",  # activation_helpers, test_sessions
)
TOKEN_WINDOW = 43  # secrets.token_urlsafe(32)


def token_or_secret_in_text(text: str) -> str | None:
    """What `text` holds that it must not ("an issued token", "a Stripe secret key", ...), or None."""
    if not text:
        return None
    for run in TOKEN_RUN.findall(text):
        if run in ISSUED_TOKENS:
            return "an issued token"
        if len(run) <= 100 and any(
            run[i : i + TOKEN_WINDOW] in ISSUED_TOKENS for i in range(len(run) - TOKEN_WINDOW + 1)
        ):
            return "an issued token"
    if STRIPE_SECRET_KEY.search(text):
        return "a Stripe secret key"
    if WEBHOOK_SECRET.search(text):
        return "a webhook signing secret"
    for secret in KNOWN_SECRETS:
        if secret in text:
            return f"a secret of the suite ({secret[:4]}...)"
    return None


def tokens_and_secrets_in_log_record(record: logging.LogRecord) -> list[str]:
    found = []
    if is_sql_record(record):
        sql, params = record.msg
        for value in [sql, *_parameter_values(params or ())]:
            if isinstance(value, (bytes, bytearray, memoryview)):
                value = bytes(value).decode("latin-1")
            what = token_or_secret_in_text(value) if isinstance(value, str) else None
            if what:
                found.append(f"{what} in SQL {str(sql)[:80]!r}: {str(value)[:60]!r}")
        return found
    try:
        message = record.getMessage()
    except Exception:
        message = str(record.msg)
    what = token_or_secret_in_text(message)
    if what:
        found.append(f"{what} in a {record.name} log message: {message[:120]}")
    if record.exc_info:
        what = token_or_secret_in_text(logging.Formatter().formatException(record.exc_info))
        if what:
            found.append(f"{what} in the exception logged by {record.name}")
    return found


class TokensAndSecretsInLogs(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = 0
        self.found: list[str] = []

    def emit(self, record):
        if record.name.startswith("mail.log"):  # the test SMTP server's dump of the mail it received
            return
        self.records += 1
        test = os.environ.get("PYTEST_CURRENT_TEST", "outside a test")
        self.found.extend(f"{what} (during {test})" for what in tokens_and_secrets_in_log_record(record))


@pytest.fixture
def quiet_sql_log():
    """For a test that writes a live token or card data on purpose (to show a scan finds it): its
    SQL stays out of the debug log, which the session-wide log scans would (rightly) flag."""
    peewee_log = logging.getLogger("peewee")
    level = peewee_log.level
    peewee_log.setLevel(logging.INFO)
    yield
    peewee_log.setLevel(level)


@pytest.fixture(scope="session", autouse=True)
def _scan_logs_for_tokens_and_secrets(record_figure_session, _scan_logs_for_card_data):
    """Every log record of the run scanned for issued tokens and secrets (see above)."""
    import secrets as secrets_module

    original = secrets_module.token_urlsafe

    def recording(nbytes=None):
        value = original(nbytes)
        if nbytes is None or nbytes >= 16:
            ISSUED_TOKENS.add(value)
        return value

    secrets_module.token_urlsafe = recording
    handler = TokensAndSecretsInLogs()
    logging.getLogger().addHandler(handler)
    yield
    logging.getLogger().removeHandler(handler)
    secrets_module.token_urlsafe = original
    record_figure_session(
        "6 tokens and secrets in logs",
        f"{handler.records:,} log records scanned for the {len(ISSUED_TOKENS):,} tokens the run issued, Stripe "
        f"secret keys, webhook signing secrets and the suite's passwords and keys: {len(handler.found)} found",
    )
    assert not handler.found, handler.found[:5]


@pytest.fixture(scope="session")
def record_figure_session(pytestconfig):
    def record(check: str, text: str) -> None:
        pytestconfig.stash.setdefault(FIGURES, {})[check] = text

    return record


@pytest.fixture
def record_figure(pytestconfig):
    """`record_figure(check, text)`: a measured figure shown in pytest's terminal summary."""

    def record(check: str, text: str) -> None:
        pytestconfig.stash.setdefault(FIGURES, {})[check] = text

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    figures = dict(config.stash.get(FIGURES, {}))
    scans = config.stash.get(CARD_SCANS, None)
    if scans:
        figures["6 card data"] = (
            f"{scans['databases']:,} test databases scanned after each test, "
            f"{scans['found']} card numbers or security codes found"
        )
    if figures:
        terminalreporter.section("reliability and security figures")
        for check, text in sorted(figures.items()):
            terminalreporter.write_line(f"{check}: {text}")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """No rate-limit counts carry from one test to the next, whatever the storage (memory or Redis)."""
    from webapp.extensions import limiter

    def reset() -> None:
        if limiter.initialized:
            try:
                limiter.storage.reset()
            except Exception:  # an unreachable Redis is the test's own business
                pass

    reset()
    yield
    reset()


# --- No working link stored at rest (issue 12) ------------------------------------------------

# Our emailed tokens are secrets.token_urlsafe(32): 43 URL-safe base64 characters.
TOKEN_LENGTH = 43
TOKEN_RUN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH},}}")
# Whatever follows /activate/ or /invite/ in a stored string, however short or odd.
LINK_SEGMENT = re.compile(r"/(?:activate|invite)/([^/\s\"'<>?#&]+)")
LINK_ROUTES = ("/activate/", "/invite/", "/password/reset/")
# Hashes and hex keys: their windows are never tried (a random token is all hex once in 2^86).
HEX = re.compile(r"[0-9a-f]+")
LINK_SCANS = pytest.StashKey[list]()
# Requests of the scanning client carry this in their WSGI environ; rate limits skip them.
TOKEN_SCAN_ENVIRON = "tests.token_scan"


def stored_token_candidates() -> set[str]:
    """Every stored string that could be (or hold) one of our emailed tokens: each run of 43 or
    more URL-safe base64 characters in any text column of any table, as the database holds it
    (encrypted columns undecrypted), every 43-character window of a run up to 100 characters
    unless it is all hex (a token glued to a prefix such as "act_"), and every path segment
    after /activate/ or /invite/."""
    candidates: set[str] = set()
    for model in ALL_MODELS:
        columns = [f for f in model._meta.sorted_fields if f.field_type in ("VARCHAR", "TEXT")]
        if not columns:
            continue
        for row in db.execute_sql(*model.select(*columns).sql()).fetchall():
            for value in row:
                if not isinstance(value, str) or not value:
                    continue
                for run in TOKEN_RUN.findall(value):
                    candidates.add(run)
                    if len(run) <= 100 and not HEX.fullmatch(run):
                        candidates.update(run[i : i + TOKEN_LENGTH] for i in range(len(run) - TOKEN_LENGTH + 1))
                candidates.update(LINK_SEGMENT.findall(value))
    return candidates


def links_that_open(app, candidates) -> list[str]:
    """Each candidate tried as /activate/<it>, /invite/<it> and /password/reset/<it> by an anonymous client whose
    requests rate limits leave alone: anything but a 404 or 410 counts as opened."""
    from urllib.parse import quote

    _register_token_scan_filter()
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "192.0.2.43", TOKEN_SCAN_ENVIRON: True})
    opened = []
    for candidate in sorted(candidates):
        for route in LINK_ROUTES:
            status = client.get(route + quote(candidate, safe="")).status_code
            if status not in (404, 410):
                opened.append(f"{route}{candidate}: {status}")
    return opened


def live_links_in_database(app) -> tuple[int, list[str]]:
    """(how many stored strings were tried, the links among them that opened)."""
    with app.app_context():
        with db.connection_context():
            candidates = stored_token_candidates()
        return len(candidates), links_that_open(app, candidates)


def _skip_rate_limits_for_the_token_scan() -> bool:
    from flask import request

    return bool(request.environ.get(TOKEN_SCAN_ENVIRON))


_token_scan_filter_registered = []


def _register_token_scan_filter() -> None:
    from webapp.extensions import limiter

    if not _token_scan_filter_registered:
        limiter.request_filter(_skip_rate_limits_for_the_token_scan)
        _token_scan_filter_registered.append(True)


def _no_live_link_stored(app, pytestconfig) -> None:
    """After every test: no stored string opens an activation, invitation or password reset page."""
    tried, opened = live_links_in_database(app)
    totals = pytestconfig.stash.setdefault(LINK_SCANS, [0, 0, 0])
    totals[0] += 1
    totals[1] += tried
    totals[2] += len(opened)
    pytestconfig.stash.setdefault(FIGURES, {})["7 links at rest"] = (
        f"{totals[1]} stored strings tried as /activate/, /invite/ and /password/reset/ links after {totals[0]} tests, {totals[2]} opened"
    )
    assert not opened, f"a working link is stored in the database: {opened}"
