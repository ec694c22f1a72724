"""The create-customer wizard."""
from flask import Blueprint

bp = Blueprint("onboarding", __name__, url_prefix="/customers/new")

from . import routes  # noqa: E402,F401
