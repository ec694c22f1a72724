"""Small answers every view gives the same way."""

from __future__ import annotations

from flask import make_response, redirect, request
from werkzeug.wrappers import Response


def see_other(url: str, code: int = 303) -> Response:
    """After a change: 303 to `url` (or `code`). An htmx request gets 204 with HX-Redirect
    instead, so the browser loads `url` as a whole page rather than swapping it into this one."""
    if request.headers.get("HX-Request"):
        return make_response("", 204, {"HX-Redirect": url})
    return redirect(url, code=code)


def page_number(name: str = "page", last: int = 100_000) -> int:
    """The page number a list was asked for (1 for anything that is not one)."""
    try:
        return max(1, min(int(request.args.get(name, "1")), last))
    except ValueError:
        return 1
