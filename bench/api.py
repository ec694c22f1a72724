"""Target 8 (issue 16): the integration API.

- 8 create: POST /api/v1/customers (the customer option, each request a new customer with its
  own Idempotency-Key) under gunicorn on PostgreSQL, against a floor that commits one insert
  per JSON POST, in one run (wrk, taking turns): at least 0.4 of the floor's requests/second.
  Then, for reading it, the same against the rows-only reference (a create's rows written with
  none of its rules: bench.harness.register_rows_only), reported without a verdict.
- 8 list: GET /api/v1/customers (first page of 20) at 100,000 customers vs at 100, each
  divided by the floor measured in the same rounds: within 2x.
"""

from __future__ import annotations

import json
import tempfile
from typing import NamedTuple

from webapp.extensions import db
from webapp.models import Customer, Plan, User, WhiteLabel

from . import data
from .harness import (
    ADMIN,
    FLOOR_URL,
    INSERT_FLOOR_URL,
    ROWS_ONLY_URL,
    Row,
    build_app,
    close_database,
    expect,
    gunicorn,
    interleaved,
    log,
    median_ms,
    pooled,
    throwaway_database,
    wrk,
)

CREATE_LIMIT, LIST_LIMIT = 0.40, 2.0
WORKERS, CONNECTIONS, SLICE_S, SLICES = 2, 4, 2, 5
SMALL, BIG = 100, 100_000
ROUNDS = 120

# Each request a new customer: a unique email and Idempotency-Key per thread and request.
WRK_CREATE = """
local counter = 0
local threads = {}
local template = [==[@@BODY@@]==]
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  not_ok = 0
  run = "@@RUN@@"
end
function request()
  counter = counter + 1
  local tag = run .. "-" .. id .. "-" .. counter
  local body = string.gsub(template, "TAG", tag)
  wrk.headers["Idempotency-Key"] = "bench-" .. tag
  return wrk.format("POST", wrk.path, wrk.headers, body)
end
function response(status, headers, body)
  if status ~= 201 then not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("not_ok") end
  io.write(string.format("NOT_200 %d\\n", total))
end
"""


