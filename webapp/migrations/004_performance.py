"""Peewee migrations -- 004_performance.py.

Customer search on PostgreSQL: a trigram index, so `search_text ILIKE '%word%'` is an index
lookup instead of a scan of every customer (measured by `make bench`, target 2: a word that
matches one customer in 100,000 took over 100 ms without it).

SQLite (development and tests) gets nothing here: LIKE keeps working there, and a trigram
index would mean an FTS5 table kept in step by triggers, which peewee-migrate's SQLite table
rebuilds would silently drop.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def _is_postgresql(database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    if _is_postgresql(database):
        # pg_trgm ships with PostgreSQL and is a trusted extension (13+): the database owner
        # may create it without being a superuser.
        migrator.sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        migrator.sql(
            "CREATE INDEX IF NOT EXISTS customer_search_text_trgm "
            "ON customer USING gin (search_text gin_trgm_ops)"
        )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    if _is_postgresql(database):
        migrator.sql("DROP INDEX IF EXISTS customer_search_text_trgm")
