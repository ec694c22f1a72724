"""The create-customer wizard."""

from flask import Blueprint

bp = Blueprint("onboarding", __name__, url_prefix="/customers/new")

from . import routes  # noqa: E402,F401
from .options import option_of  # noqa: E402


@bp.app_template_filter("option")
def _option_filter(record):
    """`customer | option`: the customer's (or draft's) option, for its labels in any template."""
    return option_of(record)
