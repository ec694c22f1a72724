"""Getting an emailed link the way its recipient does: from the delivered email.

The outbox stores no working link (the token waits encrypted and is put into the message as it
is sent), so a test that needs a link has the outbox deliver to the test SMTP server (the `smtp`
fixture) and reads the link out of what arrived.
"""

from __future__ import annotations

import re
import time

LINK = re.compile(r"https?://[^\s\"'<>]+?/(?:activate|invite|password/reset)/[A-Za-z0-9_-]+")


def emailed_link(app, smtp, recipient: str, route: str = "/activate/", timeout: float = 10.0) -> str:
    """Deliver what the outbox has due, then return the `route` link (a full URL) of the newest
    email `recipient` received. An outbox worker running meanwhile (e2e) may be the one that sends."""
    from webapp.extensions import db
    from webapp.mail import deliver_due
    from webapp.models import OutboxEmail

    deadline = time.monotonic() + timeout
    with app.app_context(), db.connection_context():
        while True:
            deliver_due()
            waiting = OutboxEmail.select().where(
                (OutboxEmail.recipient == recipient) & OutboxEmail.status.in_([OutboxEmail.QUEUED, OutboxEmail.SENDING])
            )
            if not waiting.exists():
                break
            if time.monotonic() > deadline:
                problems = [row.last_error for row in waiting]
                raise AssertionError(f"the email to {recipient} was not delivered: {problems}")
            time.sleep(0.05)
    for message in reversed(list(smtp.messages)):
        if message["To"] != recipient:
            continue
        for link in LINK.findall(smtp.text(message)):
            if route in link:
                return link
    raise AssertionError(f"no email with a {route} link reached {recipient}")


def token_of(link: str) -> str:
    """The token at the end of an emailed link."""
    return link.rstrip("/").rsplit("/", 1)[1]


def path_of(link: str) -> str:
    """The link's path, for a test client: /activate/<token> or /invite/<token>."""
    return "/" + link.split("://", 1)[1].split("/", 1)[1]
