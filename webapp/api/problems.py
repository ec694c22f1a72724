"""Errors of the API as RFC 9457 problem details (`application/problem+json`).

Every refusal is a `Problem`: a type (a link to its explanation on /api/docs), a title, the
status, a detail that says what to do, and for 422 the fields at fault as JSON pointers into
the request body. Views raise it; the blueprint's error handlers answer it, and turn every
other HTTP error (404, 405, 413, 429...) and any unexpected exception into one too.
"""

from __future__ import annotations

import json
import logging
import time

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# slug -> (status, title, what it means and what to do): the reference page lists them all.
TYPES = {
    "bad-request": (
        400,
        "The request could not be read",
        "The body is not valid JSON, or a header (such as Idempotency-Key) is malformed. Fix the request "
        "and send it again.",
    ),
    "unauthorized": (
        401,
        "A valid API key is needed",
        "Send `Authorization: Bearer <key>` with a live key of your white-label. The key may be "
        "mistyped, revoked, or belong to an administrator who no longer is one: make a new key in "
        "Settings > API keys.",
    ),
    "read-only-key": (
        403,
        "This key can only read",
        "The key's scope is read-only. Use a read-and-write key for requests that change anything.",
    ),
    "forbidden": (
        403,
        "Not allowed for this customer",
        "The request is valid, but this customer's account does not allow it (see detail).",
    ),
    "not-found": (
        404,
        "Not found",
        "There is no such resource for your white-label. Ids of other white-labels are never found.",
    ),
    "method-not-allowed": (405, "Method not allowed", "This URL does not answer that method; see the Allow header."),
    "conflict": (
        409,
        "Not possible in the customer's current state",
        "The customer's status does not allow this now (see detail). Read the customer to see where it stands.",
    ),
    "idempotency-key-reused": (
        422,
        "Idempotency-Key already used for another request",
        "An Idempotency-Key identifies one request for 24 hours. This key was used with a "
        "different method, URL or body. Send a new key for a new request; send exactly the "
        "same request to get the first answer again.",
    ),
    "too-large": (413, "Request body too large", "Send a smaller body."),
    "unsupported-media-type": (
        415,
        "The body must be JSON",
        "Send the body as JSON with `Content-Type: application/json`.",
    ),
    "validation": (
        422,
        "Some fields need attention",
        "Each entry of `errors` names a field by its JSON pointer in the request body and says what to "
        "change. The messages are the ones the console's forms show.",
    ),
    "rate-limited": (
        429,
        "Too many requests",
        "The key sent more requests than its limit allows. Wait for the number of seconds in Retry-After.",
    ),
    "server-error": (
        500,
        "Something went wrong on our side",
        "Nothing was changed half-way. Send the same request again (with the same Idempotency-Key).",
    ),
}

_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limited",
}


class Problem(Exception):
    """An API refusal; `errors` is a list of {"pointer", "detail"} for 422."""

    def __init__(
        self, slug: str, detail: str | None = None, *, errors: list[dict] | None = None, headers: dict | None = None
    ):
        status, title, explanation = TYPES[slug]
        super().__init__(detail or title)
        self.slug, self.status, self.title = slug, status, title
        self.detail = detail or explanation
        self.errors = errors
        self.headers = headers or {}


def type_uri(slug: str) -> str:
    return f"{current_app.config['APP_BASE_URL']}/api/docs#problem-{slug}"


def response(problem: Problem) -> Response:
    body = {"type": type_uri(problem.slug), "title": problem.title, "status": problem.status, "detail": problem.detail}
    if problem.errors is not None:
        body["errors"] = problem.errors
    answer = Response(json.dumps(body), status=problem.status, mimetype=PROBLEM_JSON, headers=problem.headers)
    answer.headers["Cache-Control"] = "no-store"
    return answer


def from_http_exception(error: HTTPException) -> Response:
    """Werkzeug's HTTP errors (routing, body too large, rate limit...) as problems."""
    status = error.code or 500
    headers = {k: v for k, v in error.get_headers() if k.lower() not in ("content-type", "content-length")}
    if status == 429:
        return response(_too_many(headers, getattr(error, "reset_at", None)))
    slug = _BY_STATUS.get(status, "bad-request" if status < 500 else "server-error")
    if status >= 500:
        log.error("API request failed with %s: %s", status, error)
    return response(Problem(slug, headers=headers))


def _too_many(headers: dict, reset_at: float | None = None) -> Problem:
    """429: when to try again. `reset_at` comes from a limit counted inside a view
    (ratelimits.count_or_refuse); otherwise from the Flask-Limiter limit that refused."""
    from ..extensions import limiter

    if reset_at is None and limiter.current_limit is not None:
        reset_at = limiter.current_limit.reset_at
    # The same count as the Retry-After header Flask-Limiter writes.
    seconds = max(1, int(reset_at - time.time())) if reset_at is not None else 60
    headers["Retry-After"] = str(seconds)
    return Problem("rate-limited", f"Too many requests. Try again in {seconds} seconds.", headers=headers)


def unexpected(error: Exception) -> Response:
    log.exception("Unhandled error in API request %s %s", request.method, request.path)
    return response(Problem("server-error"))
