"""Peewee migrations -- 023_import_checks_in_the_worker.py: an import's rows are checked by the worker (issue 17).

- `claims` on customer_import_row: the contact email and numbers a checked row holds within its
  file ({"email": ..., "numbers": [...]}). The worker checks a file in turns; a turn that starts
  half-way through (the last one ran out of time, or its worker died) reads what earlier rows
  claimed from here, so an email or number given twice in the file is still caught.

Added with a DEFAULT in its DDL, so SQLite adds it NOT NULL without a rebuild. A row uploaded
before this migration was checked on upload: its empty claims are never read.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "customer_import_row",
        allow_not_null=True,
        claims=pw.TextField(default="{}", constraints=[pw.SQL("DEFAULT '{}'")]),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("customer_import_row", "claims")
