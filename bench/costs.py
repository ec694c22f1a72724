"""What target 8's two requests cost both cores, and what a round trip to PostgreSQL costs.

    python -m bench.costs                  # 400 requests of each kind, 3,000 of each round trip
    python -m bench.costs --requests 100   # quicker, noisier

Target 8 compares API create with a floor that commits one insert per request, under gunicorn
with the two cores saturated, so its ratio follows what each request costs both cores: the
Python in the web worker and the PostgreSQL backend's work. bench/spy.py shows where a worker's
time goes; this prints the sums, in-process through Flask's test client on pooled PostgreSQL
(as target 8 runs), from the CPU clocks of this process and of the backend:

1. A round trip: a bare `SELECT 1`, one prepared INSERT, and four INSERTs sent as four round
   trips and as one. The difference is what a round trip itself costs, apart from its statement.
2. Per request, the floor, a create and the rows-only reference (a create's rows written with
   none of its rules: bench.harness.register_rows_only), taking turns: round trips (every
   statement, BEGIN, COMMIT and the pool's check of its connection, counted at the driver),
   Python CPU, PostgreSQL CPU, and the ratios of the totals.
3. The bound: the ratio a create would reach if it made no more round trips than the floor,
   each round trip it saved costing what part 1 measured. That is a generous bound: a create
   cannot get down to the floor's round trips, since it must read what it validates before it
   writes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import NamedTuple

import psycopg2
import psycopg2.extensions

from . import api
from .harness import INSERT_FLOOR_URL, ROWS_ONLY_URL, build_app, close_database, pooled, throwaway_database

ROUND_TRIPS = 3_000
WARMUP = 30


class CountingCursor(psycopg2.extensions.cursor):
    """A cursor that counts what it sends: each execute is one round trip to the server."""

    sent = 0

    def execute(self, query, vars=None):  # noqa: A002 (psycopg2's own name)
        CountingCursor.sent += 1
        return super().execute(query, vars)


class Cost(NamedTuple):
    python_ms: float  # this process's CPU
    postgres_ms: float  # the backend's CPU
    wall_ms: float
    round_trips: float

    @property
    def total_ms(self) -> float:
        return self.python_ms + self.postgres_ms


def backend_cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) the PostgreSQL backends `pids` have used, from /proc."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def measure(call: Callable[[], object], times: int, pids: list[int]) -> Cost:
    trips, cpu, wall, backend = CountingCursor.sent, time.process_time(), time.perf_counter(), backend_cpu_s(pids)
    for _ in range(times):
        call()
    per = 1000 / times
    return Cost(
        (time.process_time() - cpu) * per,
        (backend_cpu_s(pids) - backend) * per,
        (time.perf_counter() - wall) * per,
        (CountingCursor.sent - trips) / times,
    )


def round_trip_costs(url: str, times: int) -> dict[str, Cost]:
    """Part 1, on a connection of its own (autocommit, as peewee's are)."""
    connection = psycopg2.connect(url, cursor_factory=CountingCursor)
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    pids = [cursor.fetchone()[0]]
    cursor.execute("CREATE TEMPORARY TABLE trip (id serial PRIMARY KEY, label text, number integer)")
    cursor.execute("PREPARE trip_insert(text, integer) AS INSERT INTO trip (label, number) VALUES ($1, $2)")
    insert = "EXECUTE trip_insert(%s, %s)"
    calls = {
        "SELECT 1": lambda: cursor.execute("SELECT 1"),
        "one INSERT": lambda: cursor.execute(insert, ("a label", 3)),
        "4 INSERTs, 4 round trips": lambda: [cursor.execute(insert, ("a label", 3)) for _ in range(4)],
        "4 INSERTs, 1 round trip": lambda: cursor.execute(";".join([insert] * 4), ("a label", 3) * 4),
    }
    try:
        costs = {}
        for name, call in calls.items():
            call()
            costs[name] = measure(call, times, pids)
        # The batch did the work the four round trips did: every INSERT made its row.
        cursor.execute("SELECT count(*) FROM trip")
        inserted, expected = cursor.fetchone()[0], (times + 1) * (1 + 4 + 4)
        if inserted != expected:
            raise RuntimeError(f"{inserted} rows inserted, {expected} expected")
        return costs
    finally:
        connection.close()


def per_request_costs(url: str, requests: int) -> list[tuple[str, Cost]]:
    """Part 2: the floor, a create and the rows-only reference, taking turns, twice each."""
    from webapp.extensions import db

    app = build_app(pooled(url))
    close_database()  # the pool's connections from here on count their round trips
    db.obj.connect_params["cursor_factory"] = CountingCursor
    client = app.test_client()
    create = api.creates(client, "costs")
    rows_only = api.creates(client, "rows-only", ROWS_ONLY_URL)
    body = api._create_body(app).replace("TAG", "floor")  # the same JSON for the floor to parse

    def floor() -> None:
        # Decoded on each call, as each create's body is: the test client's work counts for both.
        response = client.post(INSERT_FLOOR_URL, json=json.loads(body))
        assert response.status_code == 201, response.get_data(as_text=True)[:300]

    for _ in range(WARMUP):  # statements prepared on the connection, templates compiled
        create()
        rows_only()
        floor()
    with app.app_context(), db.connection_context():
        query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        pids = [row[0] for row in db.execute_sql(query)]  # the pool's connections: one, here
    results = []
    for name, call in (("floor", floor), ("create", create), ("rows only", rows_only)) * 2:
        results.append((name, measure(call, requests, pids)))
    close_database()
    return results


def bound(floor: Cost, create: Cost, trip_ms: float) -> float:
    """The floor-to-create ratio if the create made only as many round trips as the floor."""
    saved = max(create.round_trips - floor.round_trips, 0) * trip_ms
    return floor.total_ms / (create.total_ms - saved)


def mean(costs: list[Cost]) -> Cost:
    return Cost(*(sum(values) / len(values) for values in zip(*costs, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--round-trips", type=int, default=ROUND_TRIPS)
    args = parser.parse_args()
    with throwaway_database("postgres") as url:
        trips = round_trip_costs(url, args.round_trips)
        requests = per_request_costs(url, args.requests)
    report(trips, requests)


def report(trips: dict[str, Cost], requests: list[tuple[str, Cost]]) -> None:
    print("1. Round trips to PostgreSQL (CPU per call: this process + the backend)")
    for name, cost in trips.items():
        print(
            f"   {name:26} {1000 * cost.python_ms:5.0f} + {1000 * cost.postgres_ms:5.0f} µs"
            f"  (wall {1000 * cost.wall_ms:5.0f} µs)"
        )
    many, one = trips["4 INSERTs, 4 round trips"], trips["4 INSERTs, 1 round trip"]
    trip_ms = (many.total_ms - one.total_ms) / 3
    print(f"   a round trip itself (4 trips - 1 trip, / 3): {1000 * trip_ms:.0f} µs of CPU")
    print("\n2. Per request, in-process on pooled PostgreSQL (ms of CPU)")
    print("   request    round trips   Python  PostgreSQL   total   wall")
    for name, cost in requests:
        print(
            f"   {name:10} {cost.round_trips:11.1f} {cost.python_ms:8.2f} {cost.postgres_ms:11.2f}"
            f" {cost.total_ms:7.2f} {cost.wall_ms:6.2f}"
        )
    floor = mean([cost for name, cost in requests if name == "floor"])
    create = mean([cost for name, cost in requests if name == "create"])
    rows_only = mean([cost for name, cost in requests if name == "rows only"])
    print(f"   floor / create, CPU: {floor.total_ms / create.total_ms:.2f}x (target 8 wants 0.40 of requests/s)")
    print(f"   floor / rows only, CPU: {floor.total_ms / rows_only.total_ms:.2f}x (a create's rows, none of its rules)")
    print(
        f"\n3. With only the floor's {floor.round_trips:.0f} round trips instead of {create.round_trips:.0f},"
        f" a create would reach {bound(floor, create, trip_ms):.2f}x"
    )


if __name__ == "__main__":
    main()
