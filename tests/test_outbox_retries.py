"""The outbox against an SMTP server that stalls, and its exact retry schedule.

The README: MAIL_TIMEOUT (10 s) is how long a stalled SMTP server may hold a send attempt
before it counts as failed; failed attempts are retried with a back-off that starts at
OUTBOX_BACKOFF_SECONDS (30 s), doubles per attempt and is capped at an hour; after
OUTBOX_MAX_ATTEMPTS (8) the email is FAILED. Removing the timeout from the SMTP connection
passed every other test: here a send to a stalled server must end within about MAIL_TIMEOUT.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest

from webapp.config import from_environment
from webapp.extensions import db
from webapp.mail import deliver_due, queue_email
from webapp.models import OutboxEmail, WhiteLabel, utcnow

MAIL_TIMEOUT = 1.5  # seconds: short, so a stall is quick to see
SLACK = 3.0  # seconds on top of it for the attempt's own queries on a loaded machine


class StallingSmtpServer:
    """An SMTP server on 127.0.0.1 that stalls at one point of the conversation and never hangs
    up by itself: "connect" (it accepts the connection and says nothing), "greeting" (it greets,
    then never answers EHLO), or "quit" (it takes the message, then never answers QUIT)."""

    def __init__(self, stall_at: str):
        self.stall_at = stall_at
        self.messages = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.open: list = []  # connections and their readers, closed by close()
        self.closing = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            self.open.append(connection)
            thread = threading.Thread(target=self._converse, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _converse(self, connection: socket.socket) -> None:
        if self.stall_at == "connect":
            return
        reader = connection.makefile("rb")
        self.open.append(reader)
        try:
            connection.sendall(b"220 stalling.example.com ESMTP\r\n")
            if self.stall_at == "greeting":
                return
            in_data = False
            for line in reader:
                if in_data:
                    if line == b".\r\n":
                        in_data = False
                        self.messages += 1
                        connection.sendall(b"250 OK: queued\r\n")
                    continue
                verb = line[:4].upper()
                if verb == b"QUIT":
                    return  # the message is taken; the goodbye never comes
                if verb == b"DATA":
                    in_data = True
                    connection.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                elif verb == b"EHLO":
                    connection.sendall(b"250-stalling.example.com\r\n250 8BITMIME\r\n")
                else:
                    connection.sendall(b"250 OK\r\n")
        except OSError:  # close() pulled the connection away
            return

    def close(self) -> None:
        self.closing.set()
        self.listener.close()
        for item in self.open:
            try:
                if isinstance(item, socket.socket):
                    item.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            item.close()
        for thread in self.threads:
            thread.join(timeout=5)


def _queue(app) -> int:
    with app.test_request_context(), db.atomic():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        return queue_email(
            kind="test",
            recipient="someone@example.com",
            subject="Retry me",
            template="test_message",
            white_label=label,
            body="The body.",
        ).id


def _row(app, email_id: int) -> OutboxEmail:
    with app.app_context(), db.connection_context():
        return OutboxEmail.get_by_id(email_id)


@pytest.fixture
def stalling(request, config):
    """(app, server): the app sends to a server that stalls where the test's parameter says."""
    server = StallingSmtpServer(request.param)
    config.update(MAIL_PORT=server.port, MAIL_TIMEOUT=MAIL_TIMEOUT, OUTBOX_BACKOFF_SECONDS=30.0)
    app = request.getfixturevalue("app")
    yield app, server
    server.close()


def _deliver_in_a_thread(app, wait: float) -> dict:
    """deliver_due() in a thread: its result and how long it took, or {} if it was still
    waiting after `wait` seconds (the caller then closes the server, which releases it)."""
    result: dict = {}

    def run():
        with app.app_context(), db.connection_context():
            started = time.monotonic()
            result["before"] = utcnow()
            result["sent"] = deliver_due()
            result["after"] = utcnow()
            result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=wait)
    return result if not thread.is_alive() else {"thread": thread}


@pytest.mark.parametrize("stalling", ["connect", "greeting"], indirect=True)
def test_a_stalled_smtp_server_fails_the_attempt_within_mail_timeout_and_it_is_rescheduled(stalling, record_figure):
    app, server = stalling
    email_id = _queue(app)
    result = _deliver_in_a_thread(app, wait=MAIL_TIMEOUT + SLACK + 10)
    if "thread" in result:
        server.close()  # lets the stuck send end, so nothing outlives the test
        result["thread"].join(timeout=10)
        pytest.fail(
            f"a send to an SMTP server that stalls at {server.stall_at!r} was still waiting after "
            f"{MAIL_TIMEOUT + SLACK + 10:.0f} s: MAIL_TIMEOUT ({MAIL_TIMEOUT} s) is not applied"
        )
    assert result["sent"] == 0
    # It waited for the timeout (the server really stalled, nothing refused it) and not much longer.
    assert MAIL_TIMEOUT <= result["seconds"] < MAIL_TIMEOUT + SLACK, result["seconds"]
    row = _row(app, email_id)
    assert (row.status, row.attempts, row.locked_until) == (OutboxEmail.QUEUED, 1, None)
    assert "timed out" in row.last_error, row.last_error  # the cause, not what closing the line said after it
    # Rescheduled after the first back-off (OUTBOX_BACKOFF_SECONDS, 30 s here).
    backoff = dt.timedelta(seconds=30)
    assert result["before"] + backoff <= row.next_attempt_at <= result["after"] + backoff
    record_figure(
        f"mail (SMTP stalls at {server.stall_at})",
        f"MAIL_TIMEOUT {MAIL_TIMEOUT} s: the attempt failed after {result['seconds']:.2f} s, "
        f"email queued again for 30 s later ({row.last_error})",
    )


