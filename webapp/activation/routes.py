import json
import re
import secrets

from flask import abort, current_app, flash, make_response, redirect, url_for
from htmx_flask import request

from ..accounts.permissions import Access, Action
from ..accounts.views import white_label_page
from ..auth.sessions import start_session
from ..extensions import limiter
from ..http import see_other
from ..links import gone, private, signed_in_white_label_member, white_label_member_refused
from ..models import Customer
from ..payments import gateway_for
from ..ratelimits import LimitReached, count_or_refuse
from ..templating import render
from ..tokens import USED, VALID
from . import bp
from .forms import ActivationForm, PaidActivationForm, StripeActivationForm
from .service import (
    ActivationRefused,
    AlreadyActivated,
    activate,
    cancel,
    existing_user_problem,
    look_up_activation,
    received_activation_payment,
    record_opened,
    release_stray_payment,
    resend,
    start_card_payment,
)


def _lookup_limit() -> str:
    return current_app.config["ACTIVATION_RATE_LIMIT"]


def _resend_limit() -> str:
    return current_app.config["RESEND_RATE_LIMIT"]


from ..payments.stripe_gateway import STRIPE_CSP  # noqa: E402 (kept importable from here)


def _form(customer: Customer, gateway, formdata=None, paid=None):
    plan = customer.plan
    if paid is not None:
        form_class = PaidActivationForm
    else:
        form_class = ActivationForm if (gateway is None or gateway.collects_card) else StripeActivationForm
    kwargs = {} if formdata is None else {"formdata": formdata}
    return form_class(
        contact_email=customer.contact_email,
        minimum=plan.min_opening_balance if plan else 0,
        maximum=current_app.config["ACTIVATION_MAX_OPENING_BALANCE"],
        currency=customer.white_label.currency,
        locale=customer.white_label.amount_locale,
        **kwargs,
    )


def _page(customer, gateway, form, status=200, card_error=None, partial=None, paid=None):
    response = private(
        render(
            "activation/page.html",
            partial,
            status=status,
            customer=customer,
            brand=customer.white_label,
            plan=customer.plan,
            form=form,
            gateway=gateway,
            card_error=card_error,
            paid=paid.payment if paid is not None else None,
        )
    )
    if gateway is not None and not gateway.collects_card and paid is None:
        response.headers["Content-Security-Policy"] = STRIPE_CSP
    return response


def _refuse(customer, gateway, form, refused: ActivationRefused, partial=None, paid=None):
    """Show why the payment did not happen, at the card, keeping all but the card."""
    card_error = None
    if refused.field == "card" and "card_number" in form:
        form.card_number.errors.append(refused.message)
    elif refused.field == "card":
        card_error = refused.message
    else:
        form[refused.field].errors.append(refused.message)
    if refused.new_attempt:
        form.attempt.data = secrets.token_hex(16)
    form.forget_card()
    return _page(customer, gateway, form, 422, card_error=card_error, partial=partial, paid=paid)


def _valid_link(token: str):
    """(lookup, None) for a usable link, or (None, the page to answer with)."""
    if signed_in_white_label_member():
        # Only the customer activates: the white-label administrator cannot do it for them.
        return None, white_label_member_refused()
    found = look_up_activation(token)
    if found.state != VALID:
        if request.method == "POST" and found.token is not None and request.form.get("payment_intent"):
            release_stray_payment(found.token, request.form["payment_intent"])
        return None, gone(found.state, found.customer)
    return found, None


def _checked_form(customer, gateway, paid=None):
    """The posted form, validated, with a well-formed attempt key; plus the problem, if any."""
    form = _form(customer, gateway, request.form, paid=paid)
    if not form.attempt.data or not re.fullmatch(r"[0-9a-f]{32}", form.attempt.data):
        form.attempt.data = secrets.token_hex(16)
    if not form.validate():
        return form, False
    problem = existing_user_problem(customer, form.password.data)
    if problem:
        form.password.errors.append(problem)
        return form, False
    return form, True


