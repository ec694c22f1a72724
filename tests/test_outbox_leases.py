"""The outbox sends exactly once where it can, and says so where it cannot (issue 18, item 1).

- Anything after the SMTP server accepted the message (250 to DATA) is a success: a connection
  that drops before QUIT's reply, or a QUIT that stalls past MAIL_TIMEOUT.
- A worker holds a row it is sending with a short lease (OUTBOX_LEASE_SECONDS) that a heartbeat
  renews while the send lasts, so another worker never takes over a live send however slow.
- A worker killed mid-send (here: after the server accepted the message) stops renewing; another
  worker takes the row over once the lease runs out and sends it again with the same Message-ID,
  counted on the row (`lease_resends`) and as a metric: the one at-least-once window.
- SIGTERM: the worker finishes the send in progress, starts no other, and exits 0.
- Webhook deliveries get the same lease, heartbeat and count.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from prometheus_client import REGISTRY

from testkit.smtp_faults import FaultySmtpServer
from testkit.webhook_receiver import Receiver
from testkit.worker import start_worker, stop_worker
from webapp import logs
from webapp.extensions import db
from webapp.mail import deliver_due, queue_email
from webapp.models import OutboxEmail, WebhookDelivery, WhiteLabel, utcnow
from webapp.webhooks.delivery import _claim as claim_delivery
from webapp.webhooks.delivery import deliver_due_webhooks

pytestmark = pytest.mark.slow  # runs and kills worker processes: left out of `make test-fast`

LEASE = 1.5  # seconds: short, so a lease running out is quick to see; the heartbeat beats every 0.5 s


def _queue(app, count: int = 1, request_id: str = "") -> list[int]:
    with app.test_request_context(), logs.bound(request_id=request_id), db.atomic():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        return [
            queue_email(
                kind="test",
                recipient=f"someone{n}@example.com",
                subject="Once only",
                template="test_message",
                white_label=label,
                body="The body.",
            ).id
            for n in range(count)
        ]


def _row(app, email_id: int) -> OutboxEmail:
    with app.app_context(), db.connection_context():
        return OutboxEmail.get_by_id(email_id)


def _deliver(app) -> int:
    with app.app_context(), db.connection_context():
        return deliver_due()


def _metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def faulty(request, config):
    """(app, server): the app sends to a FaultySmtpServer behaving as the parameter says."""
    after_accept, data_delay = request.param
    server = FaultySmtpServer(after_accept=after_accept, data_delay=data_delay)
    config.update(MAIL_PORT=server.port, MAIL_TIMEOUT=1.0, OUTBOX_LEASE_SECONDS=LEASE)
    yield request.getfixturevalue("app"), server
    server.close()


# --- After acceptance, a success ---------------------------------------------------------------


@pytest.mark.parametrize("faulty", [("drop", 0.0)], indirect=True)
def test_a_server_that_drops_the_connection_after_accepting_gets_the_message_once(faulty, record_figure):
    app, server = faulty
    [email_id] = _queue(app)
    assert _deliver(app) == 1
    assert len(server.messages) == 1
    row = _row(app, email_id)
    assert (row.status, row.attempts, row.last_error, row.lease_resends) == (OutboxEmail.SENT, 1, "", 0)
    with app.app_context(), db.connection_context():  # made due again: still never sent twice
        OutboxEmail.update(next_attempt_at=utcnow()).where(OutboxEmail.id == email_id).execute()
    assert _deliver(app) == 0
    time.sleep(0.3)
    assert len(server.messages) == 1
    record_figure(
        "mail (SMTP drops after accepting)",
        "message taken, connection dropped before QUIT's reply: marked sent, 1 copy, not sent again",
    )


@pytest.mark.parametrize("faulty", [("stall", 0.0)], indirect=True)
def test_a_quit_stalling_past_mail_timeout_is_a_success_and_the_heartbeat_keeps_the_row(faulty, record_figure):
    """QUIT stalls for MAIL_TIMEOUT (2.5 s here), longer than the lease (1.5 s): the heartbeat
    keeps the row while a second worker polls every 0.1 s, and it never takes it over."""
    app, server = faulty
    app.config.update(MAIL_TIMEOUT=2.5)
    [email_id] = _queue(app)
    result = {}

    def first_worker():
        started = time.monotonic()
        result["sent"] = _deliver(app)
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=first_worker)
    thread.start()
    server.wait_for(1)
    second_worker_sent = 0
    while thread.is_alive():
        second_worker_sent += _deliver(app)
        time.sleep(0.1)
    thread.join()
    row = _row(app, email_id)
    assert result["sent"] == 1 and second_worker_sent == 0
    assert result["seconds"] >= 2.5  # QUIT really stalled past the lease
    assert (row.status, row.attempts, row.lease_resends) == (OutboxEmail.SENT, 1, 0)
    assert len(server.messages) == 1
    record_figure(
        "mail (heartbeat)",
        f"QUIT stalled {result['seconds']:.1f} s with a {LEASE} s lease, a second "
        "worker polling every 0.1 s: 1 copy, never taken over",
    )


# --- A killed worker: at least once, counted -------------------------------------------------------


@pytest.mark.parametrize("faulty", [("stall", 0.0)], indirect=True)
def test_a_worker_killed_after_the_server_accepted_is_taken_over_after_the_lease_with_the_same_message_id(
    faulty, database_url, record_figure
):
    app, server = faulty  # the worker waits for QUIT's reply when it dies
    [email_id] = _queue(app)
    resends_before = _metric("onboarding_outbox_email_lease_resends_total")
    worker = start_worker(database_url, MAIL_PORT=server.port, MAIL_TIMEOUT=60, OUTBOX_LEASE_SECONDS=LEASE)
    try:
        server.wait_for(1, timeout=60)  # the worker has started, and the server has accepted the message
        time.sleep(LEASE * 2)  # past the lease it claimed with: only its heartbeat keeps the row now
        row = _row(app, email_id)
        assert row.status == OutboxEmail.SENDING and row.locked_until > utcnow(), "the heartbeat renews the lease"
        assert _deliver(app) == 0, "a live worker's send is never taken over"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = time.monotonic()
        taken_over = 0
        while not taken_over and time.monotonic() - killed_at < LEASE + 10:
            taken_over = _deliver(app)
            time.sleep(0.05)
        waited = time.monotonic() - killed_at
    finally:
        output = stop_worker(worker)
    assert taken_over == 1, output
    assert waited <= LEASE + 3, waited
    row = _row(app, email_id)
    assert len(server.messages) == 2 and server.messages[0] == server.messages[1] == row.message_id
    assert (row.status, row.attempts, row.lease_resends) == (OutboxEmail.SENT, 2, 1)
    assert _metric("onboarding_outbox_email_lease_resends_total") == resends_before + 1
    record_figure(
        "mail (worker killed after acceptance)",
        f"SIGKILL while QUIT was pending: taken over {waited:.1f} s later (lease {LEASE} s), sent again "
        "with the same Message-ID, lease_resends 1, counted in onboarding_outbox_email_lease_resends_total",
    )


@pytest.mark.parametrize("faulty", [("quit", 2.0)], indirect=True)  # each message held 2 s before its 250
def test_sigterm_finishes_the_send_in_progress_and_starts_no_other(faulty, database_url, record_figure):
    app, server = faulty
    email_ids = _queue(app, count=3, request_id="req-sigterm")
    worker = start_worker(database_url, MAIL_PORT=server.port, MAIL_TIMEOUT=30)
    try:
        assert server.receiving.wait(timeout=60), "the worker never started sending"
        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=20)
        exited = time.monotonic()
    finally:
        output = stop_worker(worker)
    assert code == 0, output
    assert len(server.messages) == 1 and server.accepted_at[0] < exited  # it waited for the 250
    assert exited - signalled >= 1.0  # the send in progress was not cut short
    statuses = sorted((_row(app, i).status, _row(app, i).attempts) for i in email_ids)
    assert statuses == [(OutboxEmail.QUEUED, 0), (OutboxEmail.QUEUED, 0), (OutboxEmail.SENT, 1)], statuses
    assert "SIGTERM: finishing the send in progress" in output and "Outbox worker stopped." in output
    # The worker's log line about the email carries the id of the request that queued it.
    assert any("[req-sigterm]" in line and " sent (attempt 1)" in line for line in output.splitlines()), output
    record_figure(
        "mail (SIGTERM)",
        f"worker stopped {exited - signalled:.1f} s after SIGTERM, once the send in "
        "progress was accepted; 2 emails left queued, none left sending; exit code 0",
    )


# --- Webhooks: the same lease, heartbeat and count ------------------------------------------------


def _webhook_setup(app, receiver: Receiver) -> int:
    from webapp.webhooks.events import emit
    from webapp.webhooks.service import create_endpoint

    with app.test_request_context(), db.connection_context():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        endpoint, secret = create_endpoint(
            label, None, url=receiver.url, description="Shop", events=["customer.created"]
        )
        receiver.secrets = [secret]
        with logs.bound(request_id="req-webhook"), db.atomic():
            emit(label, "customer.created", {"customer": {"id": 1, "status": "active"}})
        return WebhookDelivery.get(WebhookDelivery.endpoint == endpoint.id).id


def test_a_slow_webhook_receiver_keeps_its_delivery_and_a_dead_workers_is_taken_over(app, record_figure):
    app.config.update(OUTBOX_LEASE_SECONDS=LEASE, WEBHOOK_TIMEOUT=10.0)
    receiver = Receiver(delay=2.5).start()
    try:
        delivery_id = _webhook_setup(app, receiver)
        result = {}

        def first_worker():
            with app.app_context(), db.connection_context():
                result["delivered"] = deliver_due_webhooks()

        thread = threading.Thread(target=first_worker)
        thread.start()
        deadline = time.monotonic() + 20
        while receiver.in_flight == 0 and time.monotonic() < deadline:  # the first worker has it
            time.sleep(0.01)
        second = 0
        while thread.is_alive():
            with app.app_context(), db.connection_context():
                second += deliver_due_webhooks()
            time.sleep(0.1)
        thread.join()
        assert (result["delivered"], second, len(receiver.received)) == (1, 0, 1)
        with app.app_context():
            row = WebhookDelivery.get_by_id(delivery_id)
            assert (row.status, row.attempts, row.lease_resends, row.request_id) == (
                WebhookDelivery.DELIVERED,
                1,
                0,
                "req-webhook",
            )
            # A worker that claims the delivery again (Send again) and dies before answering:
            WebhookDelivery.update(status=WebhookDelivery.PENDING, next_attempt_at=utcnow()).execute()
        receiver.delay = 0.0
        resends_before = _metric("onboarding_webhook_lease_resends_total")
        with app.app_context(), db.connection_context():
            assert claim_delivery(delivery_id, utcnow()) is not None  # ...and nothing more: it died
            assert deliver_due_webhooks() == 0  # its lease is still running
            time.sleep(LEASE + 0.2)
            assert deliver_due_webhooks() == 1
            row = WebhookDelivery.get_by_id(delivery_id)
    finally:
        receiver.stop()
    assert (row.status, row.attempts, row.lease_resends) == (WebhookDelivery.DELIVERED, 3, 1)
    assert [r.message_id for r in receiver.received] == [row.message_id] * 2
    assert _metric("onboarding_webhook_lease_resends_total") == resends_before + 1
    record_figure(
        "webhooks (lease)",
        f"a receiver slower (2.5 s) than the lease ({LEASE} s), a second worker "
        "polling: delivered once; a dead worker's claim taken over after the lease, same webhook-id, "
        "lease_resends 1",
    )


# --- The scheduled jobs: two workers at once do each thing once ------------------------------------


def test_two_workers_running_the_schedule_at_once_send_one_reminder_and_expire_once(
    app, admin_client, smtp, record_figure
):
    """Every worker runs the schedule; two running it together must still queue one reminder per
    link and expire each customer once (each item is claimed by a conditional UPDATE)."""
    import datetime as dt

    from testkit.activation import create_pending_customer
    from testkit.races import Overlap
    from webapp.models import ActivationToken, Customer
    from webapp.schedule import run_schedule

    reminded, _ = create_pending_customer(app, admin_client, smtp, email="remind-me@matai.example.com")
    expiring, _ = create_pending_customer(app, admin_client, smtp, email="expire-me@matai.example.com")
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() + dt.timedelta(hours=20)).where(
            ActivationToken.customer == reminded
        ).execute()
        ActivationToken.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(
            ActivationToken.customer == expiring
        ).execute()
    overlap = Overlap("run_schedule")
    schedule = overlap.wrap(run_schedule)
    errors = []

    def worker():
        try:
            with app.app_context(), db.connection_context():
                schedule()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    overlap.assert_overlapped()
    assert not errors, errors
    with app.app_context():
        reminders = OutboxEmail.select().where(OutboxEmail.kind == "activation_reminder").count()
        tokens = ActivationToken.select().where(ActivationToken.customer == reminded).count()
        status = Customer.get_by_id(expiring).status
    assert (reminders, tokens, status) == (1, 2, Customer.EXPIRED)
    record_figure("scheduled jobs (two workers)", "two workers running the schedule together: 1 reminder, 1 expiry")
