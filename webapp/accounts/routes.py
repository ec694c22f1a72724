import secrets

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..ledger import customer_balance
from ..models import Customer, CustomerMembership, PbxSettings, PhoneNumber, Payment
from ..templating import render
from . import bp, service, views
from .forms import TopUpForm

# Pages a person who must change their password may still open.
PASSWORD_CHANGE_EXEMPT = {"profile.show", "profile.change_password", "profile.sign_out_others", "auth.logout",
                          "static", "branding.css"}


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


def _account(customer_id: int, *, admin: bool = True) -> tuple[Customer, CustomerMembership]:
    """The customer, if the signed-in person is in it (as Account Administrator when `admin`).
    Anything else is a 404: a customer's people never learn of other customers."""
    membership = CustomerMembership.get_or_none(
        (CustomerMembership.user == current_user.id) & (CustomerMembership.customer == customer_id)
        & (CustomerMembership.active == True)  # noqa: E712
    )
    if membership is None:
        abort(404)
    if admin and membership.role != CustomerMembership.ACCOUNT_ADMINISTRATOR:
        abort(403)
    return Customer.get_by_id(customer_id), membership


def _home(customer: Customer, anchor: str = ""):
    return redirect(url_for("accounts.home") + (f"#{anchor}-{customer.id}" if anchor else ""), code=303)


@bp.get("/")
@login_required
def home():
    """The customer's home: each account they belong to, with what their role lets them see."""
    from ..manage.panels import customer_ledger

    memberships = current_memberships()
    if not memberships:
        abort(403)
    accounts = []
    for m in memberships:
        account = {"membership": m, "customer": m.customer, "balance": customer_balance(m.customer)}
        if m.role == CustomerMembership.ACCOUNT_ADMINISTRATOR:
            account.update(
                ledger=customer_ledger(m.customer),
                numbers=list(PhoneNumber.select().where(PhoneNumber.customer == m.customer_id).order_by(PhoneNumber.number)),
                pbx=PbxSettings.get_or_none(PbxSettings.customer == m.customer_id),
                members=service.members(m.customer),
            )
        accounts.append(account)
    return render("accounts/home.html", accounts=accounts)


@bp.route("/<int:customer_id>/users/new", methods=["GET", "POST"])
@login_required
def new_user(customer_id: int):
    """An Account Administrator creates or invites a user into their account."""
    customer, _ = _account(customer_id)
    return views.user_form(customer, current_user._get_current_object(),
                           action=url_for("accounts.new_user", customer_id=customer.id),
                           cancel=url_for("accounts.home"), done=lambda: _home(customer, "users"))


def _member_or_404(customer: Customer, membership_id: int) -> CustomerMembership:
    membership = CustomerMembership.get_or_none(
        (CustomerMembership.id == membership_id) & (CustomerMembership.customer == customer.id))
    if membership is None:
        abort(404)
    return membership


@bp.post("/<int:customer_id>/users/<int:membership_id>/deactivate")
@login_required
def deactivate_user(customer_id: int, membership_id: int):
    """Stop a person using the account."""
    customer, mine = _account(customer_id)
    membership = _member_or_404(customer, membership_id)
    if membership.id == mine.id:
        flash("You cannot deactivate yourself.", "error")
        return _home(customer, "users")
    views.deactivate(customer, membership, current_user._get_current_object())
    return _home(customer, "users")


@bp.post("/<int:customer_id>/users/<int:membership_id>/resend")
@login_required
def resend_invitation(customer_id: int, membership_id: int):
    """Send an invitation again."""
    customer, _ = _account(customer_id)
    views.resend(customer, _member_or_404(customer, membership_id), current_user._get_current_object())
    return _home(customer, "users")


@bp.post("/<int:customer_id>/users/<int:membership_id>/reactivate")
@login_required
def reactivate_user(customer_id: int, membership_id: int):
    """Let a deactivated person back: they get a new invitation to accept."""
    customer, _ = _account(customer_id)
    views.reactivate(customer, _member_or_404(customer, membership_id), current_user._get_current_object())
    return _home(customer, "users")


@bp.route("/<int:customer_id>/pbx", methods=["GET", "POST"])
@login_required
def pbx_settings(customer_id: int):
    """An Account Administrator edits their PBX settings."""
    customer, _ = _account(customer_id)
    return views.pbx_form(customer, current_user._get_current_object(), done=lambda: _home(customer, "pbx"),
                          back=url_for("accounts.home"))


@bp.route("/<int:customer_id>/top-up", methods=["GET", "POST"])
@login_required
def top_up(customer_id: int):
    """An Account Administrator adds money to the balance by card."""
    from ..payments import gateway_for
    from .payments import TopUpRefused, top_up as take_payment

    customer, _ = _account(customer_id)
    white_label = customer.white_label
    gateway = gateway_for(white_label)
    if gateway is None or not gateway.collects_card:
        return render("accounts/top_up_unavailable.html", customer=customer, status=409)
    form = TopUpForm(minimum=current_app.config["TOP_UP_MINIMUM"], maximum=current_app.config["ACTIVATION_MAX_OPENING_BALANCE"],
                     currency=white_label.currency)
    if request.method == "GET" or not form.attempt.data or len(form.attempt.data) != 32:
        form.attempt.data = secrets.token_hex(16)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                payment: Payment = take_payment(customer, current_user._get_current_object(), amount=form.amount_minor(),
                                                card=form.card(), attempt=form.attempt.data)
            except TopUpRefused as refused:
                form.card_number.errors.append(refused.message)
                if refused.new_attempt:
                    form.attempt.data = secrets.token_hex(16)
            else:
                from ..templating import format_money

                flash(f"{format_money(payment.amount, payment.currency)} has been added to your balance.", "success")
                return _home(customer, "balance")
        status = 422
        form.forget_card()
    return render("accounts/top_up.html", customer=customer, form=form, gateway=gateway, status=status)
