"""Fixtures shared by the unit/integration suite (tests/) and the browser suite (e2e/).

The database is real: a temporary SQLite file by default, or the PostgreSQL database named
by DATABASE_URL. The schema is built once per session through the migrations (the same path
production takes); every test then starts from empty tables plus the demo data.
"""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy

import pytest

from webapp import create_app
from webapp.database import is_sqlite, open_database, upgrade
from webapp.demo import seed_demo
from webapp.extensions import db
from webapp.mailcatcher import ClosingController
from webapp.models import ALL_MODELS

ADMIN = ("admin@demo.example.com", "demo-admin-password")
STAFF = ("staff@demo.example.com", "demo-staff-password")
OTHER_ADMIN = ("admin@other.example.com", "other-admin-password")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


# A run of 13-19 digits standing alone (not inside a hex string such as a hash or an id).
CARD_LIKE = re.compile(r"(?<![\dA-Za-z_])\d{13,19}(?![\dA-Za-z_])")
# Security codes the suite types into card forms: distinctive, so a find is not a coincidence.
SECURITY_CODES_IN_TESTS = ("737", "9183")


def looks_like_card(digits: str) -> bool:
    """A card number: a card network's first digit (2-6: Mastercard, Amex, Visa, Discover...)
    and a valid Luhn check digit. Python object ids in log lines (139...) are not cards."""
    return digits[:1] in "23456" and luhn_valid(digits)


def has_card_number(text: str) -> bool:
    """Whether `text` holds a card number, digits grouped by spaces or dashes included."""
    squashed = re.sub(r"(?<=\d)[ -](?=\d)", "", text)
    return any(looks_like_card(m) for m in CARD_LIKE.findall(squashed))


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_data_in_database() -> list[str]:
    """Every stored text value holding a 13-19 digit Luhn-valid number (spaces and dashes
    ignored) or a security code the tests typed, as "table.column: value"."""
    found = []
    for model in ALL_MODELS:
        text_columns = [f for f in model._meta.sorted_fields
                        if f.field_type in ("VARCHAR", "TEXT") and not f.name.endswith("_hash") and f.name != "message_id"]
        for row in model.select(*text_columns).tuples():
            for field, value in zip(text_columns, row):
                if not value:
                    continue
                if not isinstance(value, str):  # a JSON field: scan the text the database holds
                    value = json.dumps(value)
                if has_card_number(value):
                    found.append(f"{model._meta.table_name}.{field.name}: {value[:80]}")
                elif field.name in ("card_last4",):
                    continue
                elif any(re.search(rf"(?<![\dA-Za-z_]){code}(?![\dA-Za-z_])", value) for code in SECURITY_CODES_IN_TESTS) and field.name not in ("text_body", "html_body", "reference", "detail", "sender"):
                    found.append(f"{model._meta.table_name}.{field.name}: {value[:80]}")
    return found


@pytest.fixture
def app(config, request, pytestconfig):
    """The app on an emptied database holding the demo data. Afterwards the database is
    scanned for card numbers and security codes: none may ever be stored (fuzz tests, which
    type arbitrary text into business names, are left out)."""
    application = create_app(config)
    with application.app_context():
        with db.connection_context():
            _empty_tables()
            seed_demo()
    yield application
    if "test_fuzz" not in request.node.nodeid:
        with application.app_context(), db.connection_context():
            found = card_data_in_database()
        scans = pytestconfig.stash.setdefault(CARD_SCANS, [0])
        scans[0] += 1
        assert not found, f"card data stored: {found}"
    if not db.is_closed():
        db.close()
    if hasattr(db.obj, "close_all"):  # a pool keeps its idle connections open: close them with the app
        db.obj.close_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def sign_in(client, email: str, password: str):
    """Sign `client` in through the real form (CSRF token included)."""
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def csrf_token(client) -> str:
    """A CSRF token valid for `client`'s session."""
    html = client.get("/login").get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    if marker not in html:
        # Signed in: every page carries the token for htmx on <body>; "/" leads to the
        # person's own start page (or the password change they owe).
        html = client.get("/", follow_redirects=True).get_data(as_text=True)
        marker = '"X-CSRFToken": "'
    return html.split(marker, 1)[1].split('"', 1)[0]


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
CARD_SCANS = pytest.StashKey[list]()


class _KeepLogLines(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        if record.name.startswith("mail.log"):  # the test SMTP server's own traffic dump, not ours
            return
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a broken log call is not this check's business
            pass


@pytest.fixture(scope="session", autouse=True)
def _scan_logs_for_card_data(record_figure_session):
    """Every log line of the whole run, scanned at the end for card numbers and codes."""
    handler = _KeepLogLines()
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(old_level)
    found = [line for line in handler.lines
             if has_card_number(line)
             or re.search(r"(?<![\dA-Za-z_])9183(?![\dA-Za-z_])", line)]
    record_figure_session("6 card data in logs", f"{len(handler.lines)} log lines scanned, {len(found)} with card data")
    assert not found, found[:5]


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
    scans = config.stash.get(CARD_SCANS, [0])[0]
    if scans:
        figures["6 card data"] = f"{scans} test databases scanned after each test, 0 card numbers or security codes found"
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
