"""URL converters for every route of the app.

`<int:...>` is replaced app-wide by `DatabaseId`: the same digits-only match as Werkzeug's, but
only values a row id can hold. PostgreSQL's `integer` (every id column here) stops at
2,147,483,647 and SQLite's at 2^63 - 1; a larger id in a URL made the driver fail the query
(a 500) instead of finding nothing. Out of range, the URL matches no route: a 404 before any
view or query runs. New routes get this by writing `<int:name>` as usual.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

# PostgreSQL's integer, the type of every id column (AutoField and the foreign keys to it).
MAX_DATABASE_ID = 2**31 - 1


class DatabaseId(IntegerConverter):
    """`<int:...>` limited to 0..2,147,483,647 (a rule's own smaller `max` still applies)."""

    def __init__(
        self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False
    ) -> None:
        ceiling = MAX_DATABASE_ID if max is None or max > MAX_DATABASE_ID else max
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=ceiling, signed=signed)


def init_app(app: Flask) -> None:
    """Install the converters; call before any route is registered (rules bind them when added)."""
    app.url_map.converters["int"] = DatabaseId
