"""Peewee migrations -- 016_unique_contact_email.py: one live customer per contact email in a
white-label, held by the database (issue 16).

The contact step refuses an email that is already the contact of another customer of the
white-label, unless that customer is cancelled (onboarding/forms.py, EMAIL_TAKEN). Two creates
at once (two API requests with different Idempotency-Keys, or the API and the console) could
both pass that check and both insert. This partial unique index is the same rule: the form's
query (`contact_email = ? AND status <> 'cancelled'`) is its predicate, so a cancelled
customer's email is free again, and every other status (pending, active, suspended, expired)
holds it. The wizard's create turns the index's refusal into the contact step's error; its
name contains "contact_email", which is how that code knows the refusal is this one.

Both SQLite (3.8+) and PostgreSQL have partial indexes. A database that already holds two live
customers with one email cannot take the index: the migration stops and names them.
"""

import peewee as pw
from peewee_migrate import Migrator

INDEX = "customer_white_label_contact_email_live"
LIVE = "status <> 'cancelled'"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    if not fake:
        duplicates = database.execute_sql(
            "SELECT white_label_id, contact_email, COUNT(*) FROM customer "
            f"WHERE {LIVE} GROUP BY white_label_id, contact_email HAVING COUNT(*) > 1"
        ).fetchall()
        if duplicates:
            listed = "; ".join(f"white-label {row[0]}: {row[1]} ({row[2]} customers)" for row in duplicates[:20])
            raise RuntimeError(
                "Two or more customers that are not cancelled share a contact email in one white-label, "
                f"so the unique index cannot be made. Cancel or change all but one of each: {listed}"
            )
    migrator.sql(f'CREATE UNIQUE INDEX "{INDEX}" ON "customer" ("white_label_id", "contact_email") WHERE {LIVE}')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql(f'DROP INDEX "{INDEX}"')
