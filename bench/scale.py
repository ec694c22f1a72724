"""`make scale-test`: the production topology on this machine, under load and faults, as one table.

    python -m bench.scale                    # 8 clients, 160 customers per topology (about 2 minutes)
    python -m bench.scale --customers 40     # a quicker look

Twice in one run, each on a fresh PostgreSQL database: the production topology (two gunicorn
instances with two workers each, `gunicorn -c gunicorn.conf.py`, and two outbox workers) and the
smallest one (one instance with one worker, one outbox worker). A local SMTP server (aiosmtpd)
takes the mail. Client processes sign in and create customers ("the new customer" option, so each
gets one activation email) through plain form posts, following every redirect as a browser without
JavaScript does, each request to the next instance in turn (no sticky sessions). Meanwhile:

- the mail server goes down for 30 s, then comes back dropping every 7th connection right after it
  accepted the message (before QUIT's reply);
- once the mail server is back, an outbox worker is killed (SIGKILL) while an email is being sent,
  and started again a second later (as systemd's Restart= would).

Then the outbox drains, and the sign-in limit is tried across the instances: with the default
database:// counters, and with Redis when one answers on 127.0.0.1:6379 (else those rows say so).
Everything listens on 127.0.0.1 only, every loop is bounded in count and time, and the run stops
by itself. It prints one table (Markdown, for the README) with both topologies side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import math
import multiprocessing
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PG = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
ADMIN = ("admin@demo.example.com", "demo-admin-password")
REDIS_URL = "redis://127.0.0.1:6379/12"  # counters keyed by a new random email each run: nothing to clean
CSRF_FIELD = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
PLAN_VALUE = re.compile(r'name="plan"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="plan"')

MAIL_DOWN_AFTER = 3.0  # seconds into the load
MAIL_DOWN_FOR = 30.0
DROP_EVERY = 7  # once back, every 7th connection is dropped right after the message was accepted
LOAD_DEADLINE = 150.0  # the clients stop creating customers after this long, done or not
DRAIN_DEADLINE = 120.0
STEPS = ("choose", "contact", "address", "plan", "submit")


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- Figures (also tested cheaply: tests/test_scale_pieces.py) ----------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `samples` (seconds in, seconds out)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def p50_p95(samples: list[float]) -> str:
    if not samples:
        return "—"
    return f"{percentile(samples, 0.5) * 1000:.0f} / {percentile(samples, 0.95) * 1000:.0f} ms"


@dataclass
class MailCount:
    customers: int  # customers created in the run
    exactly_one: int  # customers with exactly one distinct Message-ID
    lost: int  # customers with no email at all
    duplicates: int  # customers with two or more distinct Message-IDs (two different emails)
    resent_copies: int  # extra copies of a Message-ID already received (the at-least-once window)


def count_mail(customer_emails: list[str], received: list[tuple[str, str]]) -> MailCount:
    """Emails per customer from what the SMTP server received: (recipient, Message-ID) pairs."""
    by_recipient: dict[str, list[str]] = {}
    for recipient, message_id in received:
        by_recipient.setdefault(recipient.lower(), []).append(message_id)
    exactly_one = lost = duplicates = copies = 0
    for email in customer_emails:
        ids = by_recipient.get(email.lower(), [])
        distinct = len(set(ids))
        copies += len(ids) - distinct
        if distinct == 0:
            lost += 1
        elif distinct == 1:
            exactly_one += 1
        else:
            duplicates += 1
    return MailCount(len(customer_emails), exactly_one, lost, duplicates, copies)


def first_429(statuses: list[int]) -> int | None:
    """Which attempt (1-based) was refused first, if any."""
    return next((index + 1 for index, status in enumerate(statuses) if status == 429), None)


def table(columns: list[str], rows: list[tuple[str, list[str]]]) -> str:
    lines = ["| figure | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, cells in rows:
        lines.append("| " + " | ".join([name, *cells]).replace("\n", " ") + " |")
    return "\n".join(lines)


# --- The mail server -------------------------------------------------------------------------------


class MailServer:
    """aiosmtpd on loopback: records (recipient, Message-ID) per accepted message; can be down, and
    can drop the connection right after accepting (before QUIT's reply)."""

    def __init__(self, port: int):
        self.port = port
        self.received: list[tuple[str, str]] = []
        self.accepted = 0
        self.dropped = 0
        self.drop_every = 0
        self.delay = 0.01  # a real server takes a moment: sends overlap a killed worker more often
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await asyncio.sleep(self.delay)
        message_id = message_from_bytes(envelope.content).get("Message-ID", "")
        for recipient in envelope.rcpt_tos:
            self.received.append((recipient, message_id))
        self.accepted += 1
        if self.drop_every and self.accepted % self.drop_every == 0:
            self.dropped += 1
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return "250 OK"

    def start(self) -> None:
        from webapp.mailcatcher import ClosingController

        self.controller = ClosingController(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# --- The clients (separate processes) -----------------------------------------------------------------


class Browser:
    """Plain HTTP with cookies, like a browser without JavaScript; each request to the next port."""

    def __init__(self, ports: list[int], offset: int):
        self.ports = ports
        self.turn = offset
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str, float]:
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie_name, cookie_value = value.split(";", 1)[0].split("=", 1)
                self.cookies[cookie_name] = cookie_value
        return response.status, response.getheader("Location", ""), text, seconds


def run_client(job: tuple) -> dict:
    """One client: sign in, then create customers until its share is done or the deadline passes."""
    index, ports, count, deadline, tag = job
    browser = Browser(ports, index)
    samples: dict[str, list[float]] = {step: [] for step in (*STEPS, "page")}
    result = {"samples": samples, "requests": 0, "server_errors": 0, "failed": 0, "unexpected": [], "emails": []}

    def call(method, path, form=None, expect=(200,), step="page"):
        result["requests"] += 1
        try:
            status, location, text, seconds = browser.request(method, path, form)
        except OSError as error:
            result["failed"] += 1
            raise RuntimeError(f"{method} {path}: {error}") from error
        if status >= 500:
            result["server_errors"] += 1
        if status not in expect:
            result["unexpected"].append(f"{method} {path}: {status}")
            raise RuntimeError(f"{method} {path}: {status}")
        samples.setdefault(step, []).append(seconds)
        return location, text

    try:
        _, page = call("GET", "/login")
        call(
            "POST",
            "/login",
            {"email": ADMIN[0], "password": ADMIN[1], "csrf_token": CSRF_FIELD.search(page).group(1)},
            expect=(303,),
            step="sign-in",
        )
    except (RuntimeError, AttributeError):
        return result
    samples.pop("sign-in", None)
    result["started"] = time.time()  # wall clock: the clients are separate processes
    token = plan = None
    for number in range(count):
        if time.monotonic() > deadline:
            break
        email = f"scale-{tag}-{index}-{number}@example.com"
        try:
            # The first step's own address (a bare /customers/new/ redirects to one).
            _, page = call("GET", f"/customers/new/?attempt=scale{index:011d}")
            token = token or CSRF_FIELD.search(page).group(1)
            location, _ = call(
                "POST",
                "/customers/new/",
                {"administered_by": "customer", "csrf_token": token},
                expect=(303,),
                step="choose",
            )
            base = location.rsplit("/", 1)[0].split("://", 1)[-1]
            base = base[base.index("/customers/") :]
            call("GET", f"{base}/contact")
            answers = {
                "contact": {
                    "business_name": f"Scale Test {index}-{number} Ltd",
                    "trading_name": "",
                    "business_number": "",
                    "first_name": "Hana",
                    "last_name": "Kereama",
                    "email": email,
                    "phone": "021 123 4567",
                },
                "address": {
                    "address_line1": "12 Totara Street",
                    "address_line2": "",
                    "city": "Wellington",
                    "region": "Wellington",
                    "postcode": "6011",
                    "country": "NZ",
                    "service_same": "y",
                    "service_country": "NZ",
                },
            }
            for step in ("contact", "address"):
                location, _ = call(
                    "POST", f"{base}/{step}", {**answers[step], "csrf_token": token}, expect=(303,), step=step
                )
                _, page = call("GET", location[location.index("/customers/") :])
            if plan is None:
                found = PLAN_VALUE.search(page)
                plan = found.group(1) or found.group(2)
            location, _ = call("POST", f"{base}/plan", {"plan": plan, "csrf_token": token}, expect=(303,), step="plan")
            call("GET", location[location.index("/customers/") :])
            location, _ = call("POST", f"{base}/review", {"csrf_token": token}, expect=(303,), step="submit")
            _, page = call("GET", location[location.index("/customers/") :])
            result["emails"].append(email)
        except (RuntimeError, AttributeError, ValueError) as error:
            result["unexpected"].append(str(error)[:200])
            if len(result["unexpected"]) > 20:
                break
    result["ended"] = time.time()
    return result


def sign_in_limit(ports: list[int], attempts: int = 15) -> list[int]:
    """Failed sign-ins for one new account from this address, each to the next instance."""
    browser = Browser(ports, 0)
    email = f"limit-{uuid.uuid4().hex[:12]}@example.com"
    statuses = []
    for _ in range(attempts):
        _, _, page, _ = browser.request("GET", "/login")
        token = CSRF_FIELD.search(page).group(1)
        status, _, _, _ = browser.request(
            "POST", "/login", {"email": email, "password": "wrong-password", "csrf_token": token}
        )
        statuses.append(status)
    return statuses


# --- Processes -------------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, path: str = "/healthz", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                connection.close()
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing answered {path} on 127.0.0.1:{port} within {timeout:.0f} s")


def get_status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@dataclass
class Topology:
    label: str
    instances: int
    web_workers: int
    outbox_workers: int


@dataclass
class Cluster:
    """The processes of one topology, all stopped by close()."""

    env: dict
    folder: Path
    web: list = field(default_factory=list)  # (port, Popen)
    workers: list = field(default_factory=list)  # Popen, by slot

    def start_web(self, topology: Topology, **extra) -> list[int]:
        ports = []
        for _number in range(topology.instances):
            port = free_port()
            metrics = self.folder / f"metrics-{port}"
            metrics.mkdir()
            env = {
                **self.env,
                **extra,
                "PORT": str(port),
                "WEB_CONCURRENCY": str(topology.web_workers),
                "PROMETHEUS_MULTIPROC_DIR": str(metrics),
                "GUNICORN_ACCESS_LOG": str(self.folder / f"access-{port}.log"),
            }
            out = open(self.folder / f"web-{port}.log", "ab")  # noqa: SIM115 - closed with the process
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            out.close()
            self.web.append((port, process))
            ports.append(port)
        for port in ports:
            wait_for(port)
        return ports

    def stop_web(self) -> None:
        for _, process in self.web:
            process.terminate()
        for _, process in self.web:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.web = []

    def start_worker(self, slot: int) -> subprocess.Popen:
        out = open(self.folder / f"worker-{slot}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "outbox-worker"],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        while len(self.workers) <= slot:
            self.workers.append(None)
        self.workers[slot] = process
        return process

    def close(self) -> None:
        self.stop_web()
        for process in self.workers:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in self.workers:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def psql(database: str, sql: str) -> list[list[str]]:
    output = subprocess.run(
        ["psql", *PG, "-d", database, "-qAtF", "\t", "-c", sql], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return [line.split("\t") for line in output.splitlines() if line]


def redis_answers() -> bool:
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        return False
    client = redis.Redis(
        host="127.0.0.1", port=6379, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


# --- One topology under load and faults ----------------------------------------------------------------


def run_topology(topology: Topology, customers: int, clients: int, use_redis: bool) -> dict:
    from cryptography.fernet import Fernet

    database = f"scale_{uuid.uuid4().hex[:10]}"
    folder = Path(tempfile.mkdtemp(prefix="scale-"))
    mail = MailServer(free_port())
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"FLASK_ENV", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "RATELIMIT_STORAGE_URI"}
    }
    env.update(
        {
            "APP_ENV": "production",
            "SECRET_KEY": uuid.uuid4().hex * 2,
            "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": f"postgresql+pool://postgres@127.0.0.1:5432/{database}?max_connections=8",
            "APP_BASE_URL": "https://onboarding.example.com",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(mail.port),
            "MAIL_TIMEOUT": "5",
            "OUTBOX_POLL_SECONDS": "0.5",
            "OUTBOX_BACKOFF_SECONDS": "1",
            "OUTBOX_MAX_ATTEMPTS": "20",
            "OUTBOX_LEASE_SECONDS": "5",
            "SCHEDULE_INTERVAL_SECONDS": "3600",
            "LOG_FORMAT": "text",
            # The row measures the per-account limit (10 per 15 minutes); every failure of every run comes
            # from 127.0.0.1, and Redis keeps counts between runs, so the per-address limit is set aside.
            "LOGIN_ADDRESS_RATE_LIMIT": "100000 per hour",
        }
    )
    cluster = Cluster(env, folder)
    figures: dict = {"topology": topology}
    subprocess.run(["createdb", *PG, database], check=True, timeout=60)
    try:
        for command in (["db-upgrade"], ["seed-demo"]):
            subprocess.run(
                [sys.executable, "-m", "flask", "--app", "wsgi", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=180,
            )
        mail.start()
        ports = cluster.start_web(topology)
        for slot in range(topology.outbox_workers):
            cluster.start_worker(slot)
        log(f"{topology.label}: {clients} clients creating {customers} customers")
        share = [customers // clients + (1 if n < customers % clients else 0) for n in range(clients)]
        tag = uuid.uuid4().hex[:6]
        deadline = time.monotonic() + LOAD_DEADLINE
        context = multiprocessing.get_context("spawn")
        with context.Pool(clients) as pool:
            began = time.monotonic()
            pending = pool.map_async(run_client, [(n, ports, share[n], deadline, tag) for n in range(clients)])
            figures["faults"] = faults(mail, cluster, database, began)
            results = pending.get(timeout=LOAD_DEADLINE + 60)
        samples = {step: [] for step in (*STEPS, "page")}
        emails: list[str] = []
        for result in results:
            for step, values in result["samples"].items():
                samples.setdefault(step, []).extend(values)
            emails.extend(result["emails"])
        figures.update(
            samples=samples,
            emails=emails,
            requests=sum(r["requests"] for r in results),
            server_errors=sum(r["server_errors"] for r in results),
            failed=sum(r["failed"] for r in results),
            unexpected=[u for r in results for u in r["unexpected"]],
            load_seconds=(
                max(r["ended"] for r in results if "ended" in r) - min(r["started"] for r in results if "started" in r)
            ),
        )
        # Drain: every email sent or given up.
        back_at = figures["faults"]["mail_back_at"]
        drain_deadline = time.monotonic() + DRAIN_DEADLINE
        while time.monotonic() < drain_deadline:
            waiting = int(
                psql(database, "SELECT count(*) FROM outbox_email WHERE status IN ('queued', 'sending')")[0][0]
            )
            if waiting == 0:
                break
            time.sleep(0.5)
        figures["drained_after"] = time.monotonic() - back_at
        figures["outbox"] = {
            status: (int(count), int(resends or 0))
            for status, count, resends in psql(
                database, "SELECT status, count(*), sum(lease_resends) FROM outbox_email GROUP BY status"
            )
        }
        figures["mail"] = count_mail(emails, list(mail.received))
        figures["accepted"], figures["dropped"] = mail.accepted, mail.dropped
        figures["created"] = int(
            psql(database, "SELECT count(*) FROM customer WHERE contact_email LIKE 'scale-%'")[0][0]
        )
        figures["health"] = [
            (get_status(p, "/healthz"), get_status(p, "/readyz"), get_status(p, "/metrics")) for p in ports
        ]
        figures["limit_database"] = sign_in_limit(ports)
        if use_redis:
            cluster.stop_web()
            ports = cluster.start_web(topology, RATELIMIT_STORAGE_URI=REDIS_URL)
            figures["limit_redis"] = sign_in_limit(ports)
    finally:
        cluster.close()
        mail.stop()
        subprocess.run(
            ["psql", *PG, "-d", "postgres", "-qAtc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def faults(mail: MailServer, cluster: Cluster, database: str, began: float) -> dict:
    """The fault timeline, run while the clients load the instances: the mail server down for 30 s,
    back dropping every 7th connection after accepting, and an outbox worker killed mid-send."""
    happened: dict = {}
    time.sleep(MAIL_DOWN_AFTER)
    mail.stop()
    happened["mail_down_at"] = time.monotonic()
    log(f"mail server down for {MAIL_DOWN_FOR:.0f} s")
    time.sleep(MAIL_DOWN_FOR)
    mail.drop_every = DROP_EVERY
    mail.start()
    happened["mail_back_at"] = time.monotonic()
    log("mail server back (dropping every 7th connection after accepting)")
    # Kill an outbox worker while an email is being sent (or after 10 s of looking, whatever it does).
    victim = cluster.workers[0]
    look_until = time.monotonic() + 10
    sending = 0
    while time.monotonic() < look_until:
        sending = int(psql(database, "SELECT count(*) FROM outbox_email WHERE status = 'sending'")[0][0])
        if sending:
            break
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    happened["killed_while_sending"] = sending
    log(f"outbox worker killed (SIGKILL) with {sending} email(s) being sent; restarting it in 1 s")
    time.sleep(1)
    cluster.start_worker(0)
    return happened


# --- The table -------------------------------------------------------------------------------------------


def column(figures: dict) -> list[str]:
    samples = figures["samples"]
    mail: MailCount = figures["mail"]
    outbox = figures["outbox"]
    resends = sum(r for _, r in outbox.values())
    created = figures["created"]
    first_db = first_429(figures["limit_database"])
    cells = [
        f"{created}"
        + (f" ({len(figures['emails'])} completed by the clients)" if created != len(figures["emails"]) else ""),
        f"{created / figures['load_seconds']:.1f} ({figures['load_seconds']:.1f} s)",
        f"{figures['requests']:,} requests: {figures['server_errors']} 5xx, {figures['failed']} failed connections, "
        f"{len(figures['unexpected'])} other",
    ]
    cells += [p50_p95(samples.get(step, [])) for step in STEPS[:-1]]
    cells.append(p50_p95(samples.get("page", [])))
    cells.append(p50_p95(samples.get("submit", [])))
    cells.append(f"{mail.exactly_one} of {mail.customers} exactly 1; {mail.lost} lost, {mail.duplicates} duplicates")
    cells.append(
        f"{mail.resent_copies} copies; {resends} taken over after the lease (a worker killed just after "
        f"{figures['faults']['killed_while_sending']} email(s) were seen being sent)"
    )
    cells.append(f"{figures['accepted']} accepted, {figures['dropped']} dropped after accepting")
    cells.append(
        ", ".join(f"{count} {status}" for status, (count, _) in sorted(outbox.items()))
        + f" ({figures['drained_after']:.0f} s after the mail server came back)"
    )
    cells.append(f"first 429 at attempt {first_db}" if first_db else "no 429 in 15")
    if "limit_redis" in figures:
        first = first_429(figures["limit_redis"])
        cells.append(f"first 429 at attempt {first}" if first else "no 429 in 15")
    else:
        cells.append("skipped: Redis not answering on 127.0.0.1:6379")
    cells.append(" ".join("/".join(str(s) for s in statuses) for statuses in figures["health"]))
    return cells


ROW_NAMES = [
    "customers created",
    "creations per second (load time)",
    "requests and errors",
    "step: choose option, p50 / p95",
    "step: contact, p50 / p95",
    "step: address, p50 / p95",
    "step: plan, p50 / p95",
    "page loads (GET after each redirect), p50 / p95",
    "final submit (create customer), p50 / p95",
    "activation emails per customer (distinct Message-IDs)",
    "re-sent copies of a received email, same Message-ID (at least once)",
    "mail server: down, then dropping every 7th after accepting",
    "outbox after draining",
    "sign-in limit across instances, database:// (limit 10)",
    "sign-in limit across instances, Redis (limit 10)",
    "/healthz, /readyz, /metrics per instance after the run",
]


def machine() -> str:
    load = os.getloadavg()
    pg = subprocess.run(
        ["psql", *PG, "-d", "postgres", "-qAtc", "SHOW server_version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    import gunicorn

    return (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL {pg}, gunicorn {gunicorn.__version__}; "
        f"load average before the run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def main() -> None:
    global MAIL_DOWN_FOR
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=160, help="customers per topology (default 160)")
    parser.add_argument("--clients", type=int, default=8, help="client processes (default 8)")
    parser.add_argument(
        "--mail-down", type=float, default=MAIL_DOWN_FOR, help="seconds the mail server is down (default 30)"
    )
    args = parser.parse_args()
    MAIL_DOWN_FOR = args.mail_down
    if subprocess.run(["pg_isready", "-q", *PG], check=False).returncode != 0:
        sys.exit("PostgreSQL is not answering on 127.0.0.1:5432: the scale test needs it.")
    use_redis = redis_answers()
    if not use_redis:
        log("Redis is not answering on 127.0.0.1:6379: the Redis rows are skipped")
    header = machine()
    began = time.monotonic()
    topologies = [
        Topology("2 instances × 2 workers, 2 outbox workers", 2, 2, 2),
        Topology("1 instance × 1 worker, 1 outbox worker", 1, 1, 1),
    ]
    results = [run_topology(t, args.customers, args.clients, use_redis) for t in topologies]
    print(
        f"Machine: {header}. {args.clients} client processes, {args.customers} customers per topology; "
        f"scale test time {time.monotonic() - began:.0f} s.\n"
    )
    print(
        table(
            [r["topology"].label for r in results],
            [(name, [column(r)[i] for r in results]) for i, name in enumerate(ROW_NAMES)],
        )
    )
    problems = []
    for r in results:
        mail = r["mail"]
        if r["server_errors"] or mail.lost or mail.duplicates or r["created"] != mail.customers or not mail.customers:
            problems.append(r["topology"].label)
        unexpected = r["unexpected"][:3]
        if unexpected:
            print(f"\n{r['topology'].label}: unexpected answers, first {len(unexpected)}: {unexpected}")
    print(
        "\nresult: "
        + (
            "FAIL (" + "; ".join(problems) + ")"
            if problems
            else "PASS: 0 server errors, every customer exactly one email, outbox drained"
        )
    )
    sys.stdout.flush()
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
