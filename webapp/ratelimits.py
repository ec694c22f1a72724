"""Rate limits counted inside a view, once the view knows the request should count.

Flask-Limiter's decorators count before the view runs, when it cannot yet tell whether the
request is one the limit is about (resending an activation email counts only once the customer
is found in the caller's white-label and is waiting for activation). `count_or_refuse` counts
in the same storage as the decorators (database:// or Redis, shared by every process).
"""

from __future__ import annotations

from limits import parse
from werkzeug.exceptions import TooManyRequests

from .extensions import limiter


class LimitReached(TooManyRequests):
    """A 429 that knows when the window ends (errors.py turns it into the page and Retry-After)."""

    def __init__(self, reset_at: float):
        super().__init__()
        self.reset_at = reset_at


def count_or_refuse(limit: str, *key: str) -> None:
    """Count one use of `key` against `limit` (a Flask-Limiter string such as "5 per hour");
    past the limit, raise LimitReached. The increment is atomic in the storage, so two
    requests at once cannot both take the last use."""
    if not (limiter.enabled and limiter.initialized):
        return
    item = parse(limit)
    if not limiter.limiter.hit(item, "counted", *key):
        raise LimitReached(limiter.limiter.get_window_stats(item, "counted", *key).reset_time)
