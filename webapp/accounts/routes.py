import json
import re
import secrets

from flask import abort, current_app, flash, make_response, redirect, request, url_for
from flask_login import current_user, login_required

from ..forms import form_status
from ..http import see_other
from ..ledger import customer_balance
from ..models import Customer, CustomerMembership, PbxSettings, PhoneNumber
from ..phones import display_phone
from ..security import acting_user
from ..templating import render
from . import bp, service, views
from .forms import AccountNumbersForm, TopUpForm
from .panels import customer_ledger
from .permissions import CUSTOMER, Access, Action
from .views import customer_page

# Pages a person who must change their password may still open.
PASSWORD_CHANGE_EXEMPT = {
    "profile.show",
    "profile.change_password",
    "profile.sign_out_others",
    "auth.logout",
    "static",
    "branding.css",
}


@bp.before_app_request
def _force_password_change():
    """Someone given a temporary password sets their own before doing anything else."""
    if (
        current_user.is_authenticated
        and getattr(current_user, "must_change_password", False)
        and request.endpoint not in PASSWORD_CHANGE_EXEMPT
    ):
        return redirect(url_for("profile.show"))
    return None


def current_memberships() -> list[CustomerMembership]:
    """The signed-in person's active roles in customer accounts."""
    return list(
        CustomerMembership.select(CustomerMembership, Customer)
        .join(Customer)
        .where((CustomerMembership.user == current_user.id) & (CustomerMembership.active == True))  # noqa: E712
        .order_by(Customer.business_name)
    )


@bp.get("/")
@login_required
def home():
    """The customer's home: each account they belong to, with what their role lets them see."""
    from ..support.service import current_view

    view = current_view()
    # Viewing as the customer (support): only that account, as its Account Administrator sees it.
    if view is not None:
        memberships = [view.membership] if view.membership is not None else []
    else:
        memberships = current_memberships()
    if not memberships:
        abort(403)
    accounts = []
    for m in memberships:
        access = Access(m.customer, acting_user(), CUSTOMER, m.role, m)
        account = {"membership": m, "customer": m.customer, "access": access, "balance": customer_balance(m.customer)}
        if m.customer.status == Customer.SUSPENDED:
            brand = m.customer.white_label
            account["suspended"] = {
                "reason": service.suspension_reason(m.customer),
                "brand": brand,
                "phone": display_phone(brand.support_phone, brand.country),
            }
        if m.role == CustomerMembership.ACCOUNT_ADMINISTRATOR:
            account.update(
                ledger=customer_ledger(m.customer),
                numbers=list(
                    PhoneNumber.select().where(PhoneNumber.customer == m.customer_id).order_by(PhoneNumber.number)
                ),
                pbx=PbxSettings.get_or_none(PbxSettings.customer == m.customer_id),
                members=service.members(m.customer),
            )
        accounts.append(account)
    return render("accounts/home.html", accounts=accounts)


@bp.route("/<int:customer_id>/users/new", methods=["GET", "POST"])
@customer_page(Action.MANAGE_USERS)
def new_user(access: Access):
    """An Account Administrator creates or invites a user into their account."""
    return views.user_form(access)


@bp.post("/<int:customer_id>/users/<int:membership_id>/deactivate")
@customer_page(Action.MANAGE_USERS)
def deactivate_user(access: Access, membership_id: int):
    """Stop a person using the account."""
    return views.deactivate(access, membership_id)


@bp.post("/<int:customer_id>/users/<int:membership_id>/resend")
@customer_page(Action.MANAGE_USERS)
def resend_invitation(access: Access, membership_id: int):
    """Send an invitation again."""
    return views.resend(access, membership_id)


@bp.post("/<int:customer_id>/users/<int:membership_id>/reactivate")
@customer_page(Action.MANAGE_USERS)
def reactivate_user(access: Access, membership_id: int):
    """Let a deactivated person back: they get a new invitation to accept."""
    return views.reactivate(access, membership_id)


@bp.route("/<int:customer_id>/pbx", methods=["GET", "POST"])
@customer_page(Action.EDIT_PBX)
def pbx_settings(access: Access):
    """An Account Administrator edits their PBX settings."""
    return views.pbx_form(access)


# --- Numbers and plan: the wizard's picker and the white-label's plan change, paid from the balance ---


def _numbers_page(access: Access, form, status: int = 200):
    customer = access.customer
    return render(
        "accounts/numbers.html",
        customer=customer,
        form=form,
        quote=service.numbers_quote(customer, 0),
        balance=customer_balance(customer),
        choices_url=url_for("accounts.number_choices", customer_id=customer.id),
        no_numbers_message=f"No numbers are available right now. Ask {customer.white_label.display_name} for more.",
        back=views.account_url(access, "numbers"),
        status=status,
    )


