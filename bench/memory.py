"""Target 7: RSS of one gunicorn worker after 10,000 mixed requests vs after 100.

One worker, so it serves every request. Two client threads replay a mix of pages, searches
with varied words, customer pages, wizard posts, static files and 404s: an exact number of
requests (wrk cannot stop after a count without leaving a connection open), within a time
bound.
"""

from __future__ import annotations

import tempfile
import threading
import time
from urllib.parse import quote, urlencode

from webapp.extensions import db
from webapp.models import Customer, WhiteLabel

from . import data
from .harness import (
    BROWSER,
    CONTACT,
    FLOOR_URL,
    Row,
    build_app,
    children,
    close_database,
    gunicorn,
    http_request,
    http_sign_in,
    log,
    rss_kib,
    throwaway_database,
)

LIMIT = 1.2
FIRST, TOTAL = 100, 10_000
CUSTOMERS = 2_000
CLIENTS = 2
DEADLINE_S = 150


class _Load:
    """Replays `mix` round-robin from CLIENTS threads; counts answers that are not 200/404."""

    def __init__(self, port: int, headers: dict, cookie: str, mix: list[tuple]) -> None:
        self.port, self.headers, self.cookie, self.mix = port, headers, cookie, mix
        self.sent = 0
        self.errors = 0
        self._lock = threading.Lock()

    def _next(self, until: int, deadline: float) -> tuple | None:
        with self._lock:
            if self.sent >= until or time.monotonic() > deadline:
                return None
            self.sent += 1
            return self.mix[self.sent % len(self.mix)]

    def _worker(self, until: int, deadline: float) -> None:
        while (item := self._next(until, deadline)) is not None:
            method, path, extra, body = item
            try:
                response, _, _ = http_request(
                    self.port, method, path, cookie=self.cookie, body=body, headers={**self.headers, **extra}
                )
                ok = response.status in (200, 404)
            except OSError:
                ok = False
            if not ok:
                with self._lock:
                    self.errors += 1

    def send(self, count: int, deadline: float) -> None:
        until = self.sent + count
        threads = [threading.Thread(target=self._worker, args=(until, deadline)) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _mix(customer_ids: list[int], draft: str, token: str, css: str) -> list[tuple]:
    """500 requests: (method, path, extra headers, body). Varied URLs, so caches keyed by URL show."""
    words = [*data.PLACES, *data.TRADES, *data.LAST]
    post = urlencode({**CONTACT, "csrf_token": token, "action": "continue"})
    htmx_post = {"HX-Request": "true"}
    mix = []
    for i in range(500):
        choice = i % 10
        if choice == 0:
            mix.append(("GET", "/customers/", {}, None))
        elif choice == 1:
            mix.append(("GET", f"/customers/?q={quote(words[i % len(words)])}", {}, None))
        elif choice == 2:
            mix.append(("GET", f"/customers/{customer_ids[i % len(customer_ids)]}", {}, None))
        elif choice == 3:
            mix.append(("GET", f"/customers/?page={2 + i % 40}", {"HX-Request": "true"}, None))
        elif choice == 4:
            mix.append(("GET", f"{draft}/contact", {}, None))
        elif choice == 5:
            mix.append(("POST", f"{draft}/contact", htmx_post, post))
        elif choice == 6:
            mix.append(("GET", css, {}, None))
        elif choice == 7:
            mix.append(("GET", FLOOR_URL, {}, None))
        elif choice == 8:
            mix.append(("GET", f"/customers/?q=zz{i}x", {"HX-Request": "true"}, None))
        else:
            mix.append(("GET", f"/customers/{900_000 + i}", {}, None))  # a 404
    return mix


def run() -> list[Row]:
    with throwaway_database("sqlite") as url:
        app = build_app(url)
        with app.app_context(), db.connection_context():
            label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
            data.generate(label, CUSTOMERS)
            ids = [c.id for c in Customer.select(Customer.id).where(Customer.white_label == label.id).limit(200)]
        close_database()
        with gunicorn(url, 1, tempfile.mktemp(prefix="bench-gunicorn-", suffix=".log")) as (port, master):
            cookie, token = http_sign_in(port)
            response, _, cookie = http_request(
                port,
                "POST",
                "/customers/new/",
                cookie=cookie,
                body=urlencode({"administered_by": "customer", "csrf_token": token}),
            )
            assert response.status == 303, response.status
            draft = response.getheader("Location").rsplit("/", 1)[0]
            _, page, _ = http_request(port, "GET", "/customers/", cookie=cookie)
            css = page.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
            workers = children(master.pid)
            assert len(workers) == 1, workers
            mix = _mix(ids, draft, token, css)
            client = _Load(port, {**BROWSER, "X-CSRFToken": token}, cookie, mix)

            log(f"target 7: {FIRST} mixed requests, then {TOTAL - FIRST:,} more, one worker")
            began = time.monotonic()
            client.send(FIRST, deadline=began + 60)
            after_first = rss_kib(workers[0])
            client.send(TOTAL - FIRST, deadline=began + DEADLINE_S)
            after_all = rss_kib(workers[0])
            assert children(master.pid) == workers, "the worker was replaced during the run"
            log(f"target 7: {client.sent:,} requests in {time.monotonic() - began:.0f}s")
    served, errors = client.sent, client.errors
    ratio = after_all / after_first
    return [
        Row(
            "7 memory: worker RSS after 10k vs 100 requests",
            f"{after_all / 1024:.1f} MiB after {served:,} vs {after_first / 1024:.1f} MiB after {FIRST} "
            f"(SQLite, mixed GET/POST, {errors} errors)",
            ratio,
            f"<= {LIMIT:.2f}",
            ratio <= LIMIT and served >= TOTAL * 0.95 and errors == 0,
        )
    ]
