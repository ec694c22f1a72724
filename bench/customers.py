"""Target 2: the customers list and search, first page, with 100 vs 100,000 customers.

The same throwaway database is measured twice: with 100 customers in Demo Telecom, then after
the data script has grown it to 100,000 (and Other Voice to 1,000). Each figure is divided by
the floor measured in the same rounds, so the ratio is (big / floor) / (small / floor).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from webapp.extensions import db
from webapp.models import Customer, WhiteLabel

from . import data
from .harness import (
    BROWSER,
    FLOOR_URL,
    Row,
    build_app,
    captured_statements,
    expect,
    interleaved,
    log,
    median_ms,
    p95_ms,
    pooled,
    sign_in,
    throwaway_database,
)

LIMIT = 2.0
SMALL, BIG, OTHER = 100, 100_000, 1_000
ROUNDS = 120
COMMON_WORD = "plumbing"  # a trade: about one customer in 60 has it


def _searches(total_generated: int) -> dict[str, str]:
    one = data.email_token(total_generated // 2)  # one customer, half way down the list
    return {
        "list": "/customers/",
        f"search, common word ({COMMON_WORD})": f"/customers/?q={COMMON_WORD}",
        "search, one customer's email": f"/customers/?q={quote(one)}",
        # Filters and the other orders walk their own keyset (issue 15).
        "list, active, administered by the customer": "/customers/?status=active&administered_by=customer",
        "list by name": "/customers/?sort=name",
        "search, one customer's phone number": f"/customers/?q={quote(data.phone_token(total_generated // 2))}",
    }


def _measure(client, urls: dict[str, str]) -> dict[str, float]:
    calls = {"floor": lambda: expect(client.get(FLOOR_URL, headers=BROWSER))}
    for name, url in urls.items():
        calls[name] = lambda url=url: expect(client.get(url, headers=BROWSER))
    samples = interleaved(calls, rounds=ROUNDS, warmup=5, budget_s=30)
    _measure.p95 = {name: p95_ms(values) for name, values in samples.items()}
    return {name: median_ms(values) for name, values in samples.items()}


def _plans(client, urls: dict[str, str], kind: str) -> list[str]:
    """The query plan of the customer query each page actually ran."""
    blocks = []
    for name, url in urls.items():
        with captured_statements() as statements:
            expect(client.get(url))
        sql, params = next((s, p) for s, p in statements if 'FROM "customer"' in s and "ORDER BY" in s)
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if kind == "postgres" else "EXPLAIN QUERY PLAN "
        with db.connection_context():
            lines = [" | ".join(str(c) for c in row[-1:]) for row in db.execute_sql(prefix + sql, params)]
        # The select list (the listed customer columns and the plan's name) is shortened here.
        shown = re.sub(r"^SELECT .*? FROM", "SELECT <listed columns> FROM", sql)
        blocks.append(f"-- {name}: GET {url}\n-- {shown}\n-- parameters: {list(params)}\n" + "\n".join(lines))
    return blocks


def run(kind: str, label: str) -> tuple[list[Row], list[str]]:
    with throwaway_database(kind) as url:
        app = build_app(pooled(url))
        client = app.test_client()
        sign_in(client)
        with app.app_context(), db.connection_context():
            demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
            other = WhiteLabel.get(WhiteLabel.slug == "other-voice")
            demo_count = Customer.select().where(Customer.white_label == demo.id).count()
            data.generate(demo, SMALL - demo_count)
        small_urls = _searches(SMALL - demo_count)
        log(f"target 2 on {label}: {SMALL} customers")
        small = _measure(client, small_urls)
        small_p95 = _measure.p95

        with app.app_context(), db.connection_context():
            seconds = data.generate(demo, BIG - SMALL, start=SMALL - demo_count)
            seconds += data.generate(other, OTHER, seed=1)
        log(f"target 2 on {label}: generated {BIG - SMALL + OTHER:,} more customers in {seconds:.1f}s")
        big_urls = _searches(BIG - demo_count)
        big = _measure(client, big_urls)
        big_p95 = _measure.p95

        rows = []
        for (name, _), _big_url in zip(small_urls.items(), big_urls.values(), strict=True):
            ratio = (big[name] / big["floor"]) / (small[name] / small["floor"])
            rows.append(
                Row(
                    f"2 customers {name} ({label})",
                    f"{BIG // 1000}k: p50 {big[name]:.2f} / p95 {big_p95[name]:.2f} ms, {SMALL}: p50 {small[name]:.2f} / "
                    f"p95 {small_p95[name]:.2f} ms (floor p50 {big['floor']:.2f} / {small['floor']:.2f} ms)",
                    ratio,
                    f"<= {LIMIT:.2f}",
                    ratio <= LIMIT,
                )
            )
        with app.app_context():
            plans = _plans(client, big_urls, kind)
    return rows, [f"## Query plans, {label}, {BIG:,} customers\n" + "\n\n".join(plans)]
