"""Backups (issue 18, item 3): the README's pg_dump and restore recipe, run for real.

A PostgreSQL database with the demo data, a customer made through the wizard, a Stripe secret key
stored (encrypted with SECRETS_ENCRYPTION_KEYS) and an activation email waiting in the outbox is
dumped with `pg_dump --format=custom`, restored with `pg_restore` into a fresh database, and the
app on the restored database signs in, lists the customer, reads the Stripe key and can still send
the waiting email with its link. Without the Fernet keys the restored Stripe key and the waiting
link are lost: what the README says to back up beside the database. Needs PostgreSQL and its
client programs; with CI set, their absence fails the test instead of skipping it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid

import pytest
from cryptography.fernet import Fernet

from conftest import ADMIN, CaughtMail, free_port, service_unavailable, sign_in
from testkit.wizard import complete_customer_option, post
from webapp import create_app
from webapp.database import upgrade
from webapp.demo import seed_demo
from webapp.extensions import db
from webapp.mail import deliver_due
from webapp.models import Customer, OutboxEmail, WhiteLabel

pytestmark = pytest.mark.slow  # dumps and restores a PostgreSQL database: left out of `make test-fast`

PG = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
STRIPE_KEY = "sk_test_" + "backup" * 4


def _psql(sql: str) -> None:
    subprocess.run(["psql", *PG, "-d", "postgres", "-qAtc", sql], check=True, capture_output=True, timeout=60)


@pytest.fixture
def two_databases():
    """Two new PostgreSQL databases (the live one and the one to restore into), dropped afterwards."""
    missing = [tool for tool in ("pg_dump", "pg_restore", "psql") if shutil.which(tool) is None]
    if missing:
        service_unavailable(f"PostgreSQL's client programs are missing: {', '.join(missing)}")
    ready = (
        subprocess.run(["pg_isready", "-q", *PG], check=False).returncode == 0 if shutil.which("pg_isready") else True
    )
    if not ready:
        service_unavailable("PostgreSQL is not reachable on 127.0.0.1:5432")
    names = [f"onboarding_backup_{uuid.uuid4().hex[:8]}", f"onboarding_restored_{uuid.uuid4().hex[:8]}"]
    _psql(f'CREATE DATABASE "{names[0]}"')
    try:
        yield names
    finally:
        for name in names:
            _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _app(config: dict, name: str, keys: str):
    return create_app(
        {**config, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}", "SECRETS_ENCRYPTION_KEYS": keys}
    )


def _close(app) -> None:
    """Let go of the app's connections, so the database can be dumped and dropped."""
    if not db.is_closed():
        db.close()
    database = app.extensions["database"]
    if hasattr(database, "close_all"):
        database.close_all()


def test_a_dump_restored_into_a_fresh_database_signs_in_and_keeps_what_the_keys_protect(
    two_databases, config, tmp_path, record_figure
):
    live, restored = two_databases
    keys = Fernet.generate_key().decode()
    mail = CaughtMail(port=free_port())
    config.update(MAIL_PORT=mail.port)
    app = _app(config, live, keys)
    with app.app_context():
        upgrade()
        with db.connection_context():
            seed_demo()
            WhiteLabel.update(stripe_secret_key=STRIPE_KEY).where(WhiteLabel.slug == "demo-telecom").execute()
    admin = app.test_client()
    assert sign_in(admin, *ADMIN).status_code == 303
    base = complete_customer_option(admin, app, email="restored@matai.example.com")
    assert post(admin, f"{base}/review").status_code == 303  # its activation email waits, link encrypted
    _close(app)

    dump = tmp_path / "onboarding.dump"
    url = f"postgresql://postgres@127.0.0.1:5432/{live}"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", url], check=True, timeout=120)
    subprocess.run(["createdb", *PG, restored], check=True, timeout=60)
    subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            f"--dbname=postgresql://postgres@127.0.0.1:5432/{restored}",
            str(dump),
        ],
        check=True,
        timeout=120,
    )

    # The app on the restored database, with the same SECRET_KEY and Fernet keys.
    back = _app(config, restored, keys)
    with back.app_context():
        assert upgrade() == []  # the schema came back current
    client = back.test_client()
    assert sign_in(client, *ADMIN).status_code == 303
    page = client.get("/customers/").get_data(as_text=True)
    assert "Matai Joinery Ltd" in page and "Rimu Accounting" in page
    with back.app_context(), db.connection_context():
        assert WhiteLabel.get(WhiteLabel.slug == "demo-telecom").stripe_secret_key == STRIPE_KEY
        waiting = OutboxEmail.get(OutboxEmail.recipient == "restored@matai.example.com")
        assert waiting.status == OutboxEmail.QUEUED
        mail.start()
        try:
            assert deliver_due() >= 1
            message = next(m for m in mail.wait_for(1) if m["To"] == "restored@matai.example.com")
        finally:
            mail.stop()
    link = re.search(r"https?://\S+/activate/([A-Za-z0-9_-]+)", CaughtMail.text(message))
    assert link, "the restored outbox sent the activation email with a working link"
    assert back.test_client().get(f"/activate/{link.group(1)}").status_code == 200  # the contact opens it
    _close(back)

    # Restored without the Fernet keys (a new SECRETS_ENCRYPTION_KEYS): the stored Stripe key is gone.
    lost = _app(config, restored, Fernet.generate_key().decode())
    with lost.app_context(), db.connection_context():
        assert WhiteLabel.get(WhiteLabel.slug == "demo-telecom").stripe_secret_key == ""
        assert Customer.select().where(Customer.contact_email == "restored@matai.example.com").exists()
    _close(lost)
    size = dump.stat().st_size
    record_figure(
        "backup and restore",
        f"pg_dump --format=custom ({size:,} B) restored with pg_restore into a fresh "
        "database: signed in, customers listed, Stripe key read and the waiting activation email sent "
        "with a working link; with other Fernet keys the Stripe key reads as not set",
    )