@bp.route("/<int:customer_id>/numbers", methods=["GET", "POST"])
@customer_page(Action.MANAGE_NUMBERS)
def choose_numbers(access: Access):
    """An Account Administrator chooses numbers for their account with the wizard's picker: the
    plan's included numbers free, more charged to the balance."""
    customer = access.customer
    form = AccountNumbersForm(customer=customer, formdata=request.form if request.method == "POST" else None)
    if request.method != "POST" or request.form.get("action") == "refresh":
        return _numbers_page(access, form)  # the filter without JavaScript: show, do not judge
    if form.validate_on_submit():
        try:
            quote = service.choose_numbers(customer, list(form.numbers.data), access.user)
        except service.AccountProblem as problem:
            form.numbers.errors.append(problem.message)
        else:
            country = customer.white_label.country
            chosen = ", ".join(display_phone(n, country) for n in form.numbers.data)
            flash(f"{chosen} {'is' if len(form.numbers.data) == 1 else 'are'} now yours. {quote.outcome()}", "success")
            return views.back_to_account(access, "numbers")
    return _numbers_page(access, form, status=422)


@bp.post("/<int:customer_id>/numbers/choices")
@customer_page(Action.MANAGE_NUMBERS)
def number_choices(access: Access):
    """The number checkboxes filtered by what was typed, keeping every number already chosen."""
    form = AccountNumbersForm(customer=access.customer, formdata=request.form)
    return render(
        "onboarding/_number_choices.html",
        form=form,
        customer=access.customer,
        no_numbers_message=f"No numbers are available right now. Ask {access.customer.white_label.display_name} for more.",
    )


@bp.post("/<int:customer_id>/numbers/<int:number_id>/release")
@customer_page(Action.MANAGE_NUMBERS)
def release_number(access: Access, number_id: int):
    """An Account Administrator gives a number up."""
    number = PhoneNumber.get_or_none((PhoneNumber.id == number_id) & (PhoneNumber.customer == access.customer.id))
    try:
        service.release_number(access.customer, number_id, access.user)
    except service.AccountProblem as problem:
        flash(problem.message, "error")
    else:
        shown = display_phone(number.number, access.customer.white_label.country)
        flash(f"{shown} has been released: it is no longer on this account.", "success")
    return views.back_to_account(access, "numbers")


@bp.route("/<int:customer_id>/plan", methods=["GET", "POST"])
@customer_page(Action.CHANGE_PLAN)
def change_plan(access: Access):
    """An Account Administrator moves their account to another plan, prorated for the rest of the
    billing month and paid from (or credited to) the balance."""
    return views.plan_form(access)


# --- Top-up: the amount first, then the payment, whose button says the exact amount -----------


def _top_up_bounds() -> tuple[int, int]:
    return current_app.config["TOP_UP_MINIMUM"], current_app.config["ACTIVATION_MAX_OPENING_BALANCE"]


def _chosen_amount(raw: str | None) -> int | None:
    """The amount the first step chose, in minor units, if it is one that may be paid."""
    if not raw or not raw.isdigit() or len(raw) > 9:
        return None
    minimum, maximum = _top_up_bounds()
    amount = int(raw)
    return amount if minimum <= amount <= maximum else None


def _top_up_page(customer, gateway, step: str, *, status: int = 200, push_url: str | None = None, **context):
    """The top-up page at `step` ("amount" or "pay"): the page, or only its #top-up part for htmx."""
    from ..templating import wants_partial

    partial = wants_partial()
    response = render(
        "accounts/top_up.html",
        "accounts/_top_up.html",
        status=status,
        customer=customer,
        gateway=gateway,
        step=step,
        partial=partial,
        **context,
    )
    if push_url and partial:
        response.headers["HX-Push-Url"] = push_url
    if step == "pay" and not gateway.collects_card:
        from ..payments.stripe_gateway import STRIPE_CSP

        response.headers["Content-Security-Policy"] = STRIPE_CSP
    return response


def _pay_step(customer, gateway, amount: int, form, *, status: int = 200, card_error: str | None = None, push_url=None):
    from ..money import amount_as_typed

    white_label = customer.white_label
    # "Change amount" brings the amount back as this white-label's customers type it.
    typed_amount = amount_as_typed(amount, white_label.amount_locale)
    return _top_up_page(
        customer,
        gateway,
        "pay",
        status=status,
        push_url=push_url,
        form=form,
        amount=amount,
        card_error=card_error,
        typed_amount=typed_amount,
    )


def _payment_form(gateway):
    from .forms import StripeTopUpForm, TopUpPaymentForm

    form = TopUpPaymentForm() if gateway.collects_card else StripeTopUpForm()
    if request.method == "GET" or not re.fullmatch(r"[0-9a-f]{32}", form.attempt.data or ""):
        form.attempt.data = secrets.token_hex(16)
    return form


