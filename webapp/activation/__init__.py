"""The customer's branded activation page, and the administrator's resend and cancel."""
from flask import Blueprint

bp = Blueprint("activation", __name__)

from . import routes  # noqa: E402,F401


@bp.app_context_processor
def _tracker():
    """Let the customer page show the activation tracker."""
    from .service import tracker

    return {"activation_tracker": tracker}
