import time

from webapp.extensions import db
from webapp.mail import deliver_due, queue_email
from webapp.models import OutboxEmail, WhiteLabel, utcnow


def _queue(app, subject="Hello from the outbox"):
    with app.test_request_context():
        with db.atomic():
            label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
            return queue_email(
                kind="test",
                recipient="someone@example.com",
                subject=subject,
                template="test_message",
                white_label=label,
                body="The body of the message.",
            ).id


def test_queued_email_reaches_the_smtp_server(app, smtp):
    email_id = _queue(app)
    with app.app_context():
        assert deliver_due() == 1
        row = OutboxEmail.get_by_id(email_id)
    message = smtp.wait_for(1)[0]
    assert message["Subject"] == "Hello from the outbox"
    assert message["To"] == "someone@example.com"
    assert "Demo Telecom" in message["From"]
    assert "The body of the message." in smtp.text(message)
    assert row.status == OutboxEmail.SENT and row.sent_at is not None


def test_email_waits_while_smtp_is_down_and_is_delivered_exactly_once_later(app, smtp):
    smtp.stop()
    email_id = _queue(app)
    with app.app_context():
        assert deliver_due() == 0
        row = OutboxEmail.get_by_id(email_id)
        assert row.status == OutboxEmail.QUEUED
        assert row.attempts == 1
        assert row.last_error
        smtp.start()
        assert deliver_due() == 1
        assert deliver_due() == 0  # nothing sent twice
        assert OutboxEmail.get_by_id(email_id).status == OutboxEmail.SENT
    assert len(smtp.wait_for(1)) == 1


def test_failures_back_off_and_give_up_after_the_limit(app, smtp):
    smtp.stop()
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    app.config["OUTBOX_BACKOFF_SECONDS"] = 60
    email_id = _queue(app)
    with app.app_context():
        deliver_due()
        row = OutboxEmail.get_by_id(email_id)
        assert row.next_attempt_at > utcnow()  # backed off, not due yet
        assert deliver_due() == 0
        OutboxEmail.update(next_attempt_at=utcnow()).where(OutboxEmail.id == email_id).execute()
        deliver_due()
        assert OutboxEmail.get_by_id(email_id).status == OutboxEmail.FAILED


def test_a_row_claimed_by_another_worker_is_not_sent_again(app, smtp):
    email_id = _queue(app)
    with app.app_context():
        OutboxEmail.update(status=OutboxEmail.SENDING, locked_until=utcnow().replace(year=2100)).where(
            OutboxEmail.id == email_id
        ).execute()
        assert deliver_due() == 0
    assert smtp.messages == []


def test_an_abandoned_claim_is_picked_up_after_its_lease(app, smtp):
    email_id = _queue(app)
    with app.app_context():
        OutboxEmail.update(status=OutboxEmail.SENDING, locked_until=utcnow().replace(year=2000)).where(
            OutboxEmail.id == email_id
        ).execute()
        assert deliver_due() == 1
    assert len(smtp.wait_for(1)) == 1


def test_rolled_back_change_leaves_no_email(app):
    try:
        with app.test_request_context():
            with db.atomic():
                label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
                queue_email(
                    kind="test",
                    recipient="x@example.com",
                    subject="s",
                    template="test_message",
                    white_label=label,
                    body="b",
                )
                raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    with app.app_context():
        assert OutboxEmail.select().count() == 0


def test_outbox_worker_command_sends_due_mail(app, runner, smtp):
    _queue(app)
    result = runner.invoke(args=["outbox-worker", "--once"])
    assert "Sent 1 email(s)." in result.output
    assert len(smtp.wait_for(1)) == 1


def test_stopping_the_mail_catcher_lets_a_message_in_progress_finish(tmp_path):
    """The app's sender caught mid-conversation when the catcher stops still gets its answers;
    the connection is then closed by the server, not left to the garbage collector (whose
    ResourceWarning failed whichever test was running at the time)."""
    import socket
    import threading

    from conftest import free_port
    from webapp.mailcatcher import start_mail_catcher

    port = free_port()
    controller = start_mail_catcher("127.0.0.1", port, tmp_path)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        reader = client.makefile("rb")
        assert reader.readline().startswith(b"220")  # the greeting: the session is open
        stopping = threading.Thread(target=controller.stop)
        stopping.start()
        time.sleep(0.3)  # the server is stopping now, the client still talking
        client.sendall(b"HELO sender.example.com\r\n")
        assert reader.readline().startswith(b"250")
        client.sendall(b"QUIT\r\n")
        assert reader.readline().startswith(b"221")
        stopping.join(timeout=5)
        assert not stopping.is_alive()
        assert reader.readline() == b""  # and then the server closed it
