"""The customer's branded activation page, and the administrator's resend and cancel."""

from flask import Blueprint

bp = Blueprint("activation", __name__)

from . import routes  # noqa: E402,F401
