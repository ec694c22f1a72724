"""The invitation link (/invite/<token>): the invited person joins the account. A new person
chooses a password; someone who already has an account enters its current password; white-label
staff and administrators cannot join customer accounts."""

from flask import current_app, flash, redirect, url_for

from ..auth.sessions import start_session
from ..extensions import limiter
from ..forms import form_status
from ..links import gone, private, signed_in_white_label_member, white_label_member_refused
from ..models import ActivationToken, User
from ..passwords import CurrentPasswordForm, NewPasswordForm
from ..templating import render
from ..tokens import VALID, look_up
from . import invitations_bp as bp
from .service import STAFF_CANNOT_JOIN, AccountProblem, InvitationRefused, accept_invitation, check_invitation


def _lookup_limit() -> str:
    return current_app.config["ACTIVATION_RATE_LIMIT"]


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(_lookup_limit)
def accept(token: str):
    """An invited person joins the account: a new person chooses a password, someone who already
    has an account enters its current password. White-label people cannot join."""
    if signed_in_white_label_member():
        return white_label_member_refused(invitation=True)
    found = look_up(token, ActivationToken.INVITATION)
    if found.state != VALID:
        return gone(found.state, found.customer, invitation=True)

    def refused(state: str):
        if state == "white_label":
            return private(
                render(
                    "accounts/invite_refused.html",
                    status=403,
                    message=STAFF_CANNOT_JOIN,
                    customer=found.customer,
                    brand=found.customer.white_label,
                )
            )
        return gone(state, found.customer, invitation=True)

    try:
        check_invitation(found.token)
    except InvitationRefused as refusal:
        return refused(refusal.state)
    user = User.get_by_id(found.token.user_id)
    existing = bool(user.password_hash)
    form = CurrentPasswordForm() if existing else NewPasswordForm(email=user.email)
    # (CSRFProtect has already refused a POST without a valid token.)
    if form.validate_on_submit():
        try:
            if existing:
                joined = accept_invitation(found.token, current_password=form.current_password.data)
            else:
                joined = accept_invitation(found.token, new_password=form.password.data)
        except InvitationRefused as refusal:
            return refused(refusal.state)
        except AccountProblem as problem:
            form[problem.field].errors.append(problem.message)
        else:
            start_session(joined)
            flash(f"Welcome to {found.customer.business_name}.", "success")
            return redirect(url_for("accounts.home"), code=303)
    return private(
        render(
            "accounts/invite.html",
            status=form_status(form),
            form=form,
            existing=existing,
            customer=found.customer,
            brand=found.customer.white_label,
            user=user,
        )
    )
