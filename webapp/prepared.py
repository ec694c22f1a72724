"""Queries compiled to SQL once per database and run many times with new values.

Peewee builds a query's SQL anew every time it runs. For most pages that is noise; on the
integration API's create it was the largest single cost in Python: compiling the key look-up
alone (four tables, about fifty columns) took 0.66 ms on every request (docs/performance.md,
target 8). A prepared query is built once per database, with a `Param` where each value goes;
each run only fills the parameters in and hands the cursor to peewee to turn into rows, as the
query itself would have.

    @prepared
    def key_by_hash(secret_hash):
        return ApiKey.select().where(ApiKey.secret_hash == secret_hash).limit(1)

    key = key_by_hash.first(secret_hash="…")

The function is called once per database with a `Param` for each of its arguments, so it must
build the query from its arguments and constants only: anything else it computes (the time, a
setting) would be frozen into the SQL. A parameter may appear only where peewee would bind a
value (`field == param`, `field != param`...): not in `in_()`, `LIMIT` or a column list. The
value given for it is converted by the field it is compared with, as peewee converts a value.
A value may not be None: peewee turns `field == None` into `IS NULL` when it builds a query,
but a compiled `= ?` given NULL matches nothing, so write that condition without a parameter.

On PostgreSQL through peewee's pool (production's `postgresql+pool://`) each compiled statement
is also prepared on the server (`PREPARE`), once per connection, and run with `EXECUTE`: the
server then parses and plans it once instead of on every run. Planning was most of what the key
look-up cost PostgreSQL (0.7 of its 0.9 ms: four tables, fifty columns). A prepared statement
outlives a rolled-back transaction (PostgreSQL's PREPARE is not transactional), so a connection
prepares each statement once in its life. A pooler that hands one server connection to many
clients between transactions (PgBouncer in transaction mode) breaks this: set
DATABASE_SERVER_PREPARE=0 there and every statement is sent whole.

This leans on a few of peewee's internals: a Context's `_values`, a query's
`_get_cursor_wrapper` and its wrapper's `initialize`, and a model's `_pk`, `_dirty` and
`_populate_unsaved_relations`. tests/test_prepared.py compares each path with peewee's own (the
SQL sent, the rows read, the row stored), so a peewee upgrade that changes them fails there
first.
"""

from __future__ import annotations

import inspect
import itertools
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from peewee import Node, PostgresqlDatabase
from playhouse.pool import PooledDatabase

from .extensions import db


class Param(Node):
    """Where a value goes in a prepared query (see `prepared`)."""

    def __init__(self, name: str, converter: Callable[[Any], Any] | None = None):
        super().__init__()
        self.name = name
        self.converter = converter

    def __sql__(self, ctx):
        # What peewee's Context.value does for a bound value, with a slot for the value instead:
        # the converter is the field this parameter is compared with (Expression sets it) or,
        # in an INSERT's VALUES, the column's own.
        ctx._values.append(_Slot(self.name, self.converter or ctx.state.converter))
        return ctx.literal(ctx.state.param or "?")


class _Slot(NamedTuple):
    name: str
    converter: Callable[[Any], Any] | None


# --- Sending: as prepared statements on PostgreSQL -------------------------------------------

_names = itertools.count(1)
_by_name: dict[str, _Statement] = {}
_PLACEHOLDER = re.compile(r"%[s%]")


class _Statement(NamedTuple):
    """One compiled statement, under the name PostgreSQL knows it by once prepared."""

    name: str
    sql: str  # as peewee sends it, a %s for each value
    prepare: str  # PREPARE name AS ..., with $1, $2... for the values
    execute: str  # EXECUTE name(%s, ...)


def _statement(label: str, sql: str) -> _Statement:
    name = f"{re.sub(r'[^a-z0-9_]', '_', label.lower())[:40]}_{next(_names)}"
    count = itertools.count(1)
    # psycopg2 turns %% into % when it fills the values in, so a literal % stays %% here.
    numbered = _PLACEHOLDER.sub(lambda m: f"${next(count)}" if m.group() == "%s" else m.group(), sql)
    values = next(count) - 1
    execute = f"EXECUTE {name}({', '.join(['%s'] * values)})" if values else f"EXECUTE {name}"
    statement = _by_name[name] = _Statement(name, sql, f"PREPARE {name} AS {numbered}", execute)
    return statement


# Per connection (weakly, so a closed connection's entry goes with it): the names prepared on it.
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def server_prepares(database) -> bool:
    """Whether statements are prepared on the server for this database: PostgreSQL through
    peewee's pool (postgresql+pool://, as production runs), unless DATABASE_SERVER_PREPARE=0
    turned it off (database.init_app). Without a pool a connection lives one request, and
    preparing would only add a round trip."""
    return (
        isinstance(database, PostgresqlDatabase)
        and isinstance(database, PooledDatabase)
        and getattr(database, "server_prepare", True)
    )


def _send(statement: _Statement, params: list):
    """Run the statement with these values; returns the cursor."""
    if not server_prepares(db.obj):
        return db.execute_sql(statement.sql, params)
    connection = db.connection()
    ready = _prepared_on.get(connection)
    if ready is None:
        ready = _prepared_on.setdefault(connection, set())
    if statement.name not in ready:
        # Marked only once the server has it: a PREPARE that fails (in a transaction that
        # already failed, say) is tried again next time. The () makes psycopg2 turn %% into %.
        db.execute_sql(statement.prepare, ())
        ready.add(statement.name)
    return db.execute_sql(statement.execute, params)


