"""Peewee migrations -- 015_operations.py: what the operators see of the outbox (issue 18).

- `lease_resends` on outbox_email and webhook_delivery: how many times a worker took the row
  over after the worker sending it stopped renewing its lease (killed, or cut off from the
  database). The worker before may already have handed the message over, so each is a
  possible second copy (same Message-ID or webhook-id): the README's "at least once" window.
- `request_id` on both: the id of the request that queued the row (X-Request-ID, or made by
  the app), so the worker's log lines about it can be found with the request's.

Columns are added with a DEFAULT in their DDL, so SQLite adds them NOT NULL without a rebuild.
"""

import peewee as pw
from peewee_migrate import Migrator

TABLES = ("outbox_email", "webhook_delivery")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for table in TABLES:
        migrator.add_fields(
            table,
            allow_not_null=True,
            lease_resends=pw.IntegerField(default=0, constraints=[pw.SQL("DEFAULT 0")]),
            request_id=pw.CharField(max_length=64, default="", constraints=[pw.SQL("DEFAULT ''")]),
        )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table in TABLES:
        migrator.remove_fields(table, "lease_resends", "request_id")
