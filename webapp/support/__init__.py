"""Support: a white-label administrator views a customer-administered account's /account as its
Account Administrator sees it, read-only, for 15 minutes at most, with a reason on the record.

The view is a mode of the administrator's own session (never a sign-in as the customer): the
session holds the id of a `SupportView` row, and while that row is live every request that could
change something is refused by the server (service.refuse_writes_while_viewing)."""

from flask import Blueprint

bp = Blueprint("support", __name__)

from . import routes  # noqa: E402,F401
