"""Peewee migrations -- 018_finding_customers.py: archived customers, and the list sorted by name (issue 15).

- `archived_at` on customer: when an administrator archived a cancelled or expired customer.
  Archived customers leave the list unless it is asked for them; nothing is deleted.
- An index on (white_label_id, contact_phone): a search for a phone number is a lookup.
- An index on (white_label_id, business_name, id): the list sorted by name walks it the way
  the newest-first list walks (white_label_id, created_at, id), so a deep page by name costs
  what the first does.

The column is added with a DEFAULT NULL in its DDL, so SQLite adds it without a rebuild.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("customer", archived_at=pw.DateTimeField(null=True))
    migrator.sql(
        "CREATE INDEX IF NOT EXISTS customer_white_label_id_business_name_id ON customer (white_label_id, business_name, id)"
    )
    migrator.sql(
        "CREATE INDEX IF NOT EXISTS customer_white_label_id_contact_phone ON customer (white_label_id, contact_phone)"
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql("DROP INDEX IF EXISTS customer_white_label_id_contact_phone")
    migrator.sql("DROP INDEX IF EXISTS customer_white_label_id_business_name_id")
    migrator.remove_fields("customer", "archived_at")
