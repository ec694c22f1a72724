"""Queries per page stay the same however many rows the page shows (no N+1 queries).

Each page is requested once with 5 rows and once with 50, counting every statement that goes
through the database's execute_sql (bench.harness.captured_statements, which the bench's own
count uses); the two counts must be equal.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest

from bench.harness import ROWS_ONLY_URL, captured_statements, register_rows_only
from testkit.api import auth, customer_body, make_key
from webapp.extensions import db
from webapp.models import (
    ActivationToken,
    ApiIdempotencyKey,
    ApiKey,
    AuditEvent,
    Customer,
    LedgerEntry,
    OutboxEmail,
    PhoneNumber,
    Plan,
    User,
    WhiteLabel,
)
from webapp.onboarding.options import CUSTOMER, WHITE_LABEL
from webapp.prepared import statement_sql

_serial = itertools.count(1)


def _demo():
    return WhiteLabel.get(WhiteLabel.slug == "demo-telecom")


def _customer(label, plans, creator, index: int) -> Customer:
    customer = Customer(
        white_label=label,
        business_name=f"Counted Business {index}",
        contact_first_name="Ana",
        contact_last_name=f"Count{index}",
        contact_email=f"count{index}@example.com",
        plan=plans[index % len(plans)],
        administered_by=CUSTOMER.key if index % 2 else WHITE_LABEL.key,
        status=Customer.STATUSES[index % len(Customer.STATUSES)],
        created_by=creator,
        created_at=dt.datetime(2030, 1, 1) - dt.timedelta(minutes=index),
    )
    customer.refresh_search_text()
    customer.save()
    return customer


def customers_list(app, rows: int) -> tuple[str, int]:
    """The list page showing exactly `rows` customers (each with a plan and a creator)."""
    app.config["CUSTOMERS_PER_PAGE"] = 100
    with app.app_context():
        label = _demo()
        Customer.delete().where(Customer.white_label == label.id).execute()
        plans = list(Plan.select().where(Plan.white_label == label.id))
        creator = User.get(User.email == "admin@demo.example.com")
        for _ in range(rows):
            _customer(label, plans, creator, next(_serial))
    return "/customers/", rows


def customers_list_filtered(app, rows: int) -> tuple[str, int]:
    """The list narrowed by status and by who administers, sorted by name, showing `rows`."""
    customers_list(app, rows)
    with app.app_context():
        Customer.update(status=Customer.ACTIVE, administered_by=CUSTOMER.key).execute()
    return "/customers/?status=active&administered_by=customer&sort=name", rows


def customers_export(app, rows: int) -> tuple[str, int]:
    """The CSV export of `rows` customers."""
    customers_list(app, rows)
    return "/customers/export.csv?sort=name", 0


def customer_page(app, rows: int) -> tuple[str, int]:
    """A customer with `rows` of each kind of related row: numbers, ledger entries, audit events."""
    with app.app_context():
        label = _demo()
        plans = list(Plan.select().where(Plan.white_label == label.id))
        creator = User.get(User.email == "admin@demo.example.com")
        customer = _customer(label, plans, creator, next(_serial))
        # The same kind of account for both sizes, the one whose page shows the most (every
        # panel and control): an active account the white-label administers.
        Customer.update(status=Customer.ACTIVE, administered_by=WHITE_LABEL.key).where(
            Customer.id == customer.id
        ).execute()
        batch = next(_serial)
        for index in range(rows):
            PhoneNumber.create(
                white_label=label,
                number=f"+6439{batch:04d}{index:03d}",
                customer=customer,
                assigned_at=dt.datetime(2030, 1, 1),
            )
            LedgerEntry.create(
                white_label=label,
                account=LedgerEntry.CUSTOMER,
                customer=customer,
                kind=LedgerEntry.CREDIT,
                amount=100 + index,
                currency="NZD",
                reason=f"Top-up {index}",
                created_by=creator,
            )
            AuditEvent.create(white_label=label, customer=customer, actor=creator, action="counted")
    return f"/customers/{customer.id}", 0


def ledger_page(app, rows: int) -> tuple[str, int]:
    """The white-label's billing page listing `rows` debits, each linked to its customer."""
    with app.app_context():
        label = _demo()
        LedgerEntry.delete().where(LedgerEntry.white_label == label.id).execute()
        plans = list(Plan.select().where(Plan.white_label == label.id))
        creator = User.get(User.email == "admin@demo.example.com")
        for index in range(rows):
            customer = _customer(label, plans, creator, next(_serial))
            LedgerEntry.create(
                white_label=label,
                account=LedgerEntry.WHITE_LABEL,
                customer=customer,
                kind=LedgerEntry.DEBIT,
                amount=100 + index,
                currency="NZD",
                reason=f"Charge {index}",
                created_by=creator,
            )
    from webapp.settings.routes import BILLING_PAGE_SIZE

    return "/settings/billing", min(rows, BILLING_PAGE_SIZE)


PAGES = [
    pytest.param(customers_list, id="customers-list"),
    pytest.param(customers_list_filtered, id="customers-list-filtered"),
    pytest.param(customers_export, id="customers-export"),
    pytest.param(customer_page, id="customer-page"),
    pytest.param(ledger_page, id="ledger-page"),
]


