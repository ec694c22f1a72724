"""Who is calling the API: the bearer key, its white-label and scope; the rate limit per key;
what every API request must look like before a view sees it; and problem details for errors."""

from __future__ import annotations

import re
import time

from flask import current_app, g, request
from werkzeug.exceptions import BadRequest, HTTPException

from ..extensions import limiter, login_manager
from ..models import ApiKey
from . import bp, problems
from .keys import authenticate
from .problems import Problem

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PUBLIC_ENDPOINTS = {"api.openapi"}
# Endpoints whose request has a JSON body (the others take none).
BODY_ENDPOINTS = {"api.create_customer", "api.invite_user"}
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="api"'}


def current_key() -> ApiKey | None:
    """The live key this request carries (looked up once per request), or None."""
    if "api_key" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        g.api_key = authenticate(credentials.strip()) if scheme.lower() == "bearer" else None
    return g.api_key


def rate_limit_key() -> str:
    """Limits count per key; requests without a live key count per address."""
    key = current_key()
    return f"api-key:{key.prefix}" if key is not None else f"api-anonymous:{request.remote_addr}"


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def install(app) -> None:
    """What each app needs (the blueprint's own hooks are registered once, below)."""

    def _no_cookie_sign_in():
        # A browser's session cookie never signs anyone in here: before any other hook can ask
        # Flask-Login who is signed in (the password-change redirect does), it is told the
        # caller is anonymous. Authentication is the bearer key, checked below.
        if request.blueprint == bp.name:
            g._login_user = login_manager.anonymous_user()

    app.before_request_funcs.setdefault(None, []).insert(0, _no_cookie_sign_in)


limiter.limit(_rate_limit, key_func=rate_limit_key, exempt_when=lambda: request.endpoint in PUBLIC_ENDPOINTS)(bp)


@bp.before_request
def _check_request():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    key = current_key()
    if key is None:
        raise Problem("unauthorized", headers=dict(WWW_AUTHENTICATE))
    g.api_white_label = key.white_label
    if request.method not in SAFE_METHODS and not key.can_write:
        raise Problem("read-only-key")
    idempotency_key = request.headers.get("Idempotency-Key")
    if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise Problem("bad-request", "Idempotency-Key must be 1 to 255 printable ASCII characters, without spaces.")
    if request.endpoint in BODY_ENDPOINTS:
        if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
            raise Problem("unsupported-media-type")
        try:
            request.get_json()
        except BadRequest as error:
            if error.code == 413:
                raise
            raise Problem("bad-request", "The body is not valid JSON.") from None


@bp.after_request
def _headers(response):
    limit = limiter.current_limit
    if limit is not None:
        # draft-ietf-httpapi-ratelimit-headers: the policy, and what is left of it.
        response.headers["RateLimit-Policy"] = f'"per-key";q={limit.limit.amount};w={limit.limit.get_expiry()}'
        reset = max(0, int(limit.reset_at - time.time()))
        response.headers["RateLimit"] = f'"per-key";r={max(0, limit.remaining)};t={reset}'
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(Problem)
def _problem(problem: Problem):
    return problems.response(problem)


@bp.errorhandler(HTTPException)
def _http(error: HTTPException):
    return problems.from_http_exception(error)


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return problems.from_http_exception(error)
    return problems.unexpected(error)


def is_api_request() -> bool:
    """For the app's own error handlers: errors of URLs under /api/v1 that matched no route
    (404, 405) are problems too."""
    return request.path == "/api/v1" or request.path.startswith("/api/v1/")
