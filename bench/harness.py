"""What every benchmark shares: throwaway databases, the app with its floor, timing, the row.

Nothing here is a product route: the floor is registered on an app instance the bench builds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Flask, render_template
from jinja2 import ChoiceLoader, DictLoader

# Where throwaway PostgreSQL databases are created (trust auth, see the README).
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("BENCH_PG_PORT", "5432")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")

# What a current browser sends; the server picks brotli, else gzip.
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}
HTMX = {**BROWSER, "HX-Request": "true"}

FLOOR_URL = "/_bench/floor"
FLOOR_TEMPLATE = "<!doctype html>\n<title>floor</title>\n<p>{{ message }}</p>\n"
STATIC_FLOOR_URL = "/static/favicon.svg"

# The demo's administrator and valid answers for the wizard (customer option, Demo Telecom):
# the same as the tests use.
from testkit.client import ADMIN  # noqa: E402
from testkit.wizard import ADDRESS, CONTACT  # noqa: E402,F401 (the bench's modules import them from here)

# Bench setup only: fast hashes for the demo users (sign-in is never timed).
BENCH_CONFIG = {
    "SECRET_KEY": "bench-secret-key",
    "APP_BASE_URL": "http://127.0.0.1",
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "RATELIMIT_ENABLED": False,
}


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the plans and the table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The table row


@dataclass
class Row:
    target: str
    figures: str
    ratio: float | None
    threshold: str  # "<= 1.50", ">= 0.40", "== 1.00" or a word for yes/no checks
    passed: bool | None  # None: reported for information, no verdict
    unit: str = "x"

    @property
    def ratio_text(self) -> str:
        return "—" if self.ratio is None else f"{self.ratio:.2f}{self.unit}"

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "info"}[self.passed]


def at_most(ratio: float, limit: float) -> bool:
    return ratio <= limit


def failed_row(target: str, error: BaseException) -> Row:
    """A benchmark that crashed still gets a row, so the table always has every target."""
    message = f"{type(error).__name__}: {error}".replace("\n", " ")
    return Row(target, f"benchmark failed: {message[:120]}", None, "—", False)


# ---------------------------------------------------------------------------------------------
# Statistics


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def interleaved(
    calls: dict[str, Callable[[], object]], *, rounds: int, warmup: int = 10, budget_s: float = 30.0
) -> dict[str, list[float]]:
    """Time each call once per round, in turn (A B A B ...), so drift hits all of them alike.

    Bounded twice: at most `rounds` rounds, and no new round after `budget_s` seconds.
    """
    for _ in range(warmup):
        for call in calls.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    deadline = time.monotonic() + budget_s
    for index in range(rounds):
        # Alternate the order so no call always runs right after the same neighbour.
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            start = time.perf_counter()
            calls[name]()
            samples[name].append(time.perf_counter() - start)
        if time.monotonic() > deadline:
            break
    return samples


# ---------------------------------------------------------------------------------------------
# Databases


def pg_url(name: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def postgres_available() -> bool:
    result = subprocess.run(["pg_isready", "-q", "-h", PG_HOST, "-p", PG_PORT], capture_output=True, check=False)
    return result.returncode == 0


@contextlib.contextmanager
def throwaway_database(kind: str) -> Iterator[str]:
    """A DATABASE_URL for an empty database that is removed afterwards (sqlite or postgres)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    name = f"bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, name], check=True)
    try:
        yield pg_url(name)
    finally:
        close_database()
        # FORCE: a gunicorn worker that has not exited yet must not keep the database alive.
        subprocess.run(
            [
                "psql",
                "-h",
                PG_HOST,
                "-p",
                PG_PORT,
                "-U",
                PG_USER,
                "-d",
                "postgres",
                "-qAtc",
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            ],
            check=False,
            capture_output=True,
        )


def pooled(url: str) -> str:
    """The PostgreSQL URL with peewee's connection pool (what the README recommends)."""
    return url.replace("postgresql://", "postgresql+pool://", 1)


def close_database() -> None:
    from webapp.extensions import db

    if db.obj is None:
        return
    if not db.is_closed():
        db.close()
    if hasattr(db.obj, "close_all"):  # a pool keeps connections open after close()
        db.obj.close_all()


# ---------------------------------------------------------------------------------------------
# The app and its floor


def register_floor(app: Flask) -> None:
    """The floor: a bare endpoint on this app instance that renders a trivial template.

    It goes through everything every request goes through (session, user loader, context
    processors, security headers, compression), and nothing else, so it is the least any page
    of this app can cost. It answers GET and POST so a form post can be compared with a post.
    """
    app.jinja_env.loader = ChoiceLoader([DictLoader({"_bench/floor.html": FLOOR_TEMPLATE}), app.jinja_env.loader])

    def floor():
        return render_template("_bench/floor.html", message="ok")

    app.add_url_rule(FLOOR_URL, "bench_floor", floor, methods=["GET", "POST"])


INSERT_FLOOR_URL = "/_bench/insert"


