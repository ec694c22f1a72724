"""Branded error pages; for htmx requests, a message fragment shown in place."""

from __future__ import annotations

import datetime as dt
import logging
import math
import time

from flask import Flask, Response, current_app, g, has_request_context, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import limiter
from .templating import wants_partial

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Something was wrong with that request", "Go back, reload the page and try again."),
    403: ("You do not have permission to do that", "Ask an administrator of your white-label if you need access."),
    404: ("Page not found", "The page may have moved, or the link may be wrong or out of date."),
    405: ("That action is not available here", "Go back and use the buttons on the page."),
    409: ("That cannot be done now", "The page was out of date. Reload it to see where things stand."),
    410: ("This page is no longer available", "The link has expired or has already been used."),
    413: ("That request was too large", "Shorten what you entered and try again."),
    429: ("Too many attempts", "Wait a little and try again."),
    500: ("Sorry, something went wrong on our side", "Nothing you entered was saved half-way. Try again in a moment."),
}


class Refusal(HTTPException):
    """An HTTP error whose page says why, in words for the person (raised by views and the
    permission checks; the handlers below render it like any other error)."""

    def __init__(self, status: int, title: str | None = None, detail: str | None = None):
        super().__init__()
        self.code = status
        self.title, self.detail = title, detail


def render_error(status: int, title: str | None = None, detail: str | None = None, headers=None) -> Response:
    """The error page (or, for htmx, the fragment swapped into the page's error region)."""
    default_title, default_detail = MESSAGES.get(status, MESSAGES[400 if status < 500 else 500])
    if status == 403 and detail is None:
        default_detail = _customer_403_detail() or default_detail
    context = {"status": status, "title": title or default_title, "detail": detail or default_detail}
    partial = wants_partial()
    try:
        body = render_template("errors/_message.html" if partial else "errors/page.html", **context)
    except Exception:
        # The layout asks the database who is signed in; when the database is what failed,
        # fall back to templates drawn from their own context alone (no context processors).
        log.exception("Error page could not be rendered; sending the fallback page")
        fallback = "errors/_message.html" if partial else "errors/fallback.html"
        # A customer's brand, if this request found it before the failure (branding.py).
        brand_name = getattr(g.get("brand"), "display_name", None) if has_request_context() else None
        body = current_app.jinja_env.get_template(fallback).render(brand_name=brand_name, **context)
    return Response(body, status=status, headers=headers, mimetype="text/html")


def _customer_403_detail() -> str | None:
    """For a customer (or a visitor under a white-label's brand): whom to ask, in their words."""
    try:
        from .branding import request_brand
        from .security import current_membership

        brand = request_brand() if current_membership() is None else None
    except Exception:  # the database may be what failed: the generic words will do
        return None
    if brand is None:
        return None
    return (
        f"Ask your account administrator if you need access, or contact {brand.display_name} at {brand.support_email}."
    )


def wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{round(minutes / 60)} hours"


def _too_many(error: HTTPException) -> Response:
    """429: say when the person may try again, in words and in a Retry-After header."""
    # A limit counted inside the view (ratelimits.count_or_refuse) carries its own reset time.
    reset_at = getattr(error, "reset_at", None)
    if reset_at is None:
        limit = limiter.current_limit
        if limit is None:
            return render_error(429)
        reset_at = limit.reset_at
    seconds = max(1, math.ceil(reset_at - time.time()))
    at = dt.datetime.fromtimestamp(reset_at, dt.UTC).strftime("%H:%M UTC")
    detail = f"For your security, wait {wait_words(seconds)} and try again (after {at})."
    return render_error(429, "Too many attempts", detail, headers={"Retry-After": str(seconds)})


def init_app(app: Flask) -> None:
    """Register error handlers that never show a stack trace or SQL outside development."""

    @app.errorhandler(CSRFError)
    def _csrf(error):
        from .security import HTTPS_EXPECTED, https_expected

        if https_expected():  # the Secure session cookie never came back over plain HTTP
            return render_error(400, "This server expects HTTPS", HTTPS_EXPECTED)
        # Signed out (another tab) with a wizard step half done: keep it and sign in again.
        from .onboarding.kept import keep_and_sign_in

        kept = keep_and_sign_in()
        if kept is not None:
            return kept
        return render_error(
            400,
            "Your session expired or the form was out of date",
            "Reload the page and submit the form again.",
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        from .api.auth import is_api_request

        if is_api_request():  # a URL under /api/v1 that matched no route: a problem, not a page
            from .api.problems import from_http_exception

            return from_http_exception(error)
        if error.code == 429:
            return _too_many(error)
        # Keep what the exception says about the response, such as Allow on a 405.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return render_error(
            error.code or 400, getattr(error, "title", None), getattr(error, "detail", None), headers=headers
        )

    @app.errorhandler(Exception)
    def _unhandled(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        log.exception("Unhandled error")
        return render_error(500)
