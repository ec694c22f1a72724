"""Webhooks (issue 16): endpoints in Settings > Webhooks, events queued with the changes that
cause them, and delivery by the outbox worker to a real HTTP receiver that checks every
signature with the `standardwebhooks` package, as a shop would."""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
import time

import pytest

from conftest import OTHER_ADMIN, has_card_number, has_security_code, sign_in
from testkit.activation import create_pending_customer, submit_activation
from testkit.top_up import CARD, choose_amount, hidden_fields
from testkit.webhook_receiver import Receiver
from testkit.wizard import complete_white_label_option, post
from webapp.activation.service import expire_activations
from webapp.extensions import db
from webapp.models import (
    ActivationToken,
    AuditEvent,
    Customer,
    OutboxEmail,
    WebhookDelivery,
    WebhookEndpoint,
    WhiteLabel,
    utcnow,
)
from webapp.schedule import run_worker
from webapp.webhooks import addresses
from webapp.webhooks.delivery import deliver_due_webhooks
from webapp.webhooks.events import EVENT_TYPES, emit

ALL_EVENTS = list(EVENT_TYPES)


def _texts(value) -> list[str]:
    """Every string in a JSON document (keys and values), at any depth."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for key, item in value.items() for t in (key, *_texts(item))]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return []


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def add_endpoint(client, url: str, events=ALL_EVENTS, description: str = "Shop") -> tuple[int, str]:
    """Add an endpoint through Settings > Webhooks; returns its id and the secret shown once."""
    response = post(client, "/settings/webhooks/new", {"url": url, "description": description, "events": list(events)})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    endpoint_id = int(re.search(r"/settings/webhooks/(\d+)$", response.headers["Location"]).group(1))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    secret = re.search(r"(whsec_[A-Za-z0-9+/=]+)", page).group(1)
    return endpoint_id, secret


def deliver_all(app, rounds: int = 20) -> int:
    """Run worker passes until nothing is due (the receiver answers at once)."""
    total = 0
    with app.app_context(), db.connection_context():
        for _ in range(rounds):
            sent = deliver_due_webhooks()
            total += sent
            due = (
                WebhookDelivery.select()
                .where(
                    (WebhookDelivery.status == WebhookDelivery.PENDING) & (WebhookDelivery.next_attempt_at <= utcnow())
                )
                .exists()
            )
            if not due:
                break
    return total


def deliveries(app, **where) -> list[WebhookDelivery]:
    with app.app_context():
        query = WebhookDelivery.select().order_by(WebhookDelivery.id)
        for name, value in where.items():
            query = query.where(getattr(WebhookDelivery, name) == value)
        return list(query)


def emit_test_events(app, count: int, event_type: str = "customer.created") -> None:
    """Queue `count` events the way the services do (for the worker races)."""
    with app.app_context(), db.connection_context():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        for index in range(count):
            with db.atomic():
                emit(label, event_type, {"customer": {"id": 10_000 + index, "status": "active"}})


# --- Settings > Webhooks -------------------------------------------------------------------------


def test_administrator_adds_an_endpoint_and_sees_its_secret_once(app, admin_client, receiver):
    endpoint_id, secret = add_endpoint(admin_client, receiver.url)
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)  # 32 random bytes
    again = admin_client.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "whsec_" not in again  # shown once
    assert receiver.url in again and "customer.activated" in again
    with app.app_context():
        raw = db.execute_sql(f"SELECT secret FROM webhook_endpoint WHERE id = {int(endpoint_id)}").fetchone()[0]
        assert raw.startswith("fernet:") and secret not in raw  # stored encrypted
        assert WebhookEndpoint.get_by_id(endpoint_id).secret == secret
        event = AuditEvent.get(AuditEvent.action == "webhook_endpoint_created")
        assert event.customer_id is None and secret not in event.detail
    listing = admin_client.get("/settings/webhooks/").get_data(as_text=True)
    assert receiver.url in listing and "Enabled" in listing


def test_the_form_says_what_is_wrong_and_keeps_what_was_typed(app, admin_client):
    response = post(admin_client, "/settings/webhooks/new", {"url": "", "description": "Till", "events": []})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html and "Enter the URL your shop receives webhooks at." in html
    assert "Choose at least one event to send to this endpoint." in html
    assert 'value="Till"' in html
    response = post(
        admin_client, "/settings/webhooks/new", {"url": "http://10.1.2.3/hooks", "events": ["customer.created"]}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Plain http:// is allowed only to this machine" in html
    assert 'value="http://10.1.2.3/hooks"' in html
    assert re.search(r'<input [^>]*checked[^>]*value="customer.created"', html)  # the ticked box stays ticked
    assert not re.search(r'<input [^>]*checked[^>]*value="payment.succeeded"', html)
    for url, words in [
        ("ftp://shop.example.com/", "starts with https://"),
        ("https://user:pw@127.0.0.1/", "Take the user name and password out"),
        ("https://127.0.0.1/#x", "Take the part after #"),
    ]:
        response = post(admin_client, "/settings/webhooks/new", {"url": url, "events": ["customer.created"]})
        assert response.status_code == 422 and words in response.get_data(as_text=True), url
    with app.app_context():
        assert WebhookEndpoint.select().count() == 0


def test_staff_see_endpoints_and_logs_but_cannot_change_them(app, admin_client, staff_client, receiver):
    endpoint_id, _ = add_endpoint(admin_client, receiver.url)
    listing = staff_client.get("/settings/webhooks/")
    assert listing.status_code == 200 and receiver.url in listing.get_data(as_text=True)
    assert "Add endpoint" not in listing.get_data(as_text=True)
    page = staff_client.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "Delivery log" in page and "Rotate secret" not in page and "Disable" not in page
    assert staff_client.get("/settings/webhooks/new").status_code == 403
    assert post(staff_client, f"/settings/webhooks/{endpoint_id}/disable").status_code == 403
    assert post(staff_client, f"/settings/webhooks/{endpoint_id}/rotate", {"overlap_hours": "0"}).status_code == 403


def test_another_white_label_cannot_see_the_endpoint(app, admin_client, receiver):
    endpoint_id, _ = add_endpoint(admin_client, receiver.url)
    other = app.test_client()
    assert sign_in(other, *OTHER_ADMIN).status_code == 303
    assert other.get(f"/settings/webhooks/{endpoint_id}").status_code == 404
    assert receiver.url not in other.get("/settings/webhooks/").get_data(as_text=True)


# --- Every event, from the real flows, exactly once --------------------------------------------


def test_every_event_type_arrives_exactly_once_and_signed(smtp, app, admin_client, receiver, record_figure):
    _, secret = add_endpoint(admin_client, receiver.url)
    receiver.secrets = [secret]

    # customer.created (customer option), then customer.activated and payment.succeeded.
    activated_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    # payment.succeeded for a top-up, its payment step posted twice (one payment).
    chosen = choose_amount(contact, activated_id, "25.50")
    assert chosen.status_code == 303
    pay = {**hidden_fields(contact.get(chosen.headers["Location"]).get_data(as_text=True)), **CARD}
    assert contact.post(chosen.headers["Location"], data=pay).status_code == 303
    assert contact.post(chosen.headers["Location"], data=pay).status_code == 303
    # customer.activation_expired, through the expiry job.
    expiring_id, _ = create_pending_customer(
        app, admin_client, smtp, email="late@kauri.example.com", business_name="Kauri Cafe"
    )
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(
            ActivationToken.customer == expiring_id
        ).execute()
        assert expire_activations() == 1
        assert expire_activations() == 0  # nothing expires twice
    # customer.status_changed: cancel, then (white-label option) suspend and reactivate.
    cancelled_id, _ = create_pending_customer(
        app, admin_client, smtp, email="never@totara.example.com", business_name="Totara Tiles"
    )
    assert post(admin_client, f"/customers/{cancelled_id}/activation/cancel").status_code == 303
    base = complete_white_label_option(admin_client, app, business_name="Managed Ltd", email="ops@managed.example.com")
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        managed_id = Customer.get(Customer.business_name == "Managed Ltd").id
    assert post(admin_client, f"/customers/{managed_id}/status", {"reason": "Unpaid invoice"}).status_code == 303
    assert post(admin_client, f"/customers/{managed_id}/status", {"reason": "Paid"}).status_code == 303

    queued = deliveries(app)
    assert deliver_all(app) == len(queued)
    arrived = receiver.wait_for(len(queued))
    time.sleep(0.2)
    assert receiver.rejected == []
    assert receiver.by_id() == {row.message_id: 1 for row in queued}  # each exactly once
    assert all(item.verified_by == [0] for item in arrived)

    by_type: dict[str, list] = {}
    for item in arrived:
        by_type.setdefault(item.event_type, []).append(item.payload["data"])
    assert sorted(by_type) == sorted(EVENT_TYPES)
    assert sorted(d["customer"]["id"] for d in by_type["customer.created"]) == sorted(
        [activated_id, expiring_id, cancelled_id, managed_id]
    )
    assert [d["customer"]["id"] for d in by_type["customer.activated"]] == [activated_id]
    assert by_type["customer.activated"][0]["customer"]["status"] == "active"
    assert by_type["customer.activated"][0]["customer"]["administered_by"] == "customer"
    payments = sorted((d["payment"]["purpose"], d["payment"]["amount"]) for d in by_type["payment.succeeded"])
    assert payments == [("activation", 7500), ("top_up", 2550)]  # the doubled top-up post is one payment
    assert [d["customer"]["id"] for d in by_type["customer.activation_expired"]] == [expiring_id]
    assert by_type["customer.activation_expired"][0]["customer"]["status"] == "expired"
    changes = sorted(
        (d["customer"]["id"], d["previous_status"], d["customer"]["status"]) for d in by_type["customer.status_changed"]
    )
    assert (cancelled_id, "pending_activation", "cancelled") in changes
    assert [c for c in changes if c[0] == managed_id] in (
        [(managed_id, "active", "suspended"), (managed_id, "suspended", "active")],
        [(managed_id, "suspended", "active"), (managed_id, "active", "suspended")],
    )
    for item in arrived:
        assert item.payload["type"] == item.event_type and item.payload["timestamp"].endswith("Z")
        # The code as text anywhere in the payload (its ids are JSON numbers: one may be 737 on PostgreSQL).
        assert not has_card_number(item.body) and not any(has_security_code(t) for t in _texts(item.payload))
        assert "4242" not in item.body and "whsec_" not in item.body
        assert "card" not in item.body and "last4" not in item.body and "Visa" not in item.body
    with app.app_context():
        assert all(
            row.status == WebhookDelivery.DELIVERED and row.attempts == 1 and row.last_status_code == 204
            for row in WebhookDelivery.select()
        )
    record_figure(
        "webhooks: every event once",
        f"{len(queued)} events of all {len(EVENT_TYPES)} types from the real flows: "
        "each arrived once, every signature verified with standardwebhooks",
    )


def test_a_rolled_back_change_queues_no_webhook(app, admin_client, receiver):
    add_endpoint(admin_client, receiver.url)
    with app.app_context(), db.connection_context():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        with pytest.raises(RuntimeError, match="the change failed"):
            with db.atomic():
                assert emit(label, "customer.created", {"customer": {"id": 1}}) == 1
                raise RuntimeError("the change failed")
        assert WebhookDelivery.select().count() == 0
        with pytest.raises(RuntimeError, match="inside the db.atomic"):
            emit(label, "customer.created", {"customer": {"id": 1}})


def test_only_subscribed_enabled_endpoints_of_the_white_label_get_an_event(
    smtp, app, admin_client, other_admin_client, receiver
):
    subscribed, _ = add_endpoint(admin_client, receiver.url, events=["customer.created"])
    add_endpoint(admin_client, receiver.url.replace("/hooks", "/payments"), events=["payment.succeeded"])
    other, _ = add_endpoint(other_admin_client, receiver.url, events=ALL_EVENTS)
    disabled, _ = add_endpoint(admin_client, receiver.url.replace("/hooks", "/off"), events=ALL_EVENTS)
    assert post(admin_client, f"/settings/webhooks/{disabled}/disable").status_code == 303
    create_pending_customer(app, admin_client, smtp)
    assert [row.endpoint_id for row in deliveries(app)] == [subscribed]


# --- Faults and races ----------------------------------------------------------------------------


def test_receiver_down_for_a_while_then_every_event_arrives_once(smtp, app, admin_client, receiver, record_figure):
    _, secret = add_endpoint(admin_client, receiver.url)
    receiver.secrets = [secret]
    receiver.stop()  # down
    for index in range(3):
        create_pending_customer(
            app, admin_client, smtp, email=f"down{index}@example.com", business_name=f"Down {index} Ltd"
        )
    queued = deliveries(app)
    assert len(queued) == 3
    app.config.update(WEBHOOK_BACKOFF_SECONDS=0.05, WEBHOOK_MAX_BACKOFF_SECONDS=0.3, OUTBOX_POLL_SECONDS=0.05)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(app, stop), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while min(row.attempts for row in deliveries(app)) < 3:  # every one has failed a few times
            assert time.monotonic() < deadline, "the worker did not retry"
            time.sleep(0.05)
        with app.app_context():
            failing = WebhookEndpoint.get()
            assert failing.failing_since is not None and failing.enabled
            assert all("Connection refused" in row.last_error for row in deliveries(app))
        receiver.start()  # up again, same port
        receiver.wait_for(3)
        deadline = time.monotonic() + 10
        while any(row.status != WebhookDelivery.DELIVERED for row in deliveries(app)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # anything sent twice would arrive now
    finally:
        stop.set()
        worker.join(timeout=10)
    assert receiver.by_id() == {row.message_id: 1 for row in queued}
    rows = deliveries(app)
    with app.app_context():
        assert WebhookEndpoint.get().failing_since is None  # a success ends the failing spell
    attempts = sorted(row.attempts for row in rows)
    record_figure(
        "webhooks: receiver down",
        f"3 events while the receiver was down: retried ({attempts[0]}-{attempts[-1]} "
        "attempts each) and each delivered once when it came back",
    )


def test_two_workers_at_once_send_each_delivery_exactly_once(app, admin_client, receiver, record_figure):
    _, secret = add_endpoint(admin_client, receiver.url)
    receiver.secrets = [secret]
    receiver.delay = 0.05  # each answer takes a moment, so both workers are sending at the same time
    count = 20
    emit_test_events(app, count)
    barrier = threading.Barrier(2)
    sent = [0, 0]

    def worker(index: int) -> None:
        with app.app_context(), db.connection_context():
            barrier.wait()
            for _ in range(50):
                sent[index] += deliver_due_webhooks(limit=count)
                if not WebhookDelivery.select().where(WebhookDelivery.status != WebhookDelivery.DELIVERED).exists():
                    return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    time.sleep(0.3)
    queued = deliveries(app)
    assert sum(sent) == count and len(receiver.received) == count
    assert receiver.by_id() == {row.message_id: 1 for row in queued}
    assert all(row.attempts == 1 for row in queued)  # no attempt was made twice
    assert receiver.most_in_flight >= 2 and min(sent) > 0, (receiver.most_in_flight, sent)  # they really overlapped
    record_figure(
        "webhooks: two workers",
        f"{count} deliveries, two workers at once (split {sent[0]}/{sent[1]}, "
        f"{receiver.most_in_flight} requests in flight at the receiver at once): each sent exactly once",
    )


def test_an_abandoned_claim_is_sent_after_its_lease_and_a_live_one_is_not(app, admin_client, receiver):
    _, secret = add_endpoint(admin_client, receiver.url)
    receiver.secrets = [secret]
    emit_test_events(app, 1)
    with app.app_context():
        WebhookDelivery.update(
            status=WebhookDelivery.SENDING, attempts=1, locked_until=utcnow() + dt.timedelta(minutes=4)
        ).execute()
    assert deliver_all(app) == 0 and receiver.received == []  # another worker is on it
    with app.app_context():
        WebhookDelivery.update(locked_until=utcnow() - dt.timedelta(seconds=1)).execute()
    assert deliver_all(app) == 1
    assert len(receiver.wait_for(1)) == 1
    assert deliveries(app)[0].attempts == 2


@pytest.mark.parametrize("status", [500, 302, 404])
def test_a_non_2xx_answer_is_a_failure_and_is_retried(app, admin_client, receiver, status):
    _, secret = add_endpoint(admin_client, receiver.url)
    receiver.secrets = [secret]
    receiver.status = status
    emit_test_events(app, 1)
    before = utcnow()
    assert deliver_all(app, rounds=1) == 0
    row = deliveries(app)[0]
    assert row.status == WebhookDelivery.PENDING and row.attempts == 1 and row.last_status_code == status
    assert f"HTTP {status}" in row.last_error and row.last_response_ms is not None
    # Back-off: doubling from 30 s with up to half taken off for jitter.
    assert before + dt.timedelta(seconds=14) <= row.next_attempt_at <= utcnow() + dt.timedelta(seconds=31)
    page = admin_client.get(f"/settings/webhooks/{row.endpoint_id}").get_data(as_text=True)
    assert "Retrying" in page and f"HTTP {status}" in page and "Failing" in page
    receiver.status = 200
    with app.app_context():
        WebhookDelivery.update(next_attempt_at=utcnow()).execute()
    assert deliver_all(app) == 1
    row = deliveries(app)[0]
    assert row.status == WebhookDelivery.DELIVERED and row.attempts == 2 and row.last_status_code == 200
    assert [item.message_id for item in receiver.received] == [row.message_id, row.message_id]


def test_a_slow_receiver_times_out(app, admin_client, receiver):
    _, secret = add_endpoint(admin_client, receiver.url)
    receiver.secrets = [secret]
    receiver.delay = 1.5
    app.config["WEBHOOK_TIMEOUT"] = 0.5
    emit_test_events(app, 1)
    started = time.monotonic()
    assert deliver_all(app, rounds=1) == 0
    assert time.monotonic() - started < 1.4
    row = deliveries(app)[0]
    assert row.status == WebhookDelivery.PENDING and "No answer within 0.5 s." == row.last_error


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_administrators_emailed(
    app, admin_client, receiver, smtp, record_figure
):
    endpoint_id, secret = add_endpoint(admin_client, receiver.url)
    receiver.secrets = [secret]
    receiver.status = 503
    emit_test_events(app, 1)
    clock = utcnow()
    with app.app_context(), db.connection_context():
        created = WebhookDelivery.get().created_at
        # The worker's clock moves to each next attempt until the delivery gives up.
        for _ in range(200):
            deliver_due_webhooks(now=clock)
            row = WebhookDelivery.get()
            if row.status != WebhookDelivery.PENDING:
                break
            clock = max(clock, row.next_attempt_at)
        endpoint = WebhookEndpoint.get_by_id(endpoint_id)
        span = row.last_attempt_at - created
        assert row.status == WebhookDelivery.FAILED and span == dt.timedelta(hours=72)
        assert not endpoint.enabled and endpoint.disabled_reason == WebhookEndpoint.FAILING
        audit = AuditEvent.get(AuditEvent.action == "webhook_endpoint_disabled")
        assert audit.customer_id is None and audit.actor_id is None
        emails = list(OutboxEmail.select().where(OutboxEmail.kind == "webhook_endpoint_disabled"))
        assert [e.recipient for e in emails] == ["admin@demo.example.com"]
        attempts = row.attempts
    assert len(receiver.received) == attempts  # every attempt reached the receiver, signed
    from webapp.mail import deliver_due

    with app.app_context(), db.connection_context():
        assert deliver_due() == 1
    message = smtp.wait_for(1)[0]
    assert "disabled" in message["Subject"] and receiver.url in smtp.text(message)
    assert f"/settings/webhooks/{endpoint_id}" in smtp.text(message)
    # Nothing new is queued for a disabled endpoint; the page says why it stopped.
    emit_test_events(app, 1)
    assert len(deliveries(app)) == 1
    page = admin_client.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "Disabled" in page and "after every attempt failed for 3 days" in page
    record_figure(
        "webhooks: failing endpoint",
        f"receiver answering 503: {attempts} attempts over 72 hours "
        "(back-off 30 s doubling to 6 h, jitter), then the endpoint disabled and its administrator emailed",
    )


def test_enabling_again_sends_what_waited_and_restarts_the_failure_clock(app, admin_client, receiver):
    endpoint_id, secret = add_endpoint(admin_client, receiver.url)
    receiver.secrets = [secret]
    emit_test_events(app, 1)
    assert post(admin_client, f"/settings/webhooks/{endpoint_id}/disable").status_code == 303
    assert deliver_all(app) == 0 and receiver.received == []
    assert post(admin_client, f"/settings/webhooks/{endpoint_id}/enable").status_code == 303
    assert deliver_all(app) == 1
    assert len(receiver.wait_for(1)) == 1
    with app.app_context():
        actions = [e.action for e in AuditEvent.select().where(AuditEvent.customer.is_null()).order_by(AuditEvent.id)]
    assert actions == ["webhook_endpoint_created", "webhook_endpoint_disabled", "webhook_endpoint_enabled"]


def test_a_secret_no_key_can_read_fails_the_attempt_with_a_reason(app, admin_client, receiver):
    endpoint_id, _ = add_endpoint(admin_client, receiver.url)
    with app.app_context():
        # Stored under an encryption key this install no longer has.
        db.execute_sql(
            f"UPDATE webhook_endpoint SET secret = {db.param} WHERE id = {db.param}",
            ("fernet:gAAAAABnot-a-token-any-key-opens", endpoint_id),
        )
    emit_test_events(app, 1)
    assert deliver_all(app, rounds=1) == 0
    assert "rotate the secret" in deliveries(app)[0].last_error
    assert receiver.connections == 0


# --- Send again, edit, delete --------------------------------------------------------------------


def test_send_again_delivers_the_same_message_once_more(app, admin_client, receiver):
    endpoint_id, secret = add_endpoint(admin_client, receiver.url)
    receiver.secrets = [secret]
    emit_test_events(app, 1)
    deliver_all(app)
    row = deliveries(app)[0]
    page = admin_client.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "Delivered" in page and "HTTP 204" in page and re.search(r"\d+ ms", page)
    response = post(admin_client, f"/settings/webhooks/{endpoint_id}/deliveries/{row.id}/send-again")
    assert response.status_code == 303
    assert deliveries(app)[0].status == WebhookDelivery.PENDING
    assert deliver_all(app) == 1
    arrived = receiver.wait_for(2)
    assert [item.message_id for item in arrived] == [row.message_id] * 2  # same webhook-id: a receiver can tell
    assert arrived[0].body == arrived[1].body
    assert deliveries(app)[0].attempts == 2
    with app.app_context():
        assert AuditEvent.select().where(AuditEvent.action == "webhook_sent_again").count() == 1
    # Another endpoint's delivery id under this endpoint is a 404.
    other_id, _ = add_endpoint(admin_client, receiver.url.replace("/hooks", "/other"))
    assert post(admin_client, f"/settings/webhooks/{other_id}/deliveries/{row.id}/send-again").status_code == 404


def test_edit_changes_subscriptions_and_delete_removes_the_endpoint(smtp, app, admin_client, receiver):
    endpoint_id, _ = add_endpoint(admin_client, receiver.url)
    form = admin_client.get(f"/settings/webhooks/{endpoint_id}/edit").get_data(as_text=True)
    assert receiver.url in form
    response = post(
        admin_client,
        f"/settings/webhooks/{endpoint_id}/edit",
        {"url": receiver.url, "description": "Till", "events": ["payment.succeeded"]},
    )
    assert response.status_code == 303
    create_pending_customer(app, admin_client, smtp)
    assert deliveries(app) == []  # no longer subscribed to customer.created
    emit_test_events(app, 1, event_type="payment.succeeded")
    assert admin_client.get(f"/settings/webhooks/{endpoint_id}/delete").status_code == 200
    assert post(admin_client, f"/settings/webhooks/{endpoint_id}/delete").status_code == 303
    with app.app_context():
        assert WebhookEndpoint.select().count() == 0 and WebhookDelivery.select().count() == 0
        actions = [e.action for e in AuditEvent.select().where(AuditEvent.customer.is_null()).order_by(AuditEvent.id)]
    assert actions == ["webhook_endpoint_created", "webhook_endpoint_changed", "webhook_endpoint_deleted"]
    assert admin_client.get(f"/settings/webhooks/{endpoint_id}").status_code == 404


# --- Secret rotation -------------------------------------------------------------------------------


def test_a_rotated_secret_signs_beside_the_old_one_during_the_overlap(app, admin_client, receiver, record_figure):
    endpoint_id, old = add_endpoint(admin_client, receiver.url)
    response = post(admin_client, f"/settings/webhooks/{endpoint_id}/rotate", {"overlap_hours": "24"})
    assert response.status_code == 303
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    new = re.search(r"(whsec_[A-Za-z0-9+/=]+)", page).group(1)
    assert new != old and "whsec_" not in admin_client.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    receiver.secrets = [new, old]
    emit_test_events(app, 1)
    deliver_all(app)
    item = receiver.wait_for(1)[0]
    assert item.verified_by == [0, 1]  # a receiver on either secret accepts it
    assert len(item.headers["webhook-signature"].split(" ")) == 2
    # After the overlap only the new secret signs.
    with app.app_context():
        WebhookEndpoint.update(previous_secret_until=utcnow() - dt.timedelta(seconds=1)).execute()
    emit_test_events(app, 1)
    deliver_all(app)
    item = receiver.wait_for(2)[1]
    assert item.verified_by == [0] and len(item.headers["webhook-signature"].split(" ")) == 1
    # Without an overlap the old secret stops at once.
    response = post(admin_client, f"/settings/webhooks/{endpoint_id}/rotate", {"overlap_hours": "0"})
    newest = re.search(
        r"(whsec_[A-Za-z0-9+/=]+)", admin_client.get(response.headers["Location"]).get_data(as_text=True)
    ).group(1)
    receiver.secrets = [newest, new]
    emit_test_events(app, 1)
    deliver_all(app)
    assert receiver.wait_for(3)[2].verified_by == [0]
    record_figure(
        "webhooks: secret rotation",
        "during a 24 h overlap each webhook carries 2 signatures (new and old secret, "
        "both verify); after it, or with no overlap, only the new secret's",
    )


# --- Addresses: production refuses private networks; connections go to the checked address ----


@pytest.fixture
def production(app):
    app.config["APP_ENV"] = "production"
    yield app
    app.config["APP_ENV"] = "development"


@pytest.fixture
def dns(monkeypatch):
    """Stand-in DNS for addresses.resolve: host -> list of answers (popped in turn, last repeats)."""
    answers: dict[str, list[list[str]]] = {}
    looked_up: list[str] = []
    real_resolve = addresses.resolve

    def resolve(host, port):
        looked_up.append(host)
        if host not in answers:
            return real_resolve(host, port)
        queue = answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(addresses, "resolve", resolve)
    return answers, looked_up


@pytest.mark.parametrize(
    "url, answer",
    [
        ("https://hooks.example.com/in", ["10.0.0.7"]),
        ("https://hooks.example.com/in", ["93.184.216.34", "192.168.1.20"]),  # one bad answer is enough
        ("https://hooks.example.com/in", ["169.254.169.254"]),  # cloud metadata
        ("https://hooks.example.com/in", ["::1"]),
        ("https://hooks.example.com/in", ["fe80::1"]),
        ("https://hooks.example.com/in", ["100.64.0.1"]),  # shared address space (CGNAT)
        ("https://hooks.example.com/in", ["::ffff:127.0.0.1"]),
        ("https://127.0.0.1/in", None),
        ("https://[::1]/in", None),
        ("https://0x7f.1/in", None),  # 127.0.0.1 spelt another way
    ],
)
def test_production_refuses_endpoints_on_private_addresses(app, production, admin_client, dns, url, answer):
    answers, _ = dns
    if answer:
        answers["hooks.example.com"] = [answer]
    response = post(admin_client, "/settings/webhooks/new", {"url": url, "events": ["customer.created"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:300]
    assert "a private, loopback or link-local address" in html
    with app.app_context():
        assert WebhookEndpoint.select().count() == 0


def test_production_refuses_plain_http_and_accepts_a_public_https_address(app, production, admin_client, dns):
    answers, _ = dns
    answers["hooks.example.com"] = [["93.184.216.34"]]
    response = post(
        admin_client, "/settings/webhooks/new", {"url": "http://hooks.example.com/in", "events": ["customer.created"]}
    )
    assert response.status_code == 422 and "Use an https:// URL" in response.get_data(as_text=True)
    response = post(
        admin_client, "/settings/webhooks/new", {"url": "https://hooks.example.com/in", "events": ["customer.created"]}
    )
    assert response.status_code == 303


def test_production_checks_the_address_again_at_delivery_and_never_connects_to_a_private_one(
    app, production, admin_client, dns, receiver
):
    answers, _ = dns
    # Public when saved; the name then points at this machine (DNS rebinding).
    answers["hooks.example.com"] = [["93.184.216.34"], ["127.0.0.1"]]
    add_endpoint(admin_client, f"https://hooks.example.com:{receiver.port}/hooks")
    emit_test_events(app, 1)
    assert deliver_all(app, rounds=1) == 0
    row = deliveries(app)[0]
    assert row.status == WebhookDelivery.PENDING and "resolves to 127.0.0.1" in row.last_error
    assert receiver.connections == 0  # refused before connecting


def test_a_delivery_connects_to_the_address_it_checked_without_looking_the_name_up_again(
    app, admin_client, dns, receiver, monkeypatch
):
    answers, looked_up = dns
    answers["shop.example.com"] = [["127.0.0.1"]]
    _, secret = add_endpoint(admin_client, f"http://shop.example.com:{receiver.port}/hooks")
    receiver.secrets = [secret]
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        assert host != "shop.example.com", "the connection looked the name up again"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    looked_up.clear()
    emit_test_events(app, 1)
    assert deliver_all(app) == 1
    item = receiver.wait_for(1)[0]
    assert item.host == f"shop.example.com:{receiver.port}"  # the name, sent to the checked address
    assert looked_up == ["shop.example.com"]  # one look-up for the check, none for the connection


def test_development_allows_http_only_to_this_machine(app, admin_client, dns):
    answers, _ = dns
    answers["shop.example.com"] = [["203.0.113.9"]]
    response = post(
        admin_client, "/settings/webhooks/new", {"url": "http://shop.example.com/in", "events": ["customer.created"]}
    )
    assert response.status_code == 422 and "Plain http:// is allowed only to this machine" in response.get_data(
        as_text=True
    )
    response = post(
        admin_client, "/settings/webhooks/new", {"url": "https://shop.example.com/in", "events": ["customer.created"]}
    )
    assert response.status_code == 303


# --- The receiver example in docs/ -----------------------------------------------------------------


def test_the_receiver_example_in_the_docs_checks_signatures_and_handles_each_event_once(smtp, app, admin_client):
    import http.client
    import importlib.util

    from conftest import free_port
    from webapp.config import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location(
        "webhook_receiver_example", PROJECT_ROOT / "docs" / "webhook_receiver.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    port = free_port()
    endpoint_id, secret = add_endpoint(admin_client, f"http://127.0.0.1:{port}/")
    handled: list[dict] = []
    server = example.make_server(secret, port, handled.append)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        customer_id, _ = create_pending_customer(app, admin_client, smtp)
        assert deliver_all(app) == 1
        row = deliveries(app)[0]
        assert post(admin_client, f"/settings/webhooks/{endpoint_id}/deliveries/{row.id}/send-again").status_code == 303
        assert deliver_all(app) == 1  # answered 2xx again...
        assert [event["data"]["customer"]["id"] for event in handled] == [customer_id]  # ...and handled once
        forged = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        forged.request(
            "POST",
            "/",
            body=row.payload,
            headers={
                "webhook-id": "msg_forged",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl",
                "Content-Type": "application/json",
            },
        )
        assert forged.getresponse().status == 400
        forged.close()
        assert len(handled) == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
