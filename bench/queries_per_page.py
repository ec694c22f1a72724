"""Target 3 as a table row: queries per page with 5 vs 50 rows (the test is tests/test_query_counts.py)."""

from __future__ import annotations

import datetime as dt

from webapp.extensions import db
from webapp.models import Customer, PhoneNumber, WhiteLabel

from . import data
from .harness import (
    Row,
    build_app,
    captured_statements,
    expect,
    log,
    sign_in,
    throwaway_database,
)


def _count(client, url: str) -> int:
    expect(client.get(url))
    with captured_statements() as statements:
        expect(client.get(url))
    return len(statements)


def run() -> list[Row]:
    log("target 3: queries per page")
    counts: dict[str, dict[int, int]] = {"customers list": {}, "customer page": {}}
    with throwaway_database("sqlite") as url:
        app = build_app(url, CUSTOMERS_PER_PAGE=100)
        client = app.test_client()
        sign_in(client)
        for rows in (5, 50):
            with app.app_context(), db.connection_context():
                label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
                Customer.delete().where(Customer.white_label == label.id).execute()
                data.generate(label, rows, seed=rows)
                customer = Customer.select().where(Customer.white_label == label.id).first()
                for index in range(rows):
                    PhoneNumber.create(
                        white_label=label,
                        number=f"+6439{rows:03d}{index:04d}",
                        customer=customer,
                        assigned_at=dt.datetime(2030, 1, 1),
                    )
            counts["customers list"][rows] = _count(client, "/customers/")
            counts["customer page"][rows] = _count(client, f"/customers/{customer.id}")
    # The ledger page is not built yet; add it to `counts` (and to the test) when it is.
    out = []
    for page, by_rows in counts.items():
        ratio = by_rows[50] / by_rows[5]
        out.append(
            Row(
                f"3 queries per page: {page}",
                f"5 rows: {by_rows[5]} queries, 50 rows: {by_rows[50]} queries",
                ratio,
                "== 1.00",
                by_rows[5] == by_rows[50],
            )
        )
    return out
