"""Sign-in and sign-out."""

import hmac

from flask import Blueprint
from flask_login import LoginManager
from htmx_flask import request

bp = Blueprint("auth", __name__)
# Everyone's own profile (/profile): who they are signed in as, their password, their sessions.
profile_bp = Blueprint("profile", __name__, url_prefix="/profile")


def login_manager_setup(manager: LoginManager) -> None:
    """Load users for Flask-Login and send the signed-out to /login (htmx: a full redirect)."""
    from ..models import User

    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to continue."
    manager.login_message_category = "info"
    manager.session_protection = "basic"

    @manager.user_loader
    def _load(user_id: str):
        # One query for the user, their white-label role and the white-label, which nearly
        # every page needs (security.current_membership reads what this leaves in g).
        from flask import g
        from peewee import JOIN

        from ..models import WhiteLabel, WhiteLabelMembership

        # The session holds "<id>:<session version>" (User.get_id); a session made under an
        # older version (before a sign-out, password change or deactivation) has ended.
        user_key, separator, version = (user_id or "").partition(":")
        if not separator or not (user_key.isascii() and user_key.isdigit()) or len(user_key) > 18:
            return None
        row = (
            User.select(User, WhiteLabelMembership, WhiteLabel)
            .join(
                WhiteLabelMembership, JOIN.LEFT_OUTER, on=(WhiteLabelMembership.user == User.id), attr="wl_membership"
            )
            .join(
                WhiteLabel, JOIN.LEFT_OUTER, on=(WhiteLabelMembership.white_label == WhiteLabel.id), attr="white_label"
            )
            .where(User.id == int(user_key))
            .first()
        )
        if row is None or not hmac.compare_digest(row.session_version.encode(), version.encode()):
            return None
        membership = getattr(row, "wl_membership", None)
        g.membership = membership if membership is not None and membership.id is not None else None
        return row

    @manager.unauthorized_handler
    def _unauthorized():
        from ..branding import request_brand, sign_in_path
        from ..http import see_other
        from ..onboarding.kept import keep_and_sign_in
        from .service import safe_next

        kept = keep_and_sign_in()  # a wizard step posted after signing out: keep what was typed
        if kept is not None:
            return kept
        # 302, as Flask-Login answers; for htmx a whole page load (a fragment swap would put the
        # sign-in page inside this one). A signed-out customer goes to their white-label's own
        # sign-in page (branding.py).
        return see_other(sign_in_path(request_brand(), next=safe_next(request.full_path.rstrip("?"))), code=302)


from . import profile_routes, routes  # noqa: E402,F401  (registers the views on the blueprints)
