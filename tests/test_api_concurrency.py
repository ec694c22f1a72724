"""The Idempotency-Key race (issue 16): two identical POSTs with one key at the same moment,
over HTTP against a live threaded server, create one customer, one ledger entry, one email.

The creation is slowed by 0.3 s inside its transaction, and the server records when each
request arrived and left, so the test can assert that the two requests really overlapped (the
second arrived while the first was still inside its transaction)."""

from __future__ import annotations

import html
import http.client
import json
import threading
import time

import pytest
from werkzeug.serving import make_server

import webapp.api.idempotency
import webapp.onboarding.routes
from conftest import csrf_token
from testkit.api import auth, customer_body, make_key, new_idempotency_key, white_label_body
from testkit.races import Overlap
from testkit.wizard import complete_customer_option
from webapp.models import ActivationToken, Customer, CustomerMembership, LedgerEntry, OutboxEmail
from webapp.onboarding.forms import EMAIL_TAKEN

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


# --- One contact email, two creates at once ----------------------------------------------------


def _console_submit(port: int, client, base: str):
    """The wizard's "Create customer" over HTTP with `client`'s session (a plain form post)."""
    cookie = client.get_cookie("session").value
    token = csrf_token(client)

    def send():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request(
            "POST",
            f"{base}/review",
            body="",
            headers={
                "Cookie": f"session={cookie}",
                "X-CSRFToken": token,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        answer = (response.status, None, response.read().decode())
        connection.close()
        return answer

    return send


@pytest.mark.parametrize("doors", [("api", "api"), ("api", "console")])
def test_two_creates_with_one_contact_email_at_once_create_one_customer(
    app, admin_client, live_api, smtp, doors, record_figure
):
    """Two creates for one email with different Idempotency-Keys (or the API and the console),
    both inside their create at once: one customer, one activation email; the other request is
    told the email is taken, in the words of the contact step."""
    port, _ = live_api
    secret = make_key(app)
    for round_ in range(ROUNDS):
        email = f"same-email-{'-'.join(doors)}-{round_}@example.com"
        calls = []
        for door in doors:
            if door == "api":
                calls.append(_post(port, secret, new_idempotency_key(), customer_body(app, email=email)))
            else:
                base = complete_customer_option(admin_client, app, business_name=f"Console {round_} Ltd", email=email)
                calls.append(_console_submit(port, admin_client, base))
        race = Overlap(f"two creates for {email}")
        with pytest.MonkeyPatch.context() as patches:  # its own: live_api's slowed create stays
            # Held on the way into each door's transaction: the API's idempotent run, the wizard's submit.
            race.patch(patches, webapp.api.idempotency, "run")
            race.patch(patches, webapp.onboarding.routes, "submit")
            results = simultaneously(*calls)
        race.assert_overlapped()
        with app.app_context():
            assert Customer.select().where(Customer.contact_email == email).count() == 1
            assert OutboxEmail.select().where(OutboxEmail.recipient == email).count() == 1
            customer = Customer.get(Customer.contact_email == email)
            assert ActivationToken.select().where(ActivationToken.customer == customer).count() == 1
        answers = list(zip(doors, results, strict=True))
        won = [(door, r) for door, r in answers if r[0] in (201, 303)]
        lost = [(door, r) for door, r in answers if r[0] not in (201, 303)]
        assert len(won) == 1 and len(lost) == 1, [(door, r[0], r[2][:300]) for door, r in answers]
        door, (status, _, body) = lost[0]
        assert status == 422, body[:300]
        if door == "api":
            problem = json.loads(body)
            assert problem["errors"] == [{"pointer": "/contact/email", "detail": EMAIL_TAKEN}], problem
        else:
            assert html.escape(EMAIL_TAKEN) in body
    record_figure(
        f"api one contact email, two creates ({' and '.join(doors)})",
        f"{ROUNDS} races of two creates for one email, both inside at once: 1 customer and 1 email each, "
        "the other told the email is taken",
    )
