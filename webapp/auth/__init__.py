"""Sign-in and sign-out."""
from flask import Blueprint, redirect, url_for
from flask_login import LoginManager
from htmx_flask import request

bp = Blueprint("auth", __name__)


def login_manager_setup(manager: LoginManager) -> None:
    """Load users for Flask-Login and send the signed-out to /login (htmx: a full redirect)."""
    from ..models import User

    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to continue."
    manager.login_message_category = "info"
    manager.session_protection = "basic"

    @manager.user_loader
    def _load(user_id: str):
        try:
            return User.get_or_none(User.id == int(user_id))
        except ValueError:
            return None

    @manager.unauthorized_handler
    def _unauthorized():
        from .service import safe_next

        target = url_for("auth.login", next=safe_next(request.full_path.rstrip("?")))
        if request.htmx:
            # A fragment swap would put the sign-in page inside the current page.
            response = redirect(target)
            response.status_code = 204
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)


from . import routes  # noqa: E402,F401  (registers the views on bp)
