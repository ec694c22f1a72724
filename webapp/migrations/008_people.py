"""Peewee migrations -- 008_people.py: memberships with a real status, and session versions.

customer_membership gains `status` (invited / active / deactivated), the name the adder typed
(shown until the person accepts), `temporary_password` and `accepted_at`. Existing rows keep
the status the users list showed before: a deactivated row is Deactivated; an active row whose
person has no password yet is an unaccepted invitation (Invited, and its link still works);
every other row stays Active and counts as accepted.

user gains `session_version`: every session carries it and changing it ends them all. Existing
rows start with '' and sessions made before this migration (which carry no version) end, so
everyone signs in once more after the upgrade.

The columns are added with plain ALTER TABLE ... ADD COLUMN ... NOT NULL DEFAULT, which SQLite
and PostgreSQL both do in place. (peewee's migrator adds a NOT NULL column on SQLite by rebuilding
the table, and dropping the old `user` table with foreign keys on deletes every row that
cascades from it: memberships, tokens, drafts.)
"""

import peewee as pw
from peewee_migrate import Migrator


def _is_postgresql(database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def _columns(postgresql: bool):
    false = "BOOLEAN NOT NULL DEFAULT false" if postgresql else "INTEGER NOT NULL DEFAULT 0"
    timestamp = "TIMESTAMP" if postgresql else "DATETIME"
    return [
        ("customer_membership", "status", "VARCHAR(12) NOT NULL DEFAULT 'active'", pw.CharField(max_length=12, default="active")),
        ("customer_membership", "invited_first_name", "VARCHAR(100) NOT NULL DEFAULT ''", pw.CharField(max_length=100, default="")),
        ("customer_membership", "invited_last_name", "VARCHAR(100) NOT NULL DEFAULT ''", pw.CharField(max_length=100, default="")),
        ("customer_membership", "temporary_password", false, pw.BooleanField(default=False)),
        ("customer_membership", "accepted_at", f"{timestamp} NULL", pw.DateTimeField(null=True)),
        ("user", "session_version", "VARCHAR(32) NOT NULL DEFAULT ''", pw.CharField(max_length=32, default="")),
    ]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, column, definition, field in _columns(_is_postgresql(database)):
        migrator.sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {definition}')
        migrator.orm[table]._meta.add_field(column, field)  # what later migrations see
    # NOT active / active work on SQLite (0/1) and PostgreSQL (boolean) alike.
    migrator.sql("UPDATE customer_membership SET status = 'deactivated' WHERE NOT active")
    migrator.sql(
        "UPDATE customer_membership SET status = 'invited', active = (1 = 0),"
        " invited_first_name = (SELECT first_name FROM \"user\" WHERE \"user\".id = customer_membership.user_id),"
        " invited_last_name = (SELECT last_name FROM \"user\" WHERE \"user\".id = customer_membership.user_id)"
        " WHERE active AND user_id IN (SELECT id FROM \"user\" WHERE password_hash = '')"
    )
    migrator.sql("UPDATE customer_membership SET accepted_at = created_at WHERE status <> 'invited'")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql("UPDATE customer_membership SET active = (status = 'active')")
    for table, column, _definition, _field in reversed(_columns(_is_postgresql(database))):
        migrator.sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        migrator.orm[table]._meta.remove_field(column)
