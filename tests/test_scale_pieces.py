"""The cheap pieces of the bench's tools (`make scale-test`'s bench/scale.py, bench/spy.py, bench/costs.py), tested without running them whole."""

from __future__ import annotations

import pytest

from bench.scale import MailServer, count_mail, first_429, p50_p95, percentile, table
from conftest import free_port
from webapp.extensions import db
from webapp.mail import deliver_due, queue_email
from webapp.models import OutboxEmail, WhiteLabel


def test_percentiles_are_nearest_rank():
    samples = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentile(samples, 0.5) == 0.050 and percentile(samples, 0.95) == 0.095
    assert p50_p95(samples) == "50 / 95 ms" and p50_p95([]) == "—"


def test_emails_per_customer_tell_lost_duplicates_and_resent_copies_apart():
    customers = ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]
    received = [
        ("a@example.com", "<1>"),  # exactly one
        ("B@example.com", "<2>"),
        ("b@example.com", "<2>"),  # one email, a re-sent copy
        ("c@example.com", "<3>"),
        ("c@example.com", "<4>"),
    ]  # two different emails: a duplicate
    counted = count_mail(customers, received)
    assert (counted.customers, counted.exactly_one, counted.lost, counted.duplicates, counted.resent_copies) == (
        4,
        2,
        1,
        1,
        1,
    )


def test_the_first_refusal_and_the_table():
    assert first_429([422] * 10 + [429] * 5) == 11 and first_429([422] * 3) is None
    assert table(["A", "B"], [("x", ["1", "2"])]) == "| figure | A | B |\n|---|---|---|\n| x | 1 | 2 |"


@pytest.fixture
def dropping_server(config):
    server = MailServer(free_port())
    server.drop_every = 2  # every 2nd connection dropped right after the message was accepted
    config.update(MAIL_PORT=server.port)
    server.start()
    yield server
    server.stop()


def test_the_scale_tests_mail_server_drops_after_accepting_and_the_outbox_counts_it_sent(dropping_server, app):
    with app.test_request_context(), db.atomic():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        for n in range(6):
            queue_email(
                kind="test",
                recipient=f"p{n}@example.com",
                subject="s",
                template="test_message",
                white_label=label,
                body="b",
            )
    with app.app_context():
        assert deliver_due() == 6
        assert OutboxEmail.select().where(OutboxEmail.status == OutboxEmail.SENT).count() == 6
        assert deliver_due() == 0
    assert dropping_server.dropped == 3 and len({mid for _, mid in dropping_server.received}) == 6


def test_bench_spy_counts_each_frame_once_per_sample_inclusive_and_the_top_frame_as_self(tmp_path):
    """bench/spy.py reads py-spy's raw output: a frame that appears twice in one stack (recursion)
    still counts once for that sample, and only the top frame counts as self."""
    from bench.spy import shares

    raw = tmp_path / "worker-1.txt"
    raw.write_text(
        "handle (gunicorn/workers/sync.py:10);view (/x/site-packages/flask/app.py:5);"
        "view (/x/site-packages/flask/app.py:5);_execute_cursor (/x/site-packages/peewee.py:3914) 7\n"
        "handle (gunicorn/workers/sync.py:10);render (/x/site-packages/jinja2/environment.py:1) 3\n"
    )
    total, inclusive, alone = shares([raw])
    assert total == 10
    assert inclusive["view (flask/app.py)"] == 7 and inclusive["handle (gunicorn/workers/sync.py)"] == 10
    assert alone == {"_execute_cursor (peewee.py)": 7, "render (jinja2/environment.py)": 3}


def test_bench_costs_counts_each_execute_as_one_round_trip_and_bounds_the_ratio_by_the_trips_saved():
    """bench/costs.py: its cursor counts one round trip per execute, however many statements the
    execute carries (four INSERTs sent together are one, and all four rows are written); the bound
    takes the round trips a create makes beyond the floor's, each at the measured cost, off the
    create's total."""
    import psycopg2

    from bench.costs import Cost, bound, round_trip_costs
    from conftest import service_unavailable

    url = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.OperationalError as error:
        service_unavailable(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({error})")
    costs = round_trip_costs(url, 3)
    assert {name: cost.round_trips for name, cost in costs.items()} == {
        "SELECT 1": 1,
        "one INSERT": 1,
        "4 INSERTs, 4 round trips": 4,
        "4 INSERTs, 1 round trip": 1,
    }
    assert all(cost.wall_ms > 0 for cost in costs.values())
    floor = Cost(python_ms=2.0, postgres_ms=0.5, wall_ms=3.0, round_trips=4)
    create = Cost(python_ms=7.0, postgres_ms=3.0, wall_ms=12.0, round_trips=13)
    assert bound(floor, create, trip_ms=0.2) == pytest.approx(2.5 / (10.0 - 9 * 0.2))
    assert bound(floor, floor, trip_ms=0.2) == 1.0
