"""The white-label's customers: list, search and the customer page."""

from flask import Blueprint

bp = Blueprint("customers", __name__, url_prefix="/customers")

from . import routes  # noqa: E402,F401
