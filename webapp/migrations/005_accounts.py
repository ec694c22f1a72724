"""Peewee migrations -- 005_accounts.py: invitations name the invited user."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "activation_token",
        user=pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"], null=True, on_delete="CASCADE"),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("activation_token", "user")
