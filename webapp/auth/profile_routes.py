"""Everyone's own profile (/profile): who they are signed in as, their password, their sessions."""

from flask import current_app, flash, g, redirect, url_for
from flask_login import current_user, login_required

from ..accounts import service as accounts
from ..extensions import db, limiter
from ..security import acting_user, home_url
from ..templating import render
from . import profile_bp as bp
from .forms import ChangePasswordForm
from .service import password_matches
from .sessions import end_all_sessions, keep_this_session


def _page(form: ChangePasswordForm, status: int = 200):
    return render("profile/show.html", form=form, forced=bool(current_user.must_change_password), status=status)


def _check_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _check_key() -> str:
    return f"password-check:{getattr(current_user, 'id', None)}"


def _wrong_current_password(response) -> bool:
    """Only a wrong current password counts against the limit (like a failed sign-in)."""
    return bool(g.get("wrong_current_password"))


@bp.get("")
@login_required
def show():
    """The signed-in person's profile: name and email, password change, sign out elsewhere."""
    return _page(ChangePasswordForm(email=current_user.email))


@bp.post("/password")
@login_required
@limiter.limit(_check_limit, key_func=_check_key, deduct_when=_wrong_current_password)
def change_password():
    """Change the password, given the current one; every other session of the person ends."""
    form = ChangePasswordForm(email=current_user.email)
    if form.validate_on_submit():
        if not password_matches(current_user, form.current_password.data):
            g.wrong_current_password = True
            form.current_password.errors.append(
                "Your current password is not right. Enter the password you signed in with."
            )
        else:
            forced = bool(current_user.must_change_password)
            user = acting_user()
            accounts.change_password(user, form.password.data)
            keep_this_session(user)
            flash("Your password has been changed. You have been signed out everywhere else.", "success")
            return redirect(home_url() if forced else url_for("profile.show"), code=303)
    return _page(form, 422)


@bp.post("/sign-out-others")
@login_required
def sign_out_others():
    """End every other session of the person (other browsers, copied cookies); this one stays."""
    user = acting_user()
    with db.atomic():
        end_all_sessions(user.id)
    keep_this_session(user)
    flash("You have been signed out everywhere else. This session stays signed in.", "success")
    return redirect(url_for("profile.show"), code=303)
