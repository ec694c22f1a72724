"""Production start (issue 6, check 11): the README's production setup, exercised for real.

gunicorn serves `wsgi:app` with APP_ENV=production against a PostgreSQL database this test
creates (and drops), after `flask db-upgrade` and `flask seed-demo`; a person signs in over
HTTP and sees the demo customers. Without a proper SECRET_KEY nothing starts (the missing-key
case of create_app itself is in test_setup.py).
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import ADMIN, free_port, service_unavailable
from webapp import create_app
from webapp.config import ConfigError

pytestmark = pytest.mark.slow  # starts gunicorn processes: left out of `make test-fast`

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "FLASK_ENV"}}
    env = {k: v for k, v in env.items() if k != "RATELIMIT_STORAGE_URI"}  # the default: database://
    env.update(APP_ENV="production", MAIL_PORT=str(free_port()), **extra)
    return env


def test_production_refuses_a_short_secret_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "changeme")
    with pytest.raises(ConfigError, match="SECRET_KEY is too short"):
        create_app()


def test_gunicorn_without_a_secret_key_exits_with_the_reason():
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_gunicorn_with_per_process_rate_limit_storage_exits_with_the_reason():
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"],
        cwd=ROOT,
        env=_production_env(SECRET_KEY=uuid.uuid4().hex * 2, RATELIMIT_STORAGE_URI="memory://"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "RATELIMIT_STORAGE_URI is memory://" in result.stderr
    assert "database://" in result.stderr  # what to set instead


@pytest.fixture
def fresh_postgres():
    """A new, empty PostgreSQL database, dropped afterwards; skips when PostgreSQL is unreachable
    (fails when CI is set)."""
    import psycopg2  # a runtime dependency (pyproject.toml)

    try:
        admin = psycopg2.connect(dbname="postgres", connect_timeout=3, **PG)
    except psycopg2.OperationalError as error:
        service_unavailable(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({error})")
    admin.autocommit = True
    name = f"onboarding_gunicorn_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


class Browser:
    """Just enough of a browser: keeps cookies, sends them back, as it would behind TLS."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def request(self, method: str, path: str, body: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Host": "onboarding.example.com"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # Behind the TLS proxy the browser sends its https Referer, which CSRF checks in production.
            headers["Referer"] = f"https://onboarding.example.com{path}"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                self.set_cookie_headers.append(value)
                cookie_name, cookie_value = value.split(";", 1)[0].split("=", 1)
                self.cookies[cookie_name] = cookie_value
        connection.close()
        return response, text


def _run(args, env):
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_gunicorn_on_postgresql_serves_the_app_and_signs_in(fresh_postgres, record_figure):
    env = _production_env(
        SECRET_KEY=uuid.uuid4().hex * 2, DATABASE_URL=fresh_postgres, APP_BASE_URL="https://onboarding.example.com"
    )
    started = time.monotonic()
    assert "Applied" in _run(["db-upgrade"], env)
    assert ADMIN[0] in _run(["seed-demo"], env)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        browser = Browser(port)
        for _ in range(150):
            try:
                response, page = browser.request("GET", "/login")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer within 15 seconds")
        assert response.status == 200 and "Sign in" in page
        assert "max-age=31536000" in response.getheader("Strict-Transport-Security")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response, _ = browser.request("POST", "/login", {"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token})
        assert response.status == 303, response.status
        assert response.getheader("Location").endswith("/customers/")
        session_cookie = next(c for c in browser.set_cookie_headers if c.startswith("__Host-session="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
        response, page = browser.request("GET", "/customers/")
        assert response.status == 200
        for name in ["Harbour Plumbing Ltd", "Kauri Dental", "Rimu Accounting"]:
            assert name in page
        response, _ = browser.request("GET", "/dev/mail")
        assert response.status == 404  # development pages are not served in production
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        finally:
            server.stdout.close()
    record_figure(
        "production start",
        f"gunicorn on a fresh PostgreSQL: migrated, seeded, served and signed in within {time.monotonic() - started:.1f} s",
    )


@pytest.fixture
def fresh_database(request, tmp_path):
    """A new, empty database of the kind the suite runs on: PostgreSQL when DATABASE_URL names
    it, else a SQLite file."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return request.getfixturevalue("fresh_postgres")
    return f"sqlite:///{tmp_path / 'gunicorn.sqlite3'}"


def _start_gunicorn(env, workers: int, port: int, max_requests: int = 0):
    """gunicorn serving wsgi:app, logging each request with the id of the worker that answered
    (with `max_requests`, each worker is replaced by a new process after that many)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--max-requests",
            str(max_requests),
            "--max-requests-jitter",
            "0",
            "--access-logfile",
            "-",
            "--access-logformat",
            "answered-by %(p)s %(m)s %(U)s %(s)s",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(server, browser) -> tuple:
    for _ in range(300):
        try:
            return browser.request("GET", "/login")
        except OSError:
            assert server.poll() is None, server.stdout.read()
            time.sleep(0.1)
    pytest.fail("gunicorn did not answer within 30 seconds")


def _stop(server) -> str:
    server.terminate()
    try:
        output, _ = server.communicate(timeout=15)
    finally:
        server.stdout.close()
    return output


def test_sign_in_limit_holds_across_three_gunicorn_workers(fresh_database, record_figure):
    """Issue 12 item 6: with the default (database) storage, the 11th failed sign-in for one
    account from one address is a 429, whichever of 3 workers answers each request. Each worker
    is replaced after 4 requests, so the requests certainly reach several processes (an idle
    machine may otherwise hand every request to the same worker) and no count lives in one."""
    env = _production_env(
        SECRET_KEY=uuid.uuid4().hex * 2, DATABASE_URL=fresh_database, APP_BASE_URL="https://onboarding.example.com"
    )
    _run(["db-upgrade"], env)
    _run(["seed-demo"], env)
    port = free_port()
    server = _start_gunicorn(env, 3, port, max_requests=4)
    statuses = []
    try:
        browser = Browser(port)
        response, page = _wait_for(server, browser)
        assert response.status == 200
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        for _ in range(10):
            response, _ = browser.request(
                "POST", "/login", {"email": ADMIN[0], "password": "wrong-password", "csrf_token": token}
            )
            statuses.append(response.status)
        for _ in range(5):  # the 11th and after, the right password included
            response, page = browser.request(
                "POST", "/login", {"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token}
            )
            statuses.append(response.status)
            assert "Too many attempts" in page
            assert 0 < int(response.getheader("Retry-After")) <= 900
    finally:
        output = _stop(server)
    assert statuses == [422] * 10 + [429] * 5, statuses
    workers = {
        line.split()[1] for line in output.splitlines() if line.startswith("answered-by ") and " POST /login " in line
    }
    record_figure(
        "rate limits (3 gunicorn workers)",
        f"10 failed sign-ins then 5 more on {'PostgreSQL' if 'postgres' in fresh_database else 'SQLite'}: "
        f"statuses {statuses.count(422)}x422 then {statuses.count(429)}x429, answered by {len(workers)} workers",
    )
    assert len(workers) >= 2, f"every request went to one worker; the check proved nothing ({workers})"
