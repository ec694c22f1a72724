"""Peewee migrations -- 009_outbox_secret_links.py: no working link stored in the outbox.

Emails used to be stored with their activation or invitation link written into the bodies, for
ever. From now on the link waits Fernet-encrypted in `outbox_email.secret_link` and is put into
the message as it is sent (webapp/mail.py). Rows written before this are rewritten here:
- an email already sent or failed loses its link: the bodies keep a note where it was;
- an email still waiting keeps its link encrypted in `secret_link` (the bodies get the
  placeholder the sender fills in), when the app's keys are set up, as under `flask db-upgrade`;
  without them it is failed with a message saying to send a new link (Resend).
"""

import re

import peewee as pw
from peewee_migrate import Migrator

# Kept here as they were when this migration was written (webapp/mail.py has the live ones).
PLACEHOLDER = "[link added when sent]"
REMOVED = "[link removed]"
LINK = re.compile(r"https?://[^\s\"'<>]+?(/(?:activate|invite)/[A-Za-z0-9_-]+)")


def scrub_stored_links(database) -> None:
    """Take every activation and invitation link out of the stored bodies (see the module's note)."""
    from webapp import crypto

    param = database.param
    cursor = database.execute_sql(
        f"SELECT id, status, text_body, html_body FROM outbox_email "
        f"WHERE text_body LIKE {param} OR text_body LIKE {param} OR html_body LIKE {param} OR html_body LIKE {param}",
        ("%/activate/%", "%/invite/%", "%/activate/%", "%/invite/%"),
    )
    for email_id, status, text_body, html_body in cursor.fetchall():
        paths = LINK.findall(text_body or "") + LINK.findall(html_body or "")
        if not paths:
            continue
        waiting = status in ("queued", "sending")
        if waiting and crypto.is_configured() and len(set(paths)) == 1:
            text_body, html_body = LINK.sub(PLACEHOLDER, text_body), LINK.sub(PLACEHOLDER, html_body)
            database.execute_sql(
                f"UPDATE outbox_email SET text_body = {param}, html_body = {param}, secret_link = {param} "
                f"WHERE id = {param}",
                (text_body, html_body, crypto.encrypt(paths[0]), email_id),
            )
            continue
        text_body, html_body = LINK.sub(REMOVED, text_body), LINK.sub(REMOVED, html_body)
        if waiting:
            database.execute_sql(
                f"UPDATE outbox_email SET text_body = {param}, html_body = {param}, status = {param}, "
                f"locked_until = NULL, last_error = {param} WHERE id = {param}",
                (text_body, html_body, "failed",
                 "Not sent: its link could not be kept safely during an upgrade. Send a new link.", email_id),
            )
        else:
            database.execute_sql(
                f"UPDATE outbox_email SET text_body = {param}, html_body = {param} WHERE id = {param}",
                (text_body, html_body, email_id),
            )


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("outbox_email", secret_link=pw.TextField(default=""))
    if not fake:
        migrator.run(scrub_stored_links, getattr(database, "obj", database))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("outbox_email", "secret_link")
