"""The white-label administrator's settings: payment gateway (and, later, billing)."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from . import routes, template_routes  # noqa: E402,F401
