"""Branded error pages; for htmx requests, a message fragment shown in place."""
from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .templating import wants_partial

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Something was wrong with that request", "Go back, reload the page and try again."),
    403: ("You do not have permission to do that", "Ask an administrator of your white-label if you need access."),
    404: ("Page not found", "The page may have moved, or the link may be wrong or out of date."),
    405: ("That action is not available here", "Go back and use the buttons on the page."),
    410: ("This page is no longer available", "The link has expired or has already been used."),
    413: ("That request was too large", "Shorten what you entered and try again."),
    429: ("Too many attempts", "Wait a little and try again."),
    500: ("Sorry, something went wrong on our side", "Nothing you entered was saved half-way. Try again in a moment."),
}


def render_error(status: int, title: str | None = None, detail: str | None = None):
    """The error page (or, for htmx, the fragment swapped into the page's error region)."""
    default_title, default_detail = MESSAGES.get(status, MESSAGES[400 if status < 500 else 500])
    context = {"status": status, "title": title or default_title, "detail": detail or default_detail}
    template = "errors/_message.html" if wants_partial() else "errors/page.html"
    response = render_template(template, **context), status
    return response


def init_app(app: Flask) -> None:
    """Register error handlers that never show a stack trace or SQL outside development."""

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(
            400,
            "Your session expired or the form was out of date",
            "Reload the page and submit the form again.",
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code and error.code >= 500:
            return render_error(error.code)
        if error.code == 429:
            return render_error(429, detail=f"Too many attempts ({error.description}). Wait a little and try again.")
        return render_error(error.code or 400)

    @app.errorhandler(Exception)
    def _unhandled(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        log.exception("Unhandled error")
        return render_error(500)