def register_insert_floor(app: Flask) -> None:
    """The floor for API writes: a bare JSON POST that commits one insert per request (an audit
    event) and answers 201 with a little JSON. Exempt from CSRF, as the API is."""
    import json

    from flask import Response, request

    from webapp.extensions import csrf, db
    from webapp.models import AuditEvent

    def insert_floor():
        payload = request.get_json()
        with db.atomic():
            event = AuditEvent.create(white_label=1, action="bench_floor", detail=json.dumps(payload)[:200])
        return Response(json.dumps({"id": event.id}), status=201, mimetype="application/json")

    app.add_url_rule(INSERT_FLOOR_URL, "bench_insert_floor", csrf.exempt(insert_floor), methods=["POST"])


ROWS_ONLY_URL = "/_bench/rows-only"


def register_rows_only(app: Flask) -> None:
    """Target 8's other reference: what an API create would cost with none of its rules. It
    takes the same request as POST /api/v1/customers (customer option), authenticates the same
    bearer key, claims the same Idempotency-Key and writes the same rows a create writes (the
    customer, its activation link, the link's email in the outbox, the audit event, the stored
    answer), and answers 201 with the same JSON. What it leaves out is every rule: no wizard
    forms, nothing looked up to check an answer (the contact email, the plan among the
    white-label's), the email's bodies not rendered, no webhook listeners looked up.

    Not a way to create customers (it checks nothing): registered by the bench only, to show how
    much of the distance between a create and the insert floor the rules are."""
    from flask import Response, g, request
    from pydantic import ValidationError

    from webapp.api import idempotency, schemas
    from webapp.api.auth import current_key
    from webapp.api.routes import _json, customer_json
    from webapp.audit import audit
    from webapp.crypto import encrypt
    from webapp.extensions import csrf
    from webapp.models import ActivationToken, Customer, OutboxEmail
    from webapp.onboarding.options import CUSTOMER
    from webapp.tokens import issue_token
    from webapp.urls import secret_path

    def rows_only():
        key = current_key()
        if key is None or not key.can_write:  # as the API answers: no key 401, a read-only key 403
            return Response(status=401 if key is None else 403)
        g.api_white_label = white_label = key.white_label
        try:
            body = schemas.CreateCustomer.model_validate_json(request.get_data()).root
        except ValidationError:
            return Response(status=422)
        contact, address = body.contact, body.address

        def change():
            country = address.country or white_label.country
            customer = Customer(
                white_label=white_label,
                business_name=contact.business_name,
                contact_first_name=contact.first_name,
                contact_last_name=contact.last_name,
                contact_email=contact.email,
                contact_phone=contact.phone,
                **{f"{part}_line1": address.line1 for part in ("address", "service")},
                **{f"{part}city": address.city for part in ("", "service_")},
                **{f"{part}postcode": address.postcode for part in ("", "service_")},
                **{f"{part}country": country for part in ("", "service_")},
                plan=body.plan.plan_id,
                administered_by=CUSTOMER.key,
                status=CUSTOMER.status_after_creation,
                created_by=key.created_by,
            )
            customer.refresh_search_text()
            customer.save()

            def email_for(raw_token, expires_at):
                return OutboxEmail.create(
                    white_label=white_label,
                    customer=customer,
                    kind="activation",
                    recipient=customer.contact_email,
                    subject="Activate your phone account",
                    text_body="(not rendered)",
                    message_id=f"<rows-only-{raw_token[:16]}@pbx-onboarding>",
                    secret_link=encrypt(secret_path("activation.activate_account", token=raw_token)),
                )

            ttl = app.config["ACTIVATION_TTL_SECONDS"]
            _, customer.first_activation_link = issue_token(
                customer, ActivationToken.ACTIVATION, ttl, new_customer=True, email_for=email_for
            )
            # The audit event's detail as a create writes it (the plan's name comes with the row the
            # answer reads anyway).
            audit(
                white_label,
                "customer_created",
                customer=customer,
                actor=key.created_by,
                administered_by=CUSTOMER.key,
                plan=customer.plan.name,
                via="rows-only",
            )
            return _json(customer_json(customer, just_created=True), 201)

        return idempotency.run(change)

    app.add_url_rule(ROWS_ONLY_URL, "bench_rows_only", csrf.exempt(rows_only), methods=["POST"])


def build_app(url: str, **config) -> Flask:
    """The real app (create_app) on `url`, plus the floor; the schema migrated, demo data in."""
    from webapp import create_app
    from webapp.database import upgrade
    from webapp.demo import seed_demo
    from webapp.extensions import db

    app = create_app({**BENCH_CONFIG, "DATABASE_URL": url, **config})
    logging.getLogger().setLevel(logging.WARNING)  # create_app asks for INFO: too chatty here
    register_floor(app)
    register_insert_floor(app)
    register_rows_only(app)
    with app.app_context():
        upgrade()
        with db.connection_context():
            seed_demo()
    return app


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')


def sign_in(client, email: str = ADMIN[0], password: str = ADMIN[1]) -> str:
    """Sign in through the real form; returns a CSRF token valid for the session."""
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_FIELD.search(page).group(1)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 303, f"sign-in failed: {response.status_code}"
    html = client.get("/customers/").get_data(as_text=True)
    return CSRF_HEADER.search(html).group(1)


