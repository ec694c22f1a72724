"""A real webhook receiver for the tests: a threaded HTTP server on a loopback port that checks
every signature with the `standardwebhooks` package, as a shop would, and records what came."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from testkit.client import free_port


@dataclass
class Received:
    message_id: str
    event_type: str
    payload: dict
    headers: dict
    body: str
    verified_by: list[int]  # indexes into Receiver.secrets of the secrets whose signature verified
    host: str


@dataclass
class Receiver:
    """Start it, point an endpoint at `url`, then read `received`. `status` is what it answers;
    `delay` holds each request that long (to make two workers overlap)."""

    secrets: list[str] = field(default_factory=list)
    status: int = 204
    delay: float = 0.0
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why unverifiable requests were refused
    connections: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                with receiver._lock:
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                try:
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    verified_by = []
                    for index, secret in enumerate(receiver.secrets):
                        try:
                            Webhook(secret).verify(body, headers)
                            verified_by.append(index)
                        except WebhookVerificationError:
                            pass
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    if not verified_by:
                        with receiver._lock:
                            receiver.rejected.append(headers.get("webhook-id", "?"))
                        self.send_response(400)
                    else:
                        payload = json.loads(body)
                        with receiver._lock:
                            receiver.received.append(
                                Received(
                                    message_id=headers["webhook-id"],
                                    event_type=payload["type"],
                                    payload=payload,
                                    headers=headers,
                                    body=body,
                                    verified_by=verified_by,
                                    host=headers.get("host", ""),
                                )
                            )
                            receiver._lock.notify_all()
                        self.send_response(receiver.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

            def log_message(self, *args):  # quiet
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                with receiver._lock:
                    receiver.connections += 1
                return True

        self._server = Server(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        with self._lock:
            self._lock.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            assert len(self.received) >= count, f"expected {count} webhooks, got {len(self.received)}"
            return list(self.received)

    def by_id(self) -> dict[str, int]:
        """How many times each webhook-id arrived."""
        counts: dict[str, int] = {}
        for item in self.received:
            counts[item.message_id] = counts.get(item.message_id, 0) + 1
        return counts
