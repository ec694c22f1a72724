"""The Idempotency-Key race (issue 16): two identical POSTs with one key at the same moment,
over HTTP against a live threaded server, create one customer, one ledger entry, one email.

The creation is slowed by 0.3 s inside its transaction, and the server records when each
request arrived and left, so the test can assert that the two requests really overlapped (the
second arrived while the first was still inside its transaction)."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest
from werkzeug.serving import make_server

from testkit.api import auth, customer_body, make_key, new_idempotency_key, white_label_body
from webapp.models import ActivationToken, Customer, CustomerMembership, LedgerEntry, OutboxEmail

pytestmark = pytest.mark.slow  # races against a live server: left out of `make test-fast`

ROUNDS = 5


class Timeline:
    """WSGI middleware: (idempotency key, arrived, left) of every request."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.spans: list[tuple[str, float, float]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        arrived = time.monotonic()
        try:
            return list(self.wsgi_app(environ, start_response))  # the whole answer, then "left"
        finally:
            with self.lock:
                self.spans.append((environ.get("HTTP_IDEMPOTENCY_KEY", ""), arrived, time.monotonic()))


@pytest.fixture
def live_api(app, monkeypatch):
    from webapp.onboarding import service

    create = service.create_customer

    def slow_create(*args, **kwargs):
        customer = create(*args, **kwargs)
        time.sleep(0.3)  # still inside the transaction that holds the Idempotency-Key
        return customer

    monkeypatch.setattr(service, "create_customer", slow_create)
    timeline = Timeline(app.wsgi_app)
    server = make_server("127.0.0.1", 0, timeline, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, timeline
    server.shutdown()
    thread.join(timeout=5)


def _post(port: int, secret: str, key: str, body: dict):
    def send():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request(
            "POST",
            "/api/v1/customers",
            body=json.dumps(body),
            headers={**auth(secret, key), "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        answer = (response.status, response.getheader("Idempotent-Replayed"), response.read().decode())
        connection.close()
        return answer

    return send


def simultaneously(*calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("option", ["customer", "white_label"])
def test_two_identical_posts_with_one_idempotency_key_at_once_create_once(app, live_api, smtp, option, record_figure):
    port, timeline = live_api
    secret = make_key(app)
    overlapped = 0
    for round_ in range(ROUNDS):
        email = f"race-{option}-{round_}@example.com"
        body = (
            customer_body(app, email=email)
            if option == "customer"
            else white_label_body(app, numbers=[f"+649555{110 + round_:04d}"], email=email)
        )
        key = new_idempotency_key()
        results = simultaneously(_post(port, secret, key, body), _post(port, secret, key, body))
        assert [status for status, _, _ in results] == [201, 201], results
        assert results[0][2] == results[1][2]  # the same answer, byte for byte
        assert sorted(replayed or "" for _, replayed, _ in results) == ["", "true"]
        spans = [(arrived, left) for k, arrived, left in timeline.spans if k == key]
        assert len(spans) == 2
        overlapped += max(a for a, _ in spans) < min(left for _, left in spans)
        with app.app_context():
            customer = Customer.get(Customer.contact_email == email)
            assert Customer.select().where(Customer.contact_email == email).count() == 1
            if option == "customer":
                assert OutboxEmail.select().where(OutboxEmail.customer == customer).count() == 1
                assert ActivationToken.select().where(ActivationToken.customer == customer).count() == 1
            else:
                assert LedgerEntry.select().where(LedgerEntry.customer == customer).count() == 1
                assert CustomerMembership.select().where(CustomerMembership.customer == customer).count() == 1
    assert overlapped == ROUNDS, f"only {overlapped} of {ROUNDS} races had both requests in flight at once"
    record_figure(
        f"api idempotency race ({option})",
        f"{ROUNDS} races of two identical POSTs with one Idempotency-Key, all {overlapped} overlapping: "
        "1 customer each, the second answer a replay",
    )


def test_creates_with_different_keys_at_once_all_succeed(app, live_api, smtp, record_figure):
    """Each create claims its Idempotency-Key after taking the white-label lock: claimed first,
    the claims' foreign-key locks on the white-label row deadlocked two creates on PostgreSQL."""
    port, timeline = live_api
    secret = make_key(app)
    for round_ in range(3):
        results = simultaneously(
            *[
                _post(
                    port, secret, new_idempotency_key(), customer_body(app, email=f"parallel-{round_}-{i}@example.com")
                )
                for i in range(4)
            ]
        )
        assert [status for status, _, _ in results] == [201] * 4, [r[2][:200] for r in results]
    with app.app_context():
        assert Customer.select().where(Customer.contact_email.startswith("parallel-")).count() == 12