def creates(client, prefix: str, url: str = "/api/v1/customers"):
    """A function that creates one customer-option customer through `client` (Flask's test client)
    on each call, each with its own email and Idempotency-Key, and checks it got 201. `url`: the
    API's create, or the bench's rows-only reference (ROWS_ONLY_URL)."""
    import itertools

    secret, body = _key(client.application), _create_body(client.application)
    serial = itertools.count()

    def create():
        tag = f"{prefix}-{next(serial)}"
        headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": tag}
        response = client.post(url, json=json.loads(body.replace("TAG", tag)), headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
        return response

    return create


def _key(app) -> str:
    from webapp.api.keys import create_key

    with app.app_context(), db.connection_context():
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        return create_key(demo, User.get(User.email == ADMIN[0]), name="Bench", scope="read_write").secret


def _create_body(app) -> str:
    with app.app_context(), db.connection_context():
        plan = (
            Plan.select().join(WhiteLabel).where((WhiteLabel.slug == "demo-telecom") & (Plan.name == "Starter")).get()
        )
    return json.dumps(
        {
            "option": "customer",
            "contact": {
                "business_name": "Bench TAG Ltd",
                "first_name": "Hana",
                "last_name": "Kereama",
                "email": "bench-TAG@matai.example.com",
                "phone": "021 123 4567",
            },
            "address": {"line1": "12 Totara Street", "city": "Wellington", "postcode": "6011", "country": "NZ"},
            "plan": {"plan_id": plan.id},
        }
    )


def run_create(kind: str, label: str) -> list[Row]:
    with throwaway_database(kind) as url:
        app = build_app(pooled(url))
        secret = _key(app)
        body = _create_body(app)
        close_database()
        log_path = tempfile.mktemp(prefix="bench-gunicorn-", suffix=".log")
        # No rate limit: the bench measures the work, not the limiter's refusals.
        with gunicorn(pooled(url), WORKERS, log_path, RATELIMIT_ENABLED="0") as (port, _):
            base = f"http://127.0.0.1:{port}"
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
            script = WRK_CREATE.replace("@@BODY@@", body)
            log(
                f"target 8 create on {label}: wrk, {WORKERS} workers, {CONNECTIONS} connections, "
                f"{SLICES * SLICE_S}s per URL"
            )
            floor = base + INSERT_FLOOR_URL
            target = _take_turns({"floor": floor, "create": base + "/api/v1/customers"}, headers, script)
            # The reference afterwards, taking turns with the floor again: taking turns with both
            # at once lowered the create's ratio (by 0.02-0.05 in paired runs), so the target's
            # row is measured as it always was.
            reference = _take_turns({"floor": floor, "rows only": base + ROWS_ONLY_URL}, headers, script)
        with app.app_context(), db.connection_context():
            # Each request's business name carries its run's name ("Bench 3-create-1-55 Ltd").
            created = {
                name: Customer.select().where(Customer.business_name.contains(f"-{name}-")).count()
                for name in ("create", "rows only")
            }
    ratio = target["create"].per_second / target["floor"].per_second
    errors = target["create"].errors + target["floor"].errors
    return [
        Row(
            f"8 API create, customer option, vs an insert-per-request floor ({label})",
            f"create {target['create'].per_second:.0f} req/s, floor {target['floor'].per_second:.0f} req/s "
            f"({target['create'].requests + target['floor'].requests:,} requests, {errors} not 201; "
            f"{created['create']:,} customers created)",
            ratio,
            f">= {CREATE_LIMIT:.2f}",
            ratio >= CREATE_LIMIT and errors == 0,
        ),
        # For reading the row above: the same request and rows with none of a create's rules (no
        # forms, no look-ups to check answers, no email rendered, no webhook listeners).
        Row(
            f"8 reference: a create's rows written with none of its rules (bench only), vs the floor ({label})",
            f"rows only {reference['rows only'].per_second:.0f} req/s, floor "
            f"{reference['floor'].per_second:.0f} req/s ({reference['rows only'].errors} not 201; "
            f"{created['rows only']:,} customers created)",
            reference["rows only"].per_second / reference["floor"].per_second,
            "—",
            None,
        ),
    ]


class Total(NamedTuple):
    per_second: float
    requests: int
    errors: int


def _take_turns(urls: dict[str, str], headers: dict[str, str], script: str) -> dict[str, Total]:
    """wrk on each URL in turn, slice after slice; the first slice warms up and is not counted."""
    runs = {name: [] for name in urls}
    for index in range(SLICES + 1):
        for name, url in urls.items():
            result = wrk(
                url,
                seconds=SLICE_S if index else 1,
                connections=CONNECTIONS,
                threads=2,
                headers=headers,
                script=script.replace("@@RUN@@", f"{index}-{name}"),
            )
            if index:
                runs[name].append(result)
    return {
        name: Total(
            sum(r.requests for r in results) / sum(r.seconds for r in results),
            sum(r.requests for r in results),
            sum(r.socket_errors + r.not_200 for r in results),
        )
        for name, results in runs.items()
    }


def _measure(client, secret: str) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {secret}", "Accept-Encoding": "gzip, deflate, br"}
    calls = {
        "floor": lambda: expect(client.get(FLOOR_URL, headers=headers)),
        "list": lambda: expect(client.get("/api/v1/customers", headers=headers)),
    }
    samples = interleaved(calls, rounds=ROUNDS, warmup=5, budget_s=30)
    return {name: median_ms(values) for name, values in samples.items()}


def run_list(kind: str, label: str) -> list[Row]:
    with throwaway_database(kind) as url:
        app = build_app(pooled(url), RATELIMIT_ENABLED=False)
        secret = _key(app)
        client = app.test_client()
        with app.app_context(), db.connection_context():
            demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
            existing = Customer.select().where(Customer.white_label == demo.id).count()
            data.generate(demo, SMALL - existing)
        log(f"target 8 list on {label}: {SMALL} customers")
        small = _measure(client, secret)
        with app.app_context(), db.connection_context():
            seconds = data.generate(demo, BIG - SMALL, start=SMALL - existing)
        log(f"target 8 list on {label}: generated {BIG - SMALL:,} more customers in {seconds:.1f}s")
        big = _measure(client, secret)
    ratio = (big["list"] / big["floor"]) / (small["list"] / small["floor"])
    return [
        Row(
            f"8 API customer list ({label})",
            f"{BIG // 1000}k: {big['list']:.2f} ms, {SMALL}: {small['list']:.2f} ms "
            f"(floor {big['floor']:.2f} / {small['floor']:.2f} ms)",
            ratio,
            f"<= {LIST_LIMIT:.2f}",
            ratio <= LIST_LIMIT,
        )
    ]
