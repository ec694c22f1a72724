from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, login_user, logout_user
from htmx_flask import request

from ..extensions import limiter
from ..templating import render
from . import bp
from .forms import LoginForm
from .service import authenticate, safe_next


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in with email and password; a wrong pair gets one generic message."""
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("customers.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("The email or password is incorrect.")
            status = 422
        elif not user.is_active:
            return render_template("auth/disabled.html"), 403
        else:
            login_user(user)
            return redirect(next_url or url_for("customers.index"), code=303)
    elif form.is_submitted():
        status = 422
    return render("auth/login.html", form=form, next_url=next_url, status=status)


@bp.post("/logout")
@login_required
def logout():
    """Sign out and return to the sign-in page."""
    logout_user()
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
