"""A small webhook receiver for your shop: checks each webhook's signature, then acts on it.

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... python docs/webhook_receiver.py --port 8080

Point an endpoint in Settings > Webhooks at it (put it behind your HTTPS server in production).
Every webhook is a POST of JSON signed per the Standard Webhooks specification: the
`webhook-id`, `webhook-timestamp` and `webhook-signature` headers. `Webhook(secret).verify()`
checks the signature over the exact body and refuses a timestamp more than 5 minutes away
(a replayed old message). The same webhook can arrive more than once (a retry after a lost
answer, or "Send again"), always with the same `webhook-id`: remember the ids you have handled.
Answer quickly with any 2xx; anything else, or no answer within 10 seconds, is retried later.

Only the Python standard library and the `standardwebhooks` package.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

MAX_BODY = 256 * 1024


def handle_event(event: dict) -> None:
    """Your shop's part. `event` is {"type": ..., "timestamp": ..., "data": {...}}."""
    customer = event["data"].get("customer", {})
    if event["type"] == "customer.activated":
        print(f"{customer['business_name']} (customer {customer['id']}) activated their account")
    elif event["type"] == "payment.succeeded":
        payment = event["data"]["payment"]
        print(f"Payment of {payment['amount'] / 100:.2f} {payment['currency']} for customer {customer['id']}")
    else:
        print(f"{event['type']}: customer {customer.get('id')} is now {customer.get('status')}")


def make_server(
    secret: str, port: int, on_event: Callable[[dict], None] = handle_event, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    """An HTTP server that verifies every webhook with `secret` and hands each new one to `on_event`."""
    webhook = Webhook(secret)
    seen: set[str] = set()  # use your database in a real shop, so a restart remembers
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413)
            body = self.rfile.read(length)
            try:
                event = webhook.verify(body, dict(self.headers.items()))
            except WebhookVerificationError:
                return self._answer(400)  # not from us, altered, or too old: ignore it
            message_id = self.headers["webhook-id"]
            with lock:
                if message_id in seen:
                    return self._answer(204)  # handled before: say so, do nothing
                seen.add(message_id)
            try:
                on_event(event)
            except Exception:
                with lock:
                    seen.discard(message_id)  # let the retry try again
                raise
            self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    secret = os.environ.get("WEBHOOK_SECRET")
    if not secret:
        raise SystemExit("Set WEBHOOK_SECRET to the endpoint's signing secret (whsec_...).")
    server = make_server(secret, args.port, host=args.host)
    print(f"Listening for webhooks on http://{args.host}:{args.port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
