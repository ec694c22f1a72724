"""Log lines: who and which request on every line, JSON lines when asked, no secrets.

- Every request has an id: the `X-Request-ID` header it came with (when it is a plain id of at
  most 64 characters), or a new one. It is sent back as `X-Request-ID`, written on every outbox
  email and webhook delivery the request queues (`current_request_id()`), and the outbox worker
  binds it again while it sends them, so one id finds the request and everything it caused.
- Every log record carries `request_id`, `user_id` and `white_label_id` (empty when unknown;
  the ids are read only when the request already loaded them, never with a query of their own).
- `LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message, the ids, any
  bound fields such as `email_id`, and the exception); the default is text.
- Emailed links carry a token that opens an account: `redact_links()` takes it out of request
  lines (the development server's log here, gunicorn's access log in gunicorn.conf.py).
  Nothing else here logs a request's body, headers or cookies.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

from flask import Flask, g, has_request_context, request

# A request id we accept from outside: short, and nothing that could break a log line.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# An emailed link's token in a path: /activate/<token>, /invite/<token>, /password/reset/<token>.
SECRET_PATH = re.compile(r"(/(?:activate|invite|password/reset)/)[^/\s\"'?#&]+")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request_tag)s: %(message)s"

_context: contextvars.ContextVar[Mapping] = contextvars.ContextVar("log_context", default=MappingProxyType({}))


def current_request_id() -> str:
    """The id of the request (or the outbox row) being handled; "" outside both."""
    return _context.get().get("request_id", "")


@contextmanager
def bound(**fields) -> Iterator[None]:
    """Add fields (request_id, email_id, white_label_id...) to every log record in the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v not in (None, "")}})
    try:
        yield
    finally:
        _context.reset(token)


def redact_links(text: str) -> str:
    """`text` with the token of every activation or invitation link replaced."""
    return SECRET_PATH.sub(r"\1[redacted]", text)


def _request_ids() -> tuple[object, object]:
    """(user id, white-label id) of the current request, from what it has already loaded."""
    if not has_request_context():
        return "", ""
    user = g.get("_login_user")
    user_id = getattr(user, "id", "") if user is not None and getattr(user, "is_authenticated", False) else ""
    membership = g.get("membership")
    return user_id, getattr(membership, "white_label_id", "") if membership is not None else ""


_base_factory = logging.getLogRecordFactory()


def _record_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    context = _context.get()
    record.request_id = context.get("request_id", "")
    record.request_tag = f" [{record.request_id}]" if record.request_id else ""
    if has_request_context():
        record.user_id, record.white_label_id = _request_ids()
    else:
        record.user_id = context.get("user_id", "")
        record.white_label_id = context.get("white_label_id", "")
    record.bound = context
    return record


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "user_id", "white_label_id"):
            value = getattr(record, key, "")
            if value not in ("", None):
                entry[key] = value
        for key, value in getattr(record, "bound", {}).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _RedactRequestLines(logging.Filter):
    """The development server logs each request line: take emailed tokens out of it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_links(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_links(record.msg)
        return True


_ours = "_onboarding_handler"


def configure(config: dict) -> None:
    """Logging for the process: the record factory (ids on every record), a stderr handler when
    nothing else logs yet (gunicorn, the worker, the CLI), and the format LOG_FORMAT asks for."""
    if logging.getLogRecordFactory() is not _record_factory:
        logging.setLogRecordFactory(_record_factory)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _ours, True)
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    json_lines = str(config.get("LOG_FORMAT", "text")).lower() == "json"
    for handler in root.handlers:
        if getattr(handler, _ours, False):
            handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, _RedactRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(_RedactRequestLines())


def init_app(app: Flask) -> None:
    """Give every request an id (X-Request-ID in, or a new one; X-Request-ID out)."""

    @app.before_request
    def _request_id():
        given = request.headers.get("X-Request-ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_id = request_id
        g._log_context = _context.set({"request_id": request_id})

    @app.after_request
    def _send_request_id(response):
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response

    @app.teardown_request
    def _forget_request_id(_exc):
        token = g.pop("_log_context", None)
        if token is not None:
            try:
                _context.reset(token)
            except ValueError:  # set in another context (a test client reusing a thread): drop it
                _context.set({})
