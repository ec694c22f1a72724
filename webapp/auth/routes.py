import hashlib

from flask import current_app, flash, redirect, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from htmx_flask import request

from ..extensions import limiter
from ..security import acting_user, home_url
from ..templating import render
from . import bp
from .forms import LoginForm
from .service import authenticate, normalise_email, safe_next
from .sessions import sign_out_everywhere, start_session


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _account_all_addresses_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_ALL_ADDRESSES_RATE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]


def _account() -> str:
    """The account a sign-in is for: its normalised email, hashed so any input makes a short key."""
    email = normalise_email(request.form.get("email", ""))
    return hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()


def _address() -> str:
    return get_remote_address() or "unknown"


def _account_address_key() -> str:
    # Keyed on the address too, so a stranger's wrong passwords lock only the stranger out.
    return f"login-account-address:{_account()}:{_address()}"


def _account_key() -> str:
    return f"login-account:{_account()}"


def _address_key() -> str:
    return f"login-address:{_address()}"


def _failed(response) -> bool:
    """Only failed sign-ins count against the limits (the form answers those with 422)."""
    return response.status_code == 422


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_account_limit, key_func=_account_address_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(_account_all_addresses_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(_address_limit, key_func=_address_key, methods=["POST"], deduct_when=_failed)
def login():
    """Sign in with email and password; a wrong pair gets one generic message."""
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or home_url())
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("The email or password is incorrect.")
            status = 422
        elif not user.is_active:
            return render("auth/disabled.html", status=403)
        else:
            start_session(user)  # next_url was read from the query string before this
            return redirect(next_url or home_url(), code=303)
    elif form.is_submitted():
        status = 422
    return render("auth/login.html", form=form, next_url=next_url, status=status)


@bp.post("/logout")
@login_required
def logout():
    """Sign out, here and in every other session of the person, and return to the sign-in page."""
    sign_out_everywhere(acting_user())
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