@pytest.mark.parametrize("make_page", PAGES)
def test_queries_per_page_do_not_grow_with_the_rows_shown(app, admin_client, make_page):
    counts = {}
    for rows in (5, 50):
        url, listed = make_page(app, rows)
        admin_client.get(url)  # the first request of a client may warm caches
        with captured_statements() as captured:
            response = admin_client.get(url)
        statements = [sql for sql, _params in captured]
        assert response.status_code == 200
        assert any(
            'FROM "customer"' in sql or 'FROM "ledger_entry"' in sql for sql in statements
        )  # the counter saw the page's queries
        if listed:
            assert response.get_data(as_text=True).count('<td><a href="/customers/') == listed
        counts[rows] = statements
    assert len(counts[5]) == len(counts[50]), (
        f"{len(counts[5])} queries with 5 rows, {len(counts[50])} with 50:\n" + "\n".join(counts[50])
    )


# --- The API's create: a statement budget -----------------------------------------------------


def _statement_name(sql: str) -> str:
    """ "SELECT customer", "INSERT outbox_email"...: the statement's kind and its first table (for
    an EXECUTE of a statement prepared on PostgreSQL, the statement's)."""
    sql = statement_sql(sql)
    kind = sql.split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE) "(\w+)"', sql)
    return f"{kind} {table.group(1) if table else '?'}"


def test_an_api_create_runs_only_the_statements_it_needs(app, smtp):
    """A customer-option create with a new Idempotency-Key (the key used within the minute, so its
    last-used time is not written again): one look-up each for the key, the email, the plans and
    the webhook listeners; one insert each for the claim, the customer, its activation email and
    link and the audit event; the claim's answer stored. No savepoints, no look-up of the
    Idempotency-Key before claiming it, nothing read back that the create has just written."""
    secret, client = make_key(app), app.test_client()
    assert client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret, "warm-up")).status_code == 201
    body = customer_body(app, email="counted@example.com")
    with captured_statements() as captured:
        response = client.post("/api/v1/customers", json=body, headers=auth(secret, "counted"))
    statements = [sql for sql, _params in captured]
    assert response.status_code == 201, response.get_data(as_text=True)
    # The per-key rate limit's counter (its own statements, RATELIMIT_STORAGE_URI database://)
    # belongs to every API request, not to creating: tests/test_rate_limits.py covers it.
    names = [name for name in map(_statement_name, statements) if not name.endswith(" rate_limit_counter")]
    assert names == [
        "SELECT api_key",
        "INSERT api_idempotency_key",
        "SELECT customer",
        "SELECT plan",
        "INSERT customer",
        "INSERT outbox_email",
        "INSERT activation_token",
        "INSERT audit_event",
        "SELECT webhook_endpoint",
        "UPDATE api_idempotency_key",
    ]


def test_the_benchs_rows_only_reference_writes_what_an_api_create_writes_and_checks_nothing_else(app, smtp):
    """Target 8's reference (bench.harness.register_rows_only) is only a fair measure of what the
    rules cost if it writes the same rows as a create: the same inserts and update in the same
    order, one new row in each table, with none of the look-ups a create makes to check answers.
    It still refuses a request without a key (401) or with a read-only one (403)."""
    register_rows_only(app)
    secret, client = make_key(app), app.test_client()
    assert client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret, "warm-up")).status_code == 201
    tables = (Customer, ActivationToken, OutboxEmail, AuditEvent, ApiIdempotencyKey)

    def written(url: str, email: str) -> tuple[list[str], dict[str, int]]:
        with app.app_context():
            before = {table.__name__: table.select().count() for table in tables}
        with captured_statements() as captured:
            response = client.post(url, json=customer_body(app, email=email), headers=auth(secret, email))
        assert response.status_code == 201, response.get_data(as_text=True)
        with app.app_context():
            added = {table.__name__: table.select().count() - before[table.__name__] for table in tables}
        names = [name for name in (_statement_name(sql) for sql, _ in captured) if "rate_limit_counter" not in name]
        return names, added

    create, create_added = written("/api/v1/customers", "create@example.com")
    reference, reference_added = written(ROWS_ONLY_URL, "reference@example.com")
    assert reference_added == create_added == dict.fromkeys(create_added, 1)
    writes = [name for name in create if not name.startswith("SELECT")]
    assert [name for name in reference if not name.startswith("SELECT")] == writes
    assert "SELECT webhook_endpoint" in create and "SELECT webhook_endpoint" not in reference
    assert "SELECT customer" in create and "SELECT customer" not in reference  # the contact email's check
    read_only = make_key(app, scope=ApiKey.READ, name="Reader")
    refused = client.post(ROWS_ONLY_URL, json=customer_body(app, email="no@example.com"), headers=auth(read_only))
    assert refused.status_code == 403
    assert client.post(ROWS_ONLY_URL, json=customer_body(app, email="no@example.com")).status_code == 401
    with app.app_context():
        assert not Customer.select().where(Customer.contact_email == "no@example.com").exists()
