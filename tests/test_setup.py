import pytest

from conftest import free_port
from webapp import create_app
from webapp.config import ConfigError
from webapp.mailcatcher import read_messages, start_mail_catcher
from webapp.models import ALL_MODELS, Customer, PhoneNumber, Plan, User, WhiteLabel


def _snapshot():
    return {model.__name__: sorted(tuple(row.values()) for row in model.select().dicts()) for model in ALL_MODELS}


def test_seed_demo_twice_gives_the_same_data(app, runner):
    with app.app_context():
        before = _snapshot()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.example.com / demo-admin-password" in result.output
    with app.app_context():
        assert _snapshot() == before


def test_demo_data_has_what_the_demo_needs(app):
    with app.app_context():
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        other = WhiteLabel.get(WhiteLabel.slug == "other-voice")
        assert (demo.country, demo.currency, demo.payment_gateway, demo.credit_limit) == (
            "NZ",
            "NZD",
            "sandbox",
            500_000,
        )
        assert (other.country, other.currency, other.payment_gateway) == ("AU", "AUD", "none")
        assert Plan.select().where(Plan.white_label == demo).count() == 3
        assert PhoneNumber.select().where(PhoneNumber.white_label == demo).count() == 25
        statuses = {c.status for c in Customer.select().where(Customer.white_label == demo)}
        assert statuses == {"active", "pending_activation", "expired", "cancelled"}
        assert User.select().count() == 3


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app()


def test_production_sets_secure_cookies_and_hsts(monkeypatch, database_url):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    app = create_app({"DATABASE_URL": database_url})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/login")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_dev_mail_page_is_404_outside_development(monkeypatch, database_url):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    app = create_app({"DATABASE_URL": database_url})
    assert app.test_client().get("/dev/mail").status_code == 404


def test_dev_mail_page_lists_caught_mail_with_clickable_links(app, client, tmp_path):
    import smtplib

    port = free_port()
    catcher = start_mail_catcher("127.0.0.1", port, app.config["MAIL_CATCHER_DIR"])
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.sendmail(
                "a@example.com",
                ["b@example.com"],
                b"Subject: First\r\n\r\nOne\r\n",
            )
            smtp.sendmail(
                "a@example.com",
                ["b@example.com"],
                b"Subject: Activate your account\r\n\r\nOpen https://onboarding.example.com/activate/abc\r\n",
            )
    finally:
        catcher.stop()
    assert [m.subject for m in read_messages(app.config["MAIL_CATCHER_DIR"])] == ["Activate your account", "First"]
    html = client.get("/dev/mail").get_data(as_text=True)
    assert '<a href="https://onboarding.example.com/activate/abc">' in html
    assert html.index("Activate your account") < html.index("First")


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_pages_have_no_inline_script(admin_client):
    html = admin_client.get("/customers/").get_data(as_text=True)
    for chunk in html.split("<script")[1:]:
        assert chunk.lstrip().startswith("src="), chunk[:80]


def test_serve_dev_serves_the_app_and_catches_mail(tmp_path, database_url):
    """What `make run` starts: the app, the mail catcher and the outbox worker in one process."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    port, mail_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MAIL_PORT": str(mail_port),
        "MAIL_CATCHER_DIR": str(tmp_path / "mailbox"),
        "SECRET_KEY": "serve-dev-test",
        "APP_ENV": "development",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "serve-dev", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = ""
        for _ in range(100):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert "Sign in" in body
        import smtplib

        with smtplib.SMTP("127.0.0.1", mail_port, timeout=5) as smtp:
            smtp.sendmail("a@example.com", ["b@example.com"], b"Subject: Caught\r\n\r\nHello\r\n")
        assert [m.subject for m in read_messages(tmp_path / "mailbox")] == ["Caught"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_revalidated_static_file_is_closed(app, client):
    first = client.get("/static/app.css")
    etag = first.headers["ETag"]
    first.close()
    with app.test_request_context("/static/app.css", headers={"If-None-Match": etag}):
        response = app.full_dispatch_request()
    assert response.status_code == 304
    assert response.response.file.closed  # werkzeug would leave it open


def test_static_files_are_versioned_and_cached_for_a_year(client):
    html = client.get("/login").get_data(as_text=True)
    assert "/static/app.css?v=" in html and "/static/htmx-2.0.11.min.js?v=" in html
    response = client.get("/static/app.css")
    assert "max-age=31536000" in response.headers["Cache-Control"]
    response.close()


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(database_url):
    from flask import request as flask_request

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x" * 64, "PROXY_COUNT": 1, "TESTING": True})

    @app.get("/_whoami")
    def _whoami():
        return flask_request.remote_addr

    response = app.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.get_data(as_text=True) == "203.0.113.9"


@pytest.mark.parametrize("typed,minor", [("50", 5000), ("50.5", 5050), ("$1,250.00", 125000), ("NZ$75.00", 7500)])
def test_amounts_are_read_into_minor_units(typed, minor):
    from webapp.money import parse_amount

    assert parse_amount(typed, locale="en_NZ", currency="NZD") == minor


@pytest.mark.parametrize("typed", ["1e309", "9" * 40, "50.555", "abc", "", "-5", "NaN"])
def test_unreadable_amounts_are_refused_with_a_message(typed):
    from webapp.money import parse_amount

    with pytest.raises(ValueError, match="Enter the amount"):
        parse_amount(typed, locale="en_NZ", currency="NZD")