def decoded(response) -> str:
    """The response body as text, undoing Content-Encoding (br or gzip)."""
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        import brotli

        body = brotli.decompress(body)
    elif encoding == "gzip":
        import gzip

        body = gzip.decompress(body)
    return body.decode()


def expect(response, status: int = 200):
    assert response.status_code == status, f"{response.request.path}: {response.status_code}"
    return response


# ---------------------------------------------------------------------------------------------
# Processes and ports


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def rss_kib(pid: int) -> int:
    """Resident set size of one process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@contextlib.contextmanager
def captured_statements() -> Iterator[list[tuple[str, object]]]:
    """Every SQL statement (and its parameters) the app runs inside the block.

    Wraps the bound database's execute_sql, which every peewee query goes through.
    """
    from webapp.extensions import db

    database = db.obj
    original = database.execute_sql
    statements: list[tuple[str, object]] = []

    def capturing(sql, params=None, *args, **kwargs):
        statements.append((sql, params))
        return original(sql, params, *args, **kwargs)

    database.execute_sql = capturing
    try:
        yield statements
    finally:
        del database.execute_sql


def new_draft(client, token: str, option: str = "customer") -> str:
    """Answer the wizard's first step; returns the draft's URL prefix (/customers/new/<key>)."""
    response = client.post("/customers/new/", data={"administered_by": option, "csrf_token": token})
    assert response.status_code == 303, f"new draft: {response.status_code}"
    return response.headers["Location"].rsplit("/", 1)[0]


# ---------------------------------------------------------------------------------------------
# gunicorn and wrk (loopback only, every run bounded in time)

SERVER_SECRET = "bench-" + "0123456789abcdef" * 4  # production mode wants 32+ characters


@contextlib.contextmanager
def gunicorn(url: str, workers: int, log_path: str, **extra_env: str) -> Iterator[tuple[int, subprocess.Popen]]:
    """bench.wsgi:app under gunicorn on a free loopback port, in production mode."""
    port = free_port()
    env = {
        **os.environ,
        **extra_env,
        "APP_ENV": "production",
        "SECRET_KEY": SERVER_SECRET,
        "DATABASE_URL": url,
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": "",  # gunicorn.conf.py logs every request by default: not while measuring
    }
    env.pop("FLASK_ENV", None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--graceful-timeout",
                "5",
                "bench.wsgi:app",
            ],
            cwd=root,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (gunicorn's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as stat:
                # the command name may hold spaces: the parent id is the 2nd field after ")"
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


def _session_cookie(response) -> str | None:
    for header in response.headers.get_all("Set-Cookie") or []:
        # Production names it __Host-session (Secure, so a browser would send it back over https only).
        if header.startswith(("session=", "__Host-session=")):
            return header.split(";", 1)[0]
    return None


def http_request(
    port: int, method: str, path: str, *, cookie: str = "", body: str | None = None, headers: dict | None = None
):
    """One request over a fresh loopback connection; returns (response, body text, session cookie)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    all_headers = {**(headers or {})}
    if cookie:
        all_headers["Cookie"] = cookie
    if body is not None:
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    text = response.read().decode("utf-8", "replace")
    connection.close()
    return response, text, _session_cookie(response) or cookie


def http_sign_in(port: int, email: str = ADMIN[0], password: str = ADMIN[1]) -> tuple[str, str]:
    """Sign in over HTTP; returns (Cookie header value, CSRF token for that session)."""
    from urllib.parse import urlencode

    _, page, cookie = http_request(port, "GET", "/login")
    token = CSRF_FIELD.search(page).group(1)
    form = urlencode({"email": email, "password": password, "csrf_token": token})
    response, _, cookie = http_request(port, "POST", "/login", cookie=cookie, body=form)
    assert response.status == 303, f"sign-in over HTTP: {response.status}"
    response, page, cookie = http_request(port, "GET", "/customers/", cookie=cookie)
    assert response.status == 200, f"customers after sign-in: {response.status}"
    return cookie, CSRF_HEADER.search(page).group(1)


WRK_COUNTER = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not_ok = 0 end
function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("not_ok") end
  io.write(string.format("NOT_200 %d\\n", total))
end
"""


@dataclass
class WrkResult:
    requests: int
    seconds: float
    socket_errors: int
    not_200: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(
    url: str, *, seconds: int, connections: int, threads: int, headers: dict, script: str = WRK_COUNTER
) -> WrkResult:
    """wrk against a loopback URL for a fixed time; counts every answer that is not a 200."""
    assert url.startswith("http://127.0.0.1:"), "load goes to loopback only"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        command = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "5s",
            "-s",
            lua.name,
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        result = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        os.unlink(lua.name)
    out = result.stdout
    match = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    if not match:
        raise RuntimeError(f"wrk said: {out} {result.stderr}")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0}[match.group(3)]
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    not_200 = re.search(r"NOT_200 (\d+)", out)
    return WrkResult(
        requests=int(match.group(1)),
        seconds=float(match.group(2)) * scale,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        not_200=int(not_200.group(1)) if not_200 else 0,
    )
