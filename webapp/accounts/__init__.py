"""One customer account, from both sides: the customer's own pages (/account, blueprint
"accounts") and the white-label's pages about it (/customers/<id>/..., blueprint "manage"):
users and invitations, numbers, PBX settings, plan, status, hand-over and top-up. Who may do
what is permissions.py; the service (no request handling) is service.py and payments.py."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/account")
white_label_bp = Blueprint("manage", __name__, url_prefix="/customers/<int:customer_id>")
invitations_bp = Blueprint("invitations", __name__)  # /invite/<token>: the emailed link

from . import invitation_routes, routes, white_label_routes  # noqa: E402,F401  (register the views)
