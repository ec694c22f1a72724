"""Upgrading a database that holds data keeps every row and every link between rows.

SQLite cannot alter most of a column in place: peewee's migrator copies the table, drops the old
one and renames the copy. With foreign keys enforced, dropping the old table runs its ON DELETE
actions: a rebuilt `white_label` took every customer, plan and user role with it, and a rebuilt
`outbox_email` cut every activation link from its email. This test fills a database at the last
release's schema (migration 007) with one row in every table, upgrades it, and checks that
nothing went.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from webapp.database import open_database, upgrade
from webapp.extensions import db
from webapp.models import ALL_MODELS

RELEASED = "007_encrypted_secrets"  # the schema of the version before this round of changes


def _value(column, table: str):
    kind = column.data_type.lower()
    if column.name.endswith("_id") or column.name in ("user", "customer"):
        return 1
    if "int" in kind or "real" in kind or "double" in kind or "numeric" in kind:
        return 1
    if "bool" in kind:
        return True
    if "date" in kind or "time" in kind:
        return dt.datetime(2026, 11, 1, 12, 0)
    return uuid.uuid4().hex[:2]  # short enough for any varchar (the shortest, a currency, is 3)


def _fill_every_table(database) -> dict[str, int]:
    """One row in every table the released schema has, each foreign key pointing at row 1."""
    counts = {}
    for model in ALL_MODELS:
        table = model._meta.table_name
        if not database.table_exists(table):
            continue
        columns = [c for c in database.get_columns(table) if c.name != "id"]
        names = ", ".join(f'"{c.name}"' for c in columns)
        marks = ", ".join(database.param for _ in columns)
        database.execute_sql(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', [_value(c, table) for c in columns])
        counts[table] = 1
    return counts


def _upgrade_keeps_every_row(url: str) -> None:
    database = open_database(url)
    db.initialize(database)
    try:
        with db.connection_context():
            upgrade(RELEASED)
            with db.atomic():
                before = _fill_every_table(database)
            assert database.execute_sql("SELECT email_id FROM activation_token").fetchone()[0] == 1
            applied = upgrade()
            assert applied, "there are migrations after the released schema"
            after = {table: database.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in before}
            assert after == before, f"rows lost by {applied}: {after}"
            # The links between rows survive too: an activation link still knows its email.
            assert database.execute_sql("SELECT email_id FROM activation_token").fetchone()[0] == 1
            assert database.execute_sql("SELECT white_label_id FROM customer").fetchone()[0] == 1
    finally:
        database.close()


def test_upgrading_a_sqlite_database_with_data_keeps_every_row(tmp_path, database_url):
    _upgrade_keeps_every_row(f"sqlite:///{tmp_path / 'released.sqlite3'}")
    db.initialize(open_database(database_url))  # back to the suite's database


def test_upgrading_a_postgresql_database_with_data_keeps_every_row(database_url):
    if not database_url.startswith("postgres"):
        pytest.skip("the PostgreSQL pass of the suite runs this (and SQLite's rebuilds are the risk)")
    import psycopg2

    name = f"onboarding_upgrade_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(dbname="postgres", host="127.0.0.1", user="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        _upgrade_keeps_every_row(f"postgresql://postgres@127.0.0.1:5432/{name}")
    finally:
        db.initialize(open_database(database_url))
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
