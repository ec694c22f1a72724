"""Fixtures shared by the unit/integration suite (tests/) and the browser suite (e2e/).

The database is real: a temporary SQLite file by default, or the PostgreSQL database named
by DATABASE_URL. The schema is built once per session through the migrations (the same path
production takes); every test then starts from empty tables plus the demo data.
"""
from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from webapp import create_app
from webapp.database import open_database, upgrade
from webapp.demo import seed_demo
from webapp.extensions import db
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
        if db.obj.__class__.__name__.startswith("Postgres"):
            tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_MODELS)
            db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        else:
            for model in reversed(ALL_MODELS):
                model.delete().execute()


@pytest.fixture
def app(config):
    """The app on an emptied database holding the demo data."""
    application = create_app(config)
    with application.app_context():
        with db.connection_context():
            _empty_tables()
            seed_demo()
    yield application
    if not db.is_closed():
        db.close()


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
        html = client.get("/customers/").get_data(as_text=True)
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
    controller: Controller | None = None
    port: int = 0
    messages: list = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.arrived:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.arrived.notify_all()
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
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