def statement_sql(sent: str) -> str:
    """The SQL behind an `EXECUTE name(...)` this module sent (anything else as it is): for tests
    and logs that read the statements a request ran."""
    match = re.match(r"EXECUTE (\w+)", sent)
    statement = _by_name.get(match.group(1)) if match else None
    return statement.sql if statement else sent


class _Compiled(NamedTuple):
    query: Any  # the peewee query: it turns a cursor into rows
    sql: str
    params: tuple  # constants, and a _Slot where each run's value goes
    statement: _Statement
    resolved: dict  # the cursor wrapper's column mapping, once worked out (Prepared.rows)


class Prepared:
    """A query-building function, compiled once per database (see the module's docstring)."""

    def __init__(self, build: Callable[..., Any]):
        self._build = build
        self._names = tuple(inspect.signature(build).parameters)
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.__doc__, self.__name__ = build.__doc__, build.__name__

    def _for(self, database) -> _Compiled:
        compiled = self._compiled.get(database)
        if compiled is None:
            with self._lock:
                query = self._build(**{name: Param(name) for name in self._names})
                sql, params = query.sql()
                compiled = self._compiled[database] = _Compiled(
                    query, sql, tuple(params), _statement(self.__name__, sql), {}
                )
        return compiled

    def sql(self, **values) -> tuple[str, list]:
        """The SQL and the parameters a run with `values` sends (for tests and logs)."""
        compiled = self._for(db.obj)
        return compiled.sql, self._params(compiled, values)

    def _params(self, compiled: _Compiled, values: dict) -> list:
        if values.keys() != set(self._names):
            raise TypeError(f"{self.__name__} takes {', '.join(self._names)}; given {', '.join(values) or 'nothing'}")
        missing = [name for name, value in values.items() if value is None]
        if missing:
            raise ValueError(
                f"{self.__name__}: {', '.join(missing)} is None, which `= ?` never matches (see prepared.py)"
            )
        return _fill(compiled.params, values)

    def rows(self, **values) -> Iterator:
        """The rows (model instances, or what the query's row type says) for these values."""
        compiled = self._for(db.obj)
        cursor = _send(compiled.statement, self._params(compiled, values))
        # The cursor wrapper the query would have made for itself: joined models come back
        # attached, as from the query. (Peewee's own method, used as its execute() uses it.)
        wrapper = compiled.query._get_cursor_wrapper(cursor)
        # How the columns map onto models and converters depends only on the SQL, so it is
        # worked out once (peewee's `initialize`, a quarter of the key look-up's Python) and
        # handed to every later wrapper of this statement, which only reads it.
        resolved = compiled.resolved
        if not resolved:
            before = set(vars(wrapper))
            wrapper.initialize()
            resolved.update((name, value) for name, value in vars(wrapper).items() if name not in before)
        else:
            vars(wrapper).update(resolved)
        wrapper.initialized = True
        return iter(wrapper)

    def first(self, **values):
        """The first row for these values, or None (build the query with `.limit(1)`)."""
        return next(self.rows(**values), None)

    def exists(self, **values) -> bool:
        """Whether the query has a row for these values (build it with `.limit(1)`)."""
        return self.first(**values) is not None

    def execute(self, **values) -> int:
        """Run an UPDATE or DELETE with these values; returns how many rows it changed."""
        compiled = self._for(db.obj)
        return _send(compiled.statement, self._params(compiled, values)).rowcount


def prepared(build: Callable[..., Any]) -> Prepared:
    """Decorator: the query `build` makes, compiled once per database (see the module's docstring)."""
    return Prepared(build)


# --- Inserts -----------------------------------------------------------------------------------

# Per database: {(model, column names): (sql, params, returning)}.
_inserts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fill(params: tuple, values: dict) -> list:
    return [
        (p.converter(values[p.name]) if p.converter else values[p.name]) if isinstance(p, _Slot) else p for p in params
    ]


def insert_row(instance) -> bool:
    """Insert a new row for `instance` (what `Model.save()` does for one with no id yet), with
    the INSERT compiled once per database, model and set of columns; sets its id. Returns False,
    inserting nothing, for a model this does not cover (no auto-incrementing id), so the caller
    saves it peewee's own way."""
    model = type(instance)
    meta = model._meta
    if not meta.auto_increment or meta.composite_key or instance._pk is not None:
        return False
    data = dict(instance.__data__)
    instance._populate_unsaved_relations(data)  # a related row saved since it was set: its id
    data.pop(meta.primary_key.name, None)
    if not data:  # nothing but defaults the database fills in: peewee's INSERT ... DEFAULT VALUES
        return False
    database = db.obj
    per_database = _inserts.get(database)
    if per_database is None:
        per_database = _inserts.setdefault(database, {})
    key = (model, tuple(sorted(data)))
    compiled = per_database.get(key)
    if compiled is None:
        fields = [meta.fields[name] for name in key[1]]
        query = model.insert({field: Param(field.name, field.db_value) for field in fields})
        returning = bool(database.returning_clause)
        if returning:
            query = query.returning(meta.primary_key)
        sql, params = query.sql()
        compiled = per_database[key] = (_statement(f"insert_{meta.table_name}", sql), tuple(params), returning)
    statement, params, returning = compiled
    cursor = _send(statement, _fill(params, data))
    instance._pk = cursor.fetchone()[0] if returning else database.last_insert_id(cursor)
    instance._dirty.clear()
    return True