@bp.route("/activate/<token>", methods=["GET", "POST"])
@limiter.limit(_lookup_limit)
def activate_account(token: str):
    """The customer's activation page: set a password and fund the account by card."""
    found, refusal = _valid_link(token)
    if refusal is not None:
        return refusal
    customer = found.customer
    gateway = gateway_for(customer.white_label)
    # Paid already (Stripe confirmed it, the browser closed before posting back): say so, and
    # ask only for what is missing.
    paid = received_activation_payment(customer)
    if request.method != "POST":
        record_opened(found.token)
        form = _form(customer, gateway, paid=paid)
        form.attempt.data = secrets.token_hex(16)
        if customer.plan and paid is None:
            form.opening_balance.data = f"{customer.plan.min_opening_balance / 100:.2f}"
        return _page(customer, gateway, form, paid=paid)

    form, valid = _checked_form(customer, gateway, paid=paid)
    if not valid:
        form.forget_card()
        return _page(customer, gateway, form, 422, paid=paid)
    try:
        user = activate(
            found.token,
            password=form.password.data,
            amount=form.amount() if paid is None else None,
            attempt=form.attempt.data,
            card=form.card() if "card_number" in form else None,
            payment_intent=form.payment_intent.data if "payment_intent" in form else None,
        )
    except ActivationRefused as refused:
        return _refuse(customer, gateway, form, refused, paid=paid)
    except AlreadyActivated:
        return gone(USED, customer)
    start_session(user)
    flash(f"{customer.business_name} is active. Welcome!", "success")
    return redirect(url_for("accounts.home"), code=303)


@bp.post("/activate/<token>/payment")
@limiter.limit(_lookup_limit)
def start_payment(token: str):
    """Stripe: check the form, then create the PaymentIntent that Stripe.js confirms in the browser."""
    found, refusal = _valid_link(token)
    if refusal is not None:
        return refusal
    customer = found.customer
    gateway = gateway_for(customer.white_label)
    if gateway is None or gateway.collects_card:
        abort(404)
    if received_activation_payment(customer) is not None:
        # Paid already (in another tab, say): never a second payment. Reload the page, which says so.
        return private(see_other(url_for("activation.activate_account", token=token)))
    form, valid = _checked_form(customer, gateway)
    if not valid:
        return _page(customer, gateway, form, 422, partial="activation/_fields.html")
    try:
        intent_id, client_secret = start_card_payment(found.token, amount=form.amount(), attempt=form.attempt.data)
    except ActivationRefused as refused:
        return _refuse(customer, gateway, form, refused, partial="activation/_fields.html")
    response = private(make_response("", 204))
    # stripe-activation.js hears this event and confirms the card with Stripe.js.
    response.headers["HX-Trigger"] = json.dumps(
        {"stripe-confirm": {"clientSecret": client_secret, "intent": intent_id}}
    )
    return response


@bp.post("/customers/<int:customer_id>/activation/resend")
@white_label_page(Action.RESEND_ACTIVATION)
def resend_activation(access: Access):
    """Send a new activation link (an expired customer is pending again); every older link stops working."""
    customer = access.customer
    # Counted only now: another white-label's requests (404 above) cannot use up this customer's resends.
    try:
        count_or_refuse(_resend_limit(), "resend-activation", str(customer.id))
    except LimitReached as limit:
        return _too_many_resends(customer, limit.reset_at)
    resend(customer, access.user)
    flash(f"A new activation email is on its way to {customer.contact_email}. Older links no longer work.", "success")
    return redirect(url_for("customers.show", customer_id=customer.id), code=303)


def _too_many_resends(customer: Customer, reset_at: float):
    """429 on the customer page itself, the wait beside the Resend button in the white-label's time."""
    import datetime as dt
    import math
    import time
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ..accounts.permissions import white_label_access
    from ..customers.routes import customer_page
    from ..errors import wait_words

    seconds = max(1, math.ceil(reset_at - time.time()))
    try:
        zone = ZoneInfo(customer.white_label.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    moment = dt.datetime.fromtimestamp(reset_at, zone)
    message = f"Too many resends. Try again after {moment:%H:%M} {moment.tzname()}, in {wait_words(seconds)}."
    return customer_page(
        white_label_access(customer.id), status=429, headers={"Retry-After": str(seconds)}, resend=message
    )


@bp.route("/customers/<int:customer_id>/activation/cancel", methods=["GET", "POST"])
@white_label_page(Action.CANCEL_ACTIVATION)
def cancel_activation(access: Access):
    """Cancel a customer who has not activated, after a confirmation page."""
    customer = access.customer
    if request.method != "POST":
        return render("activation/cancel.html", customer=customer)
    cancel(customer, access.user)
    flash(f"{customer.business_name} has been cancelled. The activation link no longer works.", "success")
    return redirect(url_for("customers.show", customer_id=customer.id), code=303)