@pytest.mark.parametrize("stalling", ["quit"], indirect=True)
def test_a_server_that_takes_the_message_and_stalls_at_quit_gets_it_once(stalling, record_figure):
    """The message was accepted: a goodbye that never comes must not make it a failure to resend."""
    app, server = stalling
    email_id = _queue(app)
    result = _deliver_in_a_thread(app, wait=MAIL_TIMEOUT + SLACK + 10)
    if "thread" in result:
        server.close()
        result["thread"].join(timeout=10)
        pytest.fail(f"a send whose QUIT got no answer was still waiting after {MAIL_TIMEOUT + SLACK + 10:.0f} s")
    assert MAIL_TIMEOUT <= result["seconds"] < MAIL_TIMEOUT + SLACK, result["seconds"]
    assert (result["sent"], server.messages) == (1, 1)
    row = _row(app, email_id)
    assert (row.status, row.attempts, row.last_error) == (OutboxEmail.SENT, 1, "")
    with app.app_context(), db.connection_context():
        OutboxEmail.update(next_attempt_at=utcnow()).where(OutboxEmail.id == email_id).execute()
        assert deliver_due() == 0
    assert server.messages == 1
    record_figure(
        "mail (SMTP stalls at QUIT)", f"message taken, marked sent after {result['seconds']:.2f} s, not sent again"
    )


# --- The retry schedule ------------------------------------------------------------------


def test_the_readme_defaults(monkeypatch, tmp_path):
    for name in ("MAIL_TIMEOUT", "OUTBOX_MAX_ATTEMPTS", "OUTBOX_BACKOFF_SECONDS", "OUTBOX_POLL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    config = from_environment(tmp_path)
    assert (
        config["MAIL_TIMEOUT"],
        config["OUTBOX_MAX_ATTEMPTS"],
        config["OUTBOX_BACKOFF_SECONDS"],
        config["OUTBOX_POLL_SECONDS"],
    ) == (10, 8, 30, 2)


def _fail_attempts(app, email_id: int, count: int) -> list[tuple]:
    """Make the email due and attempt it `count` times with nothing listening on MAIL_PORT;
    returns (status, attempts, delay until the next attempt, in whole seconds) after each."""
    seen = []
    with app.app_context(), db.connection_context():
        for _ in range(count):
            OutboxEmail.update(next_attempt_at=utcnow()).where(OutboxEmail.id == email_id).execute()
            before = utcnow()
            assert deliver_due() == 0
            after = utcnow()
            row = OutboxEmail.get_by_id(email_id)
            # The next attempt is `delay` after the failure, which happened between before and after.
            low, high = row.next_attempt_at - after, row.next_attempt_at - before
            delay = round(high.total_seconds())
            assert low <= dt.timedelta(seconds=delay) <= high, (low, high)
            seen.append((row.status, row.attempts, delay))
    return seen


def test_failed_attempts_back_off_doubling_from_the_base_and_fail_after_the_maximum(app, record_figure):
    """Defaults: 30 s, doubling, 8 attempts. Nothing listens on MAIL_PORT: the server is down."""
    app.config.update(OUTBOX_BACKOFF_SECONDS=30.0, OUTBOX_MAX_ATTEMPTS=8)
    email_id = _queue(app)
    seen = _fail_attempts(app, email_id, 8)
    queued = OutboxEmail.QUEUED
    assert seen[:7] == [(queued, n, 30 * 2 ** (n - 1)) for n in range(1, 8)]  # 30, 60, ... 1,920 s
    assert seen[7][:2] == (OutboxEmail.FAILED, 8)
    # Failed is final: due or not, it is never attempted again.
    with app.app_context(), db.connection_context():
        OutboxEmail.update(next_attempt_at=utcnow() - dt.timedelta(days=1)).where(OutboxEmail.id == email_id).execute()
        assert deliver_due() == 0
        assert (OutboxEmail.get_by_id(email_id).status, OutboxEmail.get_by_id(email_id).attempts) == (
            OutboxEmail.FAILED,
            8,
        )
    record_figure(
        "mail (back-off)",
        "retries after "
        + ", ".join(f"{d:,}" for _, _, d in seen[:7])
        + " s; FAILED at the 8th attempt and never tried again",
    )


def test_the_back_off_is_capped_at_an_hour(app):
    app.config.update(OUTBOX_BACKOFF_SECONDS=30.0, OUTBOX_MAX_ATTEMPTS=11)
    email_id = _queue(app)
    delays = [delay for _, _, delay in _fail_attempts(app, email_id, 10)]
    assert delays[6] == 1920
    assert delays[7:] == [3600, 3600, 3600]  # 3,840 s and more would be the doubling uncapped
