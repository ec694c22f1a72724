"""Everyone's own profile (/profile): their name and email, their password, their sessions."""

from flask import current_app, flash, g, redirect, url_for
from flask_login import current_user, login_required
from peewee import IntegrityError

from ..accounts import service as accounts
from ..emails import send_email_changed_email
from ..extensions import db, limiter
from ..models import User
from ..security import acting_user, home_url
from ..templating import render
from . import profile_bp as bp
from .forms import ChangeEmailForm, ChangePasswordForm, ProfileNameForm
from .resets import brand_of
from .service import EmailTaken, change_email, password_matches, rename
from .sessions import end_all_sessions, keep_this_session


def _page(password_form=None, name_form=None, email_form=None, status: int = 200):
    """The profile page; the form that was posted comes back with what was typed and its errors."""
    password_form = password_form or ChangePasswordForm(formdata=None, email=current_user.email)
    return render(
        "profile/show.html",
        # `form` is the one that was posted: the page title starts "Error: " when it has errors.
        form=name_form or email_form or password_form,
        password_form=password_form,
        name_form=name_form
        or ProfileNameForm(formdata=None, first_name=current_user.first_name, last_name=current_user.last_name),
        email_form=email_form or ChangeEmailForm(formdata=None),
        forced=bool(current_user.must_change_password),
        status=status,
    )


def _check_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _check_key() -> str:
    return f"password-check:{getattr(current_user, 'id', None)}"


def _wrong_current_password(response) -> bool:
    """Only a wrong current password counts against the limit (like a failed sign-in)."""
    return bool(g.get("wrong_current_password"))


WRONG_CURRENT_PASSWORD = "Your current password is not right. Enter the password you signed in with."


@bp.get("")
@login_required
def show():
    """The signed-in person's profile: name and email, password change, sign out elsewhere."""
    return _page()


@bp.post("/name")
@login_required
def change_name():
    """Change one's own name."""
    form = ProfileNameForm()
    if form.validate_on_submit():
        with db.atomic():
            rename(acting_user(), form.first_name.data, form.last_name.data or "")
        flash("Your name has been saved.", "success")
        return redirect(url_for("profile.show"), code=303)
    return _page(name_form=form, status=422)


@bp.post("/email")
@login_required
@limiter.limit(_check_limit, key_func=_check_key, deduct_when=_wrong_current_password)
def change_email_address():
    """Change the email one signs in with, given the current password; the old address is told,
    and every other session ends."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        user = acting_user()
        if not password_matches(user, form.email_current_password.data):
            g.wrong_current_password = True
            form.email_current_password.errors.append(WRONG_CURRENT_PASSWORD)
        elif form.new_email.data == user.email:
            form.new_email.errors.append("That is already the email you sign in with. Enter a different one.")
        else:
            try:
                with db.atomic():
                    old_email = change_email(user, form.new_email.data)
                    send_email_changed_email(User.get_by_id(user.id), brand_of(user), old_email=old_email)
            except (EmailTaken, IntegrityError):
                form.new_email.errors.append("Another account already uses that email address. Enter a different one.")
            else:
                keep_this_session(user)
                flash(
                    f"You now sign in with {form.new_email.data}. You have been signed out everywhere else.",
                    "success",
                )
                return redirect(url_for("profile.show"), code=303)
    return _page(email_form=form, status=422)


@bp.post("/password")
@login_required
@limiter.limit(_check_limit, key_func=_check_key, deduct_when=_wrong_current_password)
def change_password():
    """Change the password, given the current one; every other session of the person ends."""
    form = ChangePasswordForm(email=current_user.email)
    if form.validate_on_submit():
        if not password_matches(current_user, form.current_password.data):
            g.wrong_current_password = True
            form.current_password.errors.append(WRONG_CURRENT_PASSWORD)
        else:
            forced = bool(current_user.must_change_password)
            user = acting_user()
            accounts.change_password(user, form.password.data)
            keep_this_session(user)
            flash("Your password has been changed. You have been signed out everywhere else.", "success")
            return redirect(home_url() if forced else url_for("profile.show"), code=303)
    return _page(password_form=form, status=422)


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
