"""Rendering helpers: page-or-partial responses, money and time filters, asset URLs."""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, has_request_context, make_response, render_template, url_for
from htmx_flask import request
from jinja2 import pass_context

from .money import format_money
from .phones import display_phone, phone_filter
from .security import current_membership, home_url, is_admin


def wants_partial() -> bool:
    """True for an htmx request that will swap a fragment (not a history restore)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render(page_template: str, partial_template: str | None = None, /, *, status: int = 200, **context):
    """Render the full page, or only the partial for an htmx request; always `Vary: HX-Request`."""
    template = partial_template if (partial_template and wants_partial()) else page_template
    response = make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    return response


def format_time(value: dt.datetime | None, time_zone: str | None = None) -> str:
    """A stored (naive UTC) time for people, in `time_zone` when known: "25 Nov 2026, 14:05 NZDT"."""
    if value is None:
        return ""
    moment = value.replace(tzinfo=dt.UTC)
    if time_zone:
        try:
            moment = moment.astimezone(ZoneInfo(time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return moment.strftime("%-d %b %Y, %H:%M ") + (moment.tzname() or "UTC")


@pass_context
def _when(context, value: dt.datetime | None) -> str:
    """Jinja filter: times in the white-label's time zone (the page's brand, or the signed-in
    user's white-label), UTC otherwise."""
    label = context.get("brand") or context.get("white_label")
    if label is None:
        customer = context.get("customer")
        label = getattr(customer, "white_label", None) if customer is not None else None
    return format_time(value, getattr(label, "time_zone", None))


@lru_cache(maxsize=64)
def _file_digest(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


_asset_urls: dict[tuple[str, str], str] = {}


def asset_url(filename: str) -> str:
    """A static URL with a content hash, so files can be cached for a year. Outside debug
    mode the files cannot change under a running server, so each URL is worked out once."""
    key = (current_app.static_folder, filename)
    if not current_app.debug and key in _asset_urls:
        return _asset_urls[key]
    path = Path(current_app.static_folder) / filename
    try:
        version = _file_digest(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        version = "missing"
    url = url_for("static", filename=filename, v=version)
    if version != "missing":
        _asset_urls[key] = url
    return url


def init_app(app: Flask) -> None:
    """Register filters and the values every template can use."""
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["when"] = _when
    app.jinja_env.filters["phone"] = phone_filter
    app.jinja_env.globals["asset_url"] = asset_url
    app.jinja_env.globals["display_phone"] = display_phone
    from .branding import brand_css_url, request_brand, sign_in_path

    app.jinja_env.globals["brand_css_url"] = brand_css_url
    app.jinja_env.globals["sign_in_path"] = sign_in_path
    # Static URLs carry a content hash (asset_url), so browsers may keep files for a year.
    if app.config.get("SEND_FILE_MAX_AGE_DEFAULT") is None:
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 365 * 24 * 3600

    @app.context_processor
    def _globals():
        membership = current_membership()
        extra = {}
        if membership is None and has_request_context():
            # Customers, their users and visitors see a white-label's brand (branding.py).
            extra["brand"] = request_brand()
        return {
            **extra,
            "membership": membership,
            "white_label": membership.white_label if membership else None,
            "is_admin": is_admin(),
            "home_url": home_url,
        }
