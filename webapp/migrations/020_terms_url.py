"""Peewee migrations -- 020_terms_url.py: each white-label's terms of service (issue 15).

- `terms_url` on white_label: the page with the white-label's terms of service, set by its
  administrator in Settings; the activation page's "I accept the terms of service" links to it.
  Empty until set (the checkbox then has no link).

Added with a DEFAULT in its DDL, so SQLite adds it NOT NULL without a rebuild.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "white_label",
        allow_not_null=True,
        terms_url=pw.CharField(max_length=500, default="", constraints=[pw.SQL("DEFAULT ''")]),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("white_label", "terms_url")
