"""A local SMTP server for development that keeps every message it receives as a file.

`make run` starts it; `/dev/mail` (development only) reads the files back.
"""

from __future__ import annotations

import email
import email.policy
import html
import logging
import re
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from markupsafe import Markup


class _KeepMessages:
    def __init__(self, directory: Path):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.directory / (name + ".tmp")
        tmp.write_bytes(envelope.content)
        tmp.rename(self.directory / name)  # readers never see half a message
        return "250 OK"


class _TrackedSMTP(SMTP):
    """An SMTP session that remembers its transport until the connection is lost."""

    open_transport = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self.open_transport = transport

    def connection_lost(self, error):
        self.open_transport = None
        super().connection_lost(error)


class ClosingController(Controller):
    """aiosmtpd's threaded Controller that lets sessions in progress finish (up to `grace`
    seconds) when it stops, then closes any still open. A sender caught mid-message when the
    server stopped left a connection behind for the garbage collector, whose ResourceWarning
    then surfaced at some unrelated later moment (in the tests: an error in whichever test was
    running)."""

    grace = 2.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sessions: weakref.WeakSet = weakref.WeakSet()

    def factory(self):
        session = _TrackedSMTP(self.handler, **self.SMTP_kwargs)
        self._sessions.add(session)
        return session

    def _open_transports(self) -> list:
        return [s.open_transport for s in list(self._sessions) if s.open_transport is not None]

    def stop(self, no_assert: bool = False):
        deadline = time.monotonic() + self.grace
        while self._thread is not None and self._open_transports() and time.monotonic() < deadline:
            time.sleep(0.02)

        def close_the_rest():
            for transport in self._open_transports():
                transport.close()

        if self._thread is not None:  # on the server's loop, before its tasks are cancelled
            self.loop.call_soon_threadsafe(close_the_rest)
        super().stop(no_assert)


def start_mail_catcher(host: str, port: int, directory: str | Path) -> Controller:
    """Start the catcher on host:port in a background thread; call .stop() to end it."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
    controller = ClosingController(_KeepMessages(Path(directory)), hostname=host, port=port)
    controller.start()
    return controller


@dataclass
class CaughtMessage:
    name: str
    subject: str
    sender: str
    recipients: str
    date: str
    text: str

    @property
    def text_with_links(self) -> Markup:
        """The plain-text body, escaped, with its web addresses made clickable."""
        escaped = html.escape(self.text)
        return Markup(re.sub(r"(https?://[^\s<>&\"']+)", r'<a href="\1">\1</a>', escaped))


def read_messages(directory: str | Path, limit: int = 50) -> list[CaughtMessage]:
    """The newest `limit` caught messages, newest first."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    messages = []
    for path in files:
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain", "html"))
        messages.append(
            CaughtMessage(
                name=path.stem,
                subject=str(parsed.get("Subject", "")),
                sender=str(parsed.get("From", "")),
                recipients=str(parsed.get("To", "")),
                date=str(parsed.get("Date", "")),
                text=body.get_content() if body is not None else "",
            )
        )
    return messages