@bp.route("/<int:customer_id>/top-up", methods=["GET", "POST"])
@customer_page(Action.TOP_UP)
def top_up(access: Access):
    """An Account Administrator chooses how much to add; the card comes on the next step."""
    from ..payments import gateway_for
    from ..templating import wants_partial

    customer = access.customer
    white_label = customer.white_label
    gateway = gateway_for(white_label)
    if gateway is None:
        return render("accounts/top_up_unavailable.html", customer=customer, status=409)
    minimum, maximum = _top_up_bounds()
    form = TopUpForm(minimum=minimum, maximum=maximum, currency=white_label.currency, locale=white_label.amount_locale)
    if request.method == "GET" and request.args.get("amount"):
        form.amount.data = request.args["amount"][:20]  # "Change amount" brings back what was chosen
    if form.validate_on_submit():
        amount = form.amount_minor()
        url = url_for("accounts.top_up_pay", customer_id=customer.id, amount=amount)
        if not wants_partial() or not gateway.collects_card:
            # Stripe's payment step loads Stripe.js under its own policy: a whole page.
            return see_other(url)
        form = _payment_form(gateway)
        form.attempt.data = secrets.token_hex(16)
        return _pay_step(customer, gateway, amount, form, push_url=url)
    return _top_up_page(customer, gateway, "amount", form=form, status=form_status(form))


@bp.route("/<int:customer_id>/top-up/pay", methods=["GET", "POST"])
@customer_page(Action.TOP_UP)
def top_up_pay(access: Access):
    """The payment step: the card, and a button that says exactly what will be charged."""
    from ..payments import gateway_for
    from ..templating import format_money
    from .payments import TopUpRefused, confirm_stripe_top_up
    from .payments import top_up as take_payment

    customer = access.customer
    gateway = gateway_for(customer.white_label)
    if gateway is None:
        return render("accounts/top_up_unavailable.html", customer=customer, status=409)
    amount = _chosen_amount(request.form.get("amount") if request.method == "POST" else request.args.get("amount"))
    if amount is None:  # no amount chosen, or not one that may be paid: choose it first
        return see_other(url_for("accounts.top_up", customer_id=customer.id))
    form = _payment_form(gateway)
    if request.method != "POST":
        return _pay_step(customer, gateway, amount, form)
    actor = access.user
    card_error = None
    if form.validate_on_submit():
        try:
            if gateway.collects_card:
                payment = take_payment(customer, actor, amount=amount, card=form.card(), attempt=form.attempt.data)
            elif not form.payment_intent.data:
                raise TopUpRefused(
                    "Enter your card details. Card payments need JavaScript turned on.", new_attempt=False
                )
            else:
                payment = confirm_stripe_top_up(
                    customer,
                    actor,
                    amount=amount,
                    attempt=form.attempt.data,
                    payment_intent=form.payment_intent.data[:255],
                )
        except TopUpRefused as refused:
            if gateway.collects_card:
                form.card_number.errors.append(refused.message)
            else:
                card_error = refused.message
            if refused.new_attempt:
                form.attempt.data = secrets.token_hex(16)
        else:
            flash(f"{format_money(payment.amount, payment.currency)} has been added to your balance.", "success")
            return see_other(url_for("accounts.home") + f"#balance-{customer.id}")
    form.forget_card()
    return _pay_step(customer, gateway, amount, form, status=422, card_error=card_error)


@bp.post("/<int:customer_id>/top-up/intent")
@customer_page(Action.TOP_UP)
def top_up_intent(access: Access):
    """Stripe: create the top-up's PaymentIntent, which Stripe.js then confirms in the browser."""
    from ..payments import gateway_for
    from .payments import TopUpRefused, start_stripe_top_up

    customer = access.customer
    gateway = gateway_for(customer.white_label)
    if gateway is None or gateway.collects_card:
        abort(404)
    amount = _chosen_amount(request.form.get("amount"))
    if amount is None:
        return see_other(url_for("accounts.top_up", customer_id=customer.id))
    form = _payment_form(gateway)
    try:
        intent_id, client_secret = start_stripe_top_up(customer, access.user, amount=amount, attempt=form.attempt.data)
    except TopUpRefused as refused:
        response = render(
            "accounts/_top_up_stripe_fields.html",
            status=422,
            customer=customer,
            form=form,
            amount=amount,
            card_error=refused.message,
        )
        return response
    response = make_response("", 204)
    # stripe-activation.js hears this event and confirms the card with Stripe.js.
    response.headers["HX-Trigger"] = json.dumps(
        {"stripe-confirm": {"clientSecret": client_secret, "intent": intent_id}}
    )
    return response
