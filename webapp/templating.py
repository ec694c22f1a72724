"""Rendering helpers: page-or-partial responses, money and time filters, asset URLs."""
from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache
from pathlib import Path

from babel.numbers import format_currency
from flask import Flask, current_app, make_response, render_template, url_for
from htmx_flask import request

from .security import current_membership, is_admin


def wants_partial() -> bool:
    """True for an htmx request that will swap a fragment (not a history restore)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render(page_template: str, partial_template: str | None = None, /, *, status: int = 200, **context):
    """Render the full page, or only the partial for an htmx request; always `Vary: HX-Request`."""
    template = partial_template if (partial_template and wants_partial()) else page_template
    response = make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    return response


def format_money(amount_minor: int | None, currency: str) -> str:
    """12345, "NZD" -> "NZ$123.45" (the "en" locale marks every dollar with its country)."""
    if amount_minor is None:
        return ""
    return format_currency(amount_minor / 100, currency, locale="en")


def format_time(value: dt.datetime | None) -> str:
    """A stored UTC time for people: "25 Nov 2026, 14:05 UTC"."""
    if value is None:
        return ""
    return value.strftime("%-d %b %Y, %H:%M UTC")


@lru_cache(maxsize=64)
def _file_digest(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def asset_url(filename: str) -> str:
    """A static URL with a content hash, so files can be cached for a year."""
    path = Path(current_app.static_folder) / filename
    try:
        version = _file_digest(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        version = "missing"
    return url_for("static", filename=filename, v=version)


def init_app(app: Flask) -> None:
    """Register filters and the values every template can use."""
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["when"] = format_time
    app.jinja_env.globals["asset_url"] = asset_url
    # Static URLs carry a content hash (asset_url), so browsers may keep files for a year.
    if app.config.get("SEND_FILE_MAX_AGE_DEFAULT") is None:
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 365 * 24 * 3600

    @app.context_processor
    def _globals():
        membership = current_membership()
        return {
            "membership": membership,
            "white_label": membership.white_label if membership else None,
            "is_admin": is_admin(),
        }
