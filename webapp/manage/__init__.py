"""The white-label side of a customer account after creation: users, numbers, PBX settings,
plan, status and hand-over, on /customers/<id>/... (the customer's own side is /account)."""
from flask import Blueprint

bp = Blueprint("manage", __name__, url_prefix="/customers/<int:customer_id>")

from . import routes  # noqa: E402,F401


@bp.app_context_processor
def _panels():
    """Let the customer page show the account's panels without the list's code knowing them."""
    from .panels import customer_panels

    return {"customer_panels": customer_panels}
