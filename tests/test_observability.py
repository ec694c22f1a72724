"""Observable (issue 18, item 2): /healthz, /readyz, /metrics, request ids and the logs.

Health answers are public, small JSON, cheap, and say nothing secret; /metrics answers only
configured addresses or a token; every request has an id that reaches the outbox rows it queued
and the worker's log lines; no log line holds a token or a secret (conftest.py scans every record
of the run; the test at the end shows that scan can fail). Under gunicorn with several workers the
metrics add up whichever worker answers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import (
    ISSUED_TOKENS,
    METRICS_TOKEN_IN_TESTS,
    free_port,
    tokens_and_secrets_in_log_record,
)
from testkit.wizard import complete_customer_option, post
from webapp import create_app, health, logs
from webapp.extensions import db
from webapp.mail import deliver_due
from webapp.models import Customer, OutboxEmail, WebhookDelivery, utcnow

ROOT = Path(__file__).resolve().parent.parent


# --- /healthz and /readyz -------------------------------------------------------------------------


def test_healthz_and_readyz_answer_without_sign_in_in_small_json(client):
    for url, body in (
        ("/healthz", {"status": "ok"}),
        ("/readyz", {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "outbox": "ok"}}),
    ):
        response = client.get(url)
        assert response.status_code == 200 and response.is_json and response.json == body
        assert len(response.get_data()) < 200
        assert "Set-Cookie" not in response.headers  # no session for a load balancer's polls
        assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_cheap_enough_to_poll_every_second(app, client, record_figure):
    from bench.harness import captured_statements

    with app.app_context(), captured_statements() as statements:
        assert client.get("/readyz").status_code == 200
    assert len(statements) == 3, statements  # SELECT 1, the applied migrations, the oldest due email
    times = []
    for _ in range(100):
        started = time.perf_counter()
        client.get("/readyz")
        times.append(time.perf_counter() - started)
    median = statistics.median(times) * 1000
    assert median < 50, median  # a second's poll costs a few ms of one worker
    record_figure(
        "operations (/readyz)",
        f"3 queries, median {median:.1f} ms over 100 polls (test client, "
        f"{'PostgreSQL' if 'postgres' in app.config['DATABASE_URL'] else 'SQLite'})",
    )


def test_readyz_says_which_check_failed(app, client, monkeypatch):
    monkeypatch.setattr(health, "migrations_on_disk", lambda: frozenset({"001_initial", "099_from_the_future"}))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["migrations"] == "1 not applied (run flask db-upgrade): 099_from_the_future"
    assert response.json["status"] == "not ready"
    monkeypatch.undo()
    assert client.get("/readyz").status_code == 200
    with app.app_context():  # an email due 10 minutes ago that no worker tried: the outbox is stalled
        email = OutboxEmail.create(
            kind="test",
            recipient="a@example.com",
            subject="s",
            text_body="b",
            message_id=f"<{uuid.uuid4().hex}@test>",
            next_attempt_at=utcnow() - dt.timedelta(minutes=10),
        )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["outbox"].startswith("stalled: an email has been due for 6")
    with app.app_context():  # waiting for its retry (the mail server is down, the worker is fine): ready
        OutboxEmail.update(next_attempt_at=utcnow() + dt.timedelta(minutes=1)).where(
            OutboxEmail.id == email.id
        ).execute()
    assert client.get("/readyz").status_code == 200


def test_with_the_database_down_healthz_still_answers_and_readyz_says_so(config):
    app = create_app(
        {**config, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2"}
    )
    client = app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json == {
        "status": "not ready",
        "checks": {"database": "failed (OperationalError)", "migrations": "not checked", "outbox": "not checked"},
    }
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no address, no driver message


# --- /metrics ---------------------------------------------------------------------------------------


def test_metrics_answer_loopback_or_the_token_and_nobody_else(app, config):
    app.config["METRICS_TOKEN"] = METRICS_TOKEN_IN_TESTS
    loopback = app.test_client()
    outside = app.test_client()
    outside.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert loopback.get("/metrics").status_code == 200
    assert outside.get("/metrics").status_code == 403
    assert outside.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert outside.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN_IN_TESTS}"}).status_code == 200
    # Through a proxy on this machine the connection is from loopback, on a stranger's behalf.
    assert loopback.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    assert (
        loopback.get(
            "/metrics", headers={"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {METRICS_TOKEN_IN_TESTS}"}
        ).status_code
        == 200
    )
    # With a proxy configured, the address that counts is the connection's, not the forwarded one.
    proxied = create_app({**config, "PROXY_COUNT": 1})
    client = proxied.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 403
    app.config["METRICS_TOKEN"] = ""
    assert outside.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403  # no token: none works


def _sample(text: str, name: str, **labels) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_show_requests_the_outbox_and_the_activation_funnel(app, admin_client, smtp):
    app.config["METRICS_CACHE_SECONDS"] = 0
    before = admin_client.get("/metrics").get_data(as_text=True)
    base = complete_customer_option(admin_client, app, email="funnel@matai.example.com")
    assert post(admin_client, f"{base}/review").status_code == 303
    during = admin_client.get("/metrics").get_data(as_text=True)
    assert (
        _sample(during, "onboarding_outbox_emails_waiting") == _sample(before, "onboarding_outbox_emails_waiting") + 1
    )
    assert _sample(during, "onboarding_outbox_emails_oldest_waiting_seconds") >= 0
    with app.app_context():
        assert deliver_due() >= 1
    after = admin_client.get("/metrics").get_data(as_text=True)
    route = "/customers/new/<key>/<slug>"
    assert _sample(after, "onboarding_http_request_duration_seconds_count", route=route, method="POST") >= 4
    assert _sample(after, "onboarding_http_responses_total", route=route, method="POST", status="303") >= 4
    assert _sample(after, "onboarding_outbox_emails_waiting") == 0
    assert _sample(after, "onboarding_outbox_emails", status="sent") >= 1
    assert (
        _sample(after, "onboarding_outbox_email_attempts_total", result="sent")
        >= _sample(before, "onboarding_outbox_email_attempts_total", result="sent") + 1
    )
    for stage in ("created", "opened", "activated", "expired"):
        assert f'onboarding_activation_funnel_customers{{stage="{stage}"}}' in after
    assert (
        _sample(after, "onboarding_activation_funnel_customers", stage="created")
        == _sample(before, "onboarding_activation_funnel_customers", stage="created") + 1
    )
    assert "funnel@matai.example.com" not in after and "Matai" not in after  # figures, never people


# --- Request ids and log lines ----------------------------------------------------------------------


def test_a_request_id_is_kept_or_made_and_reaches_the_outbox_row(app, admin_client, smtp, caplog):
    response = admin_client.get("/customers/", headers={"X-Request-ID": "lb-7f3a9c"})
    assert response.headers["X-Request-ID"] == "lb-7f3a9c"
    made = admin_client.get("/customers/", headers={"X-Request-ID": "bad id <script>" + "x" * 80}).headers[
        "X-Request-ID"
    ]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert re.fullmatch(r"[0-9a-f]{32}", admin_client.get("/healthz").headers["X-Request-ID"])
    hook = post(
        admin_client, "/settings/webhooks/new", {"url": "http://127.0.0.1:9/hooks", "events": ["customer.created"]}
    )
    assert hook.status_code == 303
    base = complete_customer_option(admin_client, app, email="traced@matai.example.com")
    assert post(admin_client, f"{base}/review", headers={"X-Request-ID": "submit-4242a"}).status_code == 303
    with app.app_context():
        email = OutboxEmail.get(OutboxEmail.recipient == "traced@matai.example.com")
        delivery = WebhookDelivery.get(WebhookDelivery.event_type == "customer.created")
        assert (email.request_id, delivery.request_id) == ("submit-4242a", "submit-4242a")
    caplog.set_level(logging.INFO, logger="webapp.mail")
    with app.app_context():
        deliver_due()
    sent = [r for r in caplog.records if r.name == "webapp.mail" and f"Email {email.id} " in r.getMessage()]
    assert sent and all(r.request_id == "submit-4242a" and r.white_label_id == email.white_label_id for r in sent)


def test_json_log_lines_carry_the_request_user_and_white_label(app, config):
    app = create_app({**config, "LOG_FORMAT": "json"})

    @app.get("/test-only/log")
    def test_only_log():  # a view that logs, as any view may, after the checks every page makes
        from webapp.security import current_membership

        assert current_membership() is not None
        logging.getLogger("webapp.test").warning("something worth a line")
        return "ok"

    from conftest import ADMIN, sign_in

    handler = logging.StreamHandler()
    handler.setFormatter(logs.JsonFormatter())
    lines = []
    handler.emit = lambda record: lines.append(handler.format(record))
    logging.getLogger("webapp.test").addHandler(handler)
    try:
        client = app.test_client()
        assert sign_in(client, *ADMIN).status_code == 303
        client.get("/customers/")  # loads the user and the white-label
        client.get("/test-only/log", headers={"X-Request-ID": "json-1"})
    finally:
        logging.getLogger("webapp.test").removeHandler(handler)
    entry = json.loads(lines[-1])
    with app.app_context():
        from webapp.models import User, WhiteLabelMembership

        user = User.get(User.email == ADMIN[0])
        membership = WhiteLabelMembership.get(WhiteLabelMembership.user == user.id)
    assert entry["message"] == "something worth a line" and entry["level"] == "WARNING"
    assert entry["request_id"] == "json-1" and entry["logger"] == "webapp.test"
    assert entry["time"].endswith("Z")
    assert (entry["user_id"], entry["white_label_id"]) == (user.id, membership.white_label_id)
    assert "password" not in lines[-1] and ADMIN[1] not in lines[-1]


def test_tokens_are_taken_out_of_request_lines():
    line = "GET /activate/AbC_def-123/pay?x=1 HTTP/1.1 referer https://x.example.com/invite/Zz9_-a"
    assert (
        logs.redact_links(line)
        == "GET /activate/[redacted]/pay?x=1 HTTP/1.1 referer https://x.example.com/invite/[redacted]"
    )
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - "%s" %s',
        ("127.0.0.1", "GET /activate/AbC_def-123 HTTP/1.1", "200"),
        None,
    )
    logs.configure({})  # as create_app does
    for log_filter in logging.getLogger("werkzeug").filters:
        log_filter.filter(record)
    assert "AbC_def-123" not in record.getMessage()


def test_the_log_scan_finds_tokens_and_secrets():
    """The run-wide scan (conftest.py) can fail: an issued token in a message or a SQL parameter, a
    Stripe secret key, a webhook signing secret and the suite's passwords are found; a token's
    SHA-256 and an unrelated random string are not."""
    import hashlib
    import secrets

    token = secrets.token_urlsafe(32)  # recorded as issued by the suite's wrapper
    assert token in ISSUED_TOKENS

    def message(text, *args):
        return logging.LogRecord("webapp.x", logging.INFO, __file__, 1, text, args, None)

    def sql(*params):
        return logging.LogRecord("peewee", logging.DEBUG, __file__, 1, ("SELECT 1 WHERE a = ?", list(params)), (), None)

    leaks = [
        message("opening /activate/%s", token),
        message(f"token={token}."),
        sql(token),
        message("key sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
        message("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        message("password demo-admin-password"),
        sql(f"/invite/{token}"),
    ]
    for record in leaks:
        assert tokens_and_secrets_in_log_record(record), record.msg
    clean = [
        message("hash %s", hashlib.sha256(token.encode()).hexdigest()),
        sql(secrets.token_hex(32)),
        message("an id %s", uuid.uuid4().hex),
        message("GET /activate/[redacted] 200"),
    ]
    for record in clean:
        assert not tokens_and_secrets_in_log_record(record), record.msg


# --- Under gunicorn, several workers ---------------------------------------------------------------


def test_under_gunicorn_with_three_workers_metrics_add_up_and_the_access_log_has_the_request_id(
    tmp_path, record_figure
):
    database = f"sqlite:///{tmp_path / 'metrics.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "FLASK_ENV", "PROMETHEUS_MULTIPROC_DIR"}}
    env.update(
        APP_ENV="production",
        SECRET_KEY=uuid.uuid4().hex * 2,
        DATABASE_URL=database,
        MAIL_PORT=str(free_port()),
        WEB_CONCURRENCY="3",
        PORT=str(free_port()),
        APP_BASE_URL="https://onboarding.example.com",
    )
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db-upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    import http.client

    def get(path, **headers):
        connection = http.client.HTTPConnection("127.0.0.1", int(env["PORT"]), timeout=10)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode()
        connection.close()
        return response, body

    try:
        for _ in range(300):
            try:
                get("/healthz")
                break
            except OSError:
                assert server.poll() is None
                time.sleep(0.1)
        # The warm-up polls above may have been counted more than once (a poll that timed out on
        # a loaded machine after the worker had answered it): count on from what is there now.
        response, body = get("/metrics")
        assert response.status == 200
        warm_up = _sample(body, "onboarding_http_responses_total", route="/healthz", method="GET", status="200")
        requests = 60
        for index in range(requests):
            response, _ = get("/healthz", **{"X-Request-ID": f"count-{index}"})
            assert response.status == 200
        response, body = get("/readyz")
        assert response.status == 200 and json.loads(body)["status"] == "ready"
        totals = set()
        for _ in range(6):  # whichever worker answers the scrape, it reports every worker's counts
            response, body = get("/metrics")
            assert response.status == 200
            totals.add(_sample(body, "onboarding_http_responses_total", route="/healthz", method="GET", status="200"))
        response, _ = get("/activate/" + "T" * 43, **{"X-Request-ID": "token-line"})
        assert response.status == 404
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert output.count("Booting worker") >= 3, output
    assert totals == {warm_up + requests}, totals  # the warm-up polls, and the counted ones
    access = [line for line in output.splitlines() if "request_id=count-7" in line]
    assert access and '"GET /healthz HTTP/1.1" 200' in access[0]
    token_line = next(line for line in output.splitlines() if "request_id=token-line" in line)
    assert "/activate/[redacted]" in token_line and "TTTT" not in token_line
    record_figure(
        "operations (gunicorn, 3 workers)",
        f"{requests + 1} requests to /healthz, 6 scrapes of /metrics: "
        "each counted all of them whichever worker answered; access log lines carry the request id, "
        "tokens redacted",
    )
