"""Absolute links for what is sent outside a request's reply (emails, webhooks, the worker):
built with the app's URL rules against APP_BASE_URL, never from the request's Host header."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import MapAdapter


def _adapter(*, under_base_path: bool = True) -> MapAdapter:
    base = urlsplit(current_app.config["APP_BASE_URL"])
    script_name = (base.path or "/") if under_base_path else "/"
    return current_app.url_map.bind(base.netloc, script_name=script_name, url_scheme=base.scheme or "https")


def external_url(endpoint: str, **values: object) -> str:
    """`url_for(endpoint, _external=True)` against APP_BASE_URL, in a request or out of one
    (the worker sends reminders with no request at all)."""
    return _adapter().build(endpoint, values, force_external=True)


def secret_path(endpoint: str, **values: object) -> str:
    """The path of a link that carries a token, below APP_BASE_URL, for queue_email's
    `secret_link` (the outbox puts APP_BASE_URL in front of it as it sends the email)."""
    return _adapter(under_base_path=False).build(endpoint, values)
