"""Peewee migrations -- 007_encrypted_secrets.py: the Stripe secret key is stored encrypted.

A Fernet token of a Stripe key is about 250 characters and grows with the key, so the column
becomes TEXT on PostgreSQL (SQLite does not enforce VARCHAR lengths, and rebuilding the
white_label table there is not worth the risk to the rows that reference it). Keys stored in
plaintext before this still read correctly; `flask reencrypt-secrets` encrypts them (README,
Production), and so does the next save in Settings > Payment gateway.
"""

import peewee as pw
from peewee_migrate import Migrator


def _is_postgresql(database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    if _is_postgresql(database):
        migrator.sql("ALTER TABLE white_label ALTER COLUMN stripe_secret_key TYPE text")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if _is_postgresql(database):
        migrator.sql("ALTER TABLE white_label ALTER COLUMN stripe_secret_key TYPE varchar(255)")
