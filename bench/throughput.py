"""Target 6: requests per second under gunicorn (2 workers): customers list vs the floor.

wrk on loopback, a fixed time per run and few connections; the two URLs take turns
(floor, list, floor, list, ...) so both see the same machine.
"""

from __future__ import annotations

import tempfile

from webapp.extensions import db
from webapp.models import WhiteLabel

from . import data
from .harness import (
    BROWSER,
    FLOOR_URL,
    Row,
    build_app,
    close_database,
    gunicorn,
    http_request,
    http_sign_in,
    log,
    pooled,
    throwaway_database,
    wrk,
)

LIMIT = 0.40
WORKERS = 2
CONNECTIONS = 4
SLICE_S = 2  # seconds per wrk run (whole seconds)
SLICES = 5  # runs per URL, taking turns, so bursts of other load hit both URLs alike
CUSTOMERS = 100_000


def run(kind: str, label: str) -> list[Row]:
    with throwaway_database(kind) as url:
        app = build_app(pooled(url))
        with app.app_context(), db.connection_context():
            data.generate(WhiteLabel.get(WhiteLabel.slug == "demo-telecom"), CUSTOMERS - 100)
        close_database()
        log_path = tempfile.mktemp(prefix="bench-gunicorn-", suffix=".log")
        with gunicorn(pooled(url), WORKERS, log_path) as (port, _):
            cookie, _ = http_sign_in(port)
            headers = {**BROWSER, "Cookie": cookie}
            base = f"http://127.0.0.1:{port}"
            urls = {"floor": base + FLOOR_URL, "list": base + "/customers/"}
            log(f"target 6 on {label}: wrk, {WORKERS} workers, {CONNECTIONS} connections, {SLICES * SLICE_S}s per URL")
            for target in urls.values():  # warm-up: templates compiled, pools filled
                wrk(target, seconds=1, connections=CONNECTIONS, threads=2, headers=headers)
            runs = {name: [] for name in urls}
            for _ in range(SLICES):
                for name, target in urls.items():
                    runs[name].append(wrk(target, seconds=SLICE_S, connections=CONNECTIONS, threads=2, headers=headers))
            # Still signed in afterwards (a lost session would have been counted as not 200).
            response, _, _ = http_request(port, "GET", "/customers/", cookie=cookie)
            assert response.status == 200
    totals = {}
    for name, results in runs.items():
        requests = sum(r.requests for r in results)
        seconds = sum(r.seconds for r in results)
        errors = sum(r.socket_errors + r.not_200 for r in results)
        totals[name] = (requests / seconds, requests, errors)
    ratio = totals["list"][0] / totals["floor"][0]
    errors = totals["list"][2] + totals["floor"][2]
    return [
        Row(
            f"6 throughput, customers list vs floor ({label})",
            f"list {totals['list'][0]:.0f} req/s, floor {totals['floor'][0]:.0f} req/s "
            f"({totals['list'][1] + totals['floor'][1]:,} requests, {errors} errors)",
            ratio,
            f">= {LIMIT:.2f}",
            ratio >= LIMIT and errors == 0,
        )
    ]
