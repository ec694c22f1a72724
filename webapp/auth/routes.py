import hashlib

from flask import abort, current_app, flash, redirect, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from htmx_flask import request

from ..branding import remember_brand, request_brand, sign_in_path
from ..emails import reset_link_hours
from ..extensions import db, limiter
from ..links import private
from ..security import acting_user, current_membership, home_url
from ..templating import render
from ..tokens import GONE_STATUS, VALID
from . import bp
from .forms import ForgotPasswordForm, LoginForm, ResetPasswordForm
from .resets import brand_of, look_up_reset, request_reset, sign_in_brand
from .resets import reset_password as use_reset_link
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
@bp.route("/s/<brand_slug>/sign-in", methods=["GET", "POST"])
@limiter.limit(_account_limit, key_func=_account_address_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(_account_all_addresses_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(_address_limit, key_func=_address_key, methods=["POST"], deduct_when=_failed)
def login(brand_slug: str | None = None):
    """Sign in with email and password; a wrong pair gets one generic message. At a white-label's
    own sign-in address (/s/<slug>/sign-in, the one its emails link to) the page is its brand's."""
    next_url = safe_next(request.args.get("next"))
    if brand_slug is not None:
        brand = request_brand()
        if brand is None or brand.slug != brand_slug:
            abort(404)
        remember_brand(brand)
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
    action = sign_in_path(
        request_brand() if brand_slug is not None else None, **({"next": next_url} if next_url else {})
    )
    return render("auth/login.html", form=form, next_url=next_url, action=action, status=status)


@bp.post("/logout")
@login_required
def logout():
    """Sign out, here and in every other session of the person, and return to the sign-in page."""
    brand = request_brand() if current_membership() is None else None
    sign_out_everywhere(acting_user())
    if brand is not None:  # a customer goes back to their white-label's own sign-in page
        remember_brand(brand)
    flash("You have been signed out.", "info")
    return redirect(sign_in_path(brand), code=303)


# --- "Forgot your password?" ---------------------------------------------------------------


def _reset_account_limit() -> str:
    return current_app.config["PASSWORD_RESET_ACCOUNT_RATE_LIMIT"]


def _reset_address_limit() -> str:
    return current_app.config["PASSWORD_RESET_ADDRESS_RATE_LIMIT"]


def _reset_account_key() -> str:
    return f"password-reset-account:{_account()}"


def _reset_address_key() -> str:
    return f"password-reset-address:{_address()}"


@bp.route("/password/forgot", methods=["GET", "POST"])
# Every request counts, known address or not, so the limit itself tells nobody who has an account.
@limiter.limit(_reset_account_limit, key_func=_reset_account_key, methods=["POST"])
@limiter.limit(_reset_address_limit, key_func=_reset_address_key, methods=["POST"])
def forgot_password():
    """Ask for a link to choose a new password; the answer is the same whether or not the email
    belongs to an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with db.atomic():
            request_reset(form.email.data)
        return redirect(url_for("auth.reset_sent"), code=303)
    return render("auth/forgot.html", form=form, status=422 if form.is_submitted() else 200)


@bp.get("/password/forgot/sent")
def reset_sent():
    """What every request for a reset link is told (nothing about whether the account exists)."""
    return render("auth/reset_sent.html", hours=reset_link_hours())


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from an emailed link; it works once, and every session ends."""
    found = look_up_reset(token)
    if found.state != VALID:
        return _reset_gone(found.state, found.user)
    brand = brand_of(found.user)
    form = ResetPasswordForm(email=found.user.email)
    if form.validate_on_submit():
        done = use_reset_link(token, form.password.data)
        if done.state != VALID:
            return _reset_gone(done.state, done.user)
        # Every session of the person has ended (a browser signed in as them included).
        flash(
            "Your password has been changed and you have been signed out everywhere. Sign in with your new password.",
            "success",
        )
        return private(redirect(sign_in_path(sign_in_brand(found.user)), code=303))
    status = 422 if form.is_submitted() else 200
    return private(render("auth/reset.html", form=form, brand=brand, person=found.user, status=status))


def _reset_gone(state: str, user):
    return private(
        render(
            "auth/reset_gone.html",
            state=state,
            brand=brand_of(user) if user is not None else None,
            status=GONE_STATUS[state],
            hours=reset_link_hours(),
        )
    )
