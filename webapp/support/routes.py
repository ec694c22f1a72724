"""The support view's HTTP side: the reason form, Stop viewing, and the server-side refusal of
every write while a view is live."""

from __future__ import annotations

from flask import flash, g, has_request_context, session, url_for
from flask_login import login_required
from htmx_flask import request

from ..accounts.permissions import Access, Action
from ..accounts.views import white_label_page
from ..errors import Refusal
from ..forms import form_status
from ..http import see_other
from ..security import acting_user, home_url
from ..templating import render
from . import bp
from .forms import ViewAsForm
from .service import (
    ALLOWED_WHILE_VIEWING,
    SAFE_METHODS,
    SESSION_KEY,
    VIEW_MINUTES,
    CannotView,
    account_administrator,
    current_view,
    end_view,
    start_view,
)


@bp.before_app_request
def _read_only_while_viewing():
    """While a support view is live, the server refuses anything but reading (and ending it)."""
    if SESSION_KEY not in session:
        return None
    view = current_view()
    expired = g.get("support_view_expired")
    if expired is not None:
        flash(f"Your view of {expired.customer.business_name}’s account ended after {VIEW_MINUTES} minutes.", "info")
    if request.method in SAFE_METHODS:
        return None
    if request.endpoint == "auth.logout" and view is not None:
        end_view(view, "signed out")
        return None
    if request.endpoint in ALLOWED_WHILE_VIEWING:
        return None
    if view is not None or expired is not None:
        # Also when the view ran out on this very request: the form came from the customer's pages.
        raise Refusal(
            403,
            "Nothing can be changed while you view as the customer",
            "This is a read-only view of the customer’s account, so nothing was changed. "
            "Stop viewing (in the banner at the top) to work in your own console again.",
        )
    return None


@bp.app_context_processor
def _viewing():
    # Emails are rendered outside any request (the worker, the CLI): there is no session there.
    viewing = has_request_context() and SESSION_KEY in session
    return {"viewing": current_view() if viewing else None}


@bp.route("/customers/<int:customer_id>/view-as", methods=["GET", "POST"])
@white_label_page(Action.VIEW_AS_CUSTOMER)
def start(access: Access):
    """Ask why, then open the customer's /account as its Account Administrator sees it, read-only."""
    customer = access.customer
    membership = account_administrator(customer)
    form = ViewAsForm()
    if form.validate_on_submit():
        try:
            view = start_view(customer, acting_user(), form.reason.data.strip())
        except CannotView as problem:
            form.form_errors.append(problem.message)
        else:
            # The administrator's own session, marked: they stay signed in as themselves.
            session[SESSION_KEY] = view.id
            return see_other(url_for("accounts.home"))
    return render(
        "support/start.html",
        customer=customer,
        membership=membership,
        form=form,
        minutes=VIEW_MINUTES,
        status=form_status(form),
    )


@bp.post("/view-as/stop")
@login_required
def stop():
    """End the view now and go back to the customer's page in the console."""
    view = current_view()
    session.pop(SESSION_KEY, None)
    if view is None:
        return see_other(home_url())
    end_view(view, "stopped")
    flash(f"You stopped viewing {view.customer.business_name}’s account.", "success")
    return see_other(url_for("customers.show", customer_id=view.customer_id))
