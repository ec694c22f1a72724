from flask import abort, flash, redirect, url_for
from flask_login import current_user
from htmx_flask import request
from wtforms import SelectChoice

from ..accounts import service, views
from ..accounts.forms import AssignNumberForm, PlanForm, StatusForm
from ..billing import customer_billing_period, quote_plan_change
from ..models import Customer, CustomerMembership, PhoneNumber, Plan
from ..security import admin_required
from ..templating import render
from ..tenancy import get_scoped_or_404
from . import bp


def _managed(customer_id: int) -> Customer:
    """A customer this white-label administers (option 2); others are the customer's to run."""
    customer = get_scoped_or_404(Customer, customer_id)
    if customer.administered_by != Customer.BY_WHITE_LABEL:
        abort(403)
    if customer.status not in (Customer.ACTIVE, Customer.SUSPENDED):
        abort(409)
    return customer


def _back(customer: Customer, anchor: str = ""):
    return redirect(url_for("customers.show", customer_id=customer.id) + (f"#{anchor}" if anchor else ""), code=303)


def _actor():
    return current_user._get_current_object()


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user(customer_id: int):
    """Create new users: invite them, or set a temporary password they must change."""
    customer = _managed(customer_id)
    back = url_for("customers.show", customer_id=customer.id) + "#users"
    return views.user_form(customer, _actor(), action=url_for("manage.new_user", customer_id=customer.id),
                           cancel=back, done=lambda: _back(customer, "users"))


def _membership_or_404(customer: Customer, membership_id: int) -> CustomerMembership:
    membership = CustomerMembership.get_or_none(
        (CustomerMembership.id == membership_id) & (CustomerMembership.customer == customer.id)
    )
    if membership is None:
        abort(404)
    return membership


@bp.post("/users/<int:membership_id>/deactivate")
@admin_required
def deactivate_user(customer_id: int, membership_id: int):
    """Stop a person using this account (their history stays)."""
    customer = _managed(customer_id)
    views.deactivate(customer, _membership_or_404(customer, membership_id), _actor())
    return _back(customer, "users")


@bp.post("/users/<int:membership_id>/resend")
@admin_required
def resend_invitation(customer_id: int, membership_id: int):
    """Send the invitation again; the older link stops working."""
    customer = _managed(customer_id)
    views.resend(customer, _membership_or_404(customer, membership_id), _actor())
    return _back(customer, "users")


@bp.post("/users/<int:membership_id>/reactivate")
@admin_required
def reactivate_user(customer_id: int, membership_id: int):
    """Let a deactivated person back: they get a new invitation to accept."""
    customer = _managed(customer_id)
    views.reactivate(customer, _membership_or_404(customer, membership_id), _actor())
    return _back(customer, "users")


@bp.post("/numbers")
@admin_required
def assign_number(customer_id: int):
    """Give the customer a number from the white-label's inventory."""
    customer = _managed(customer_id)
    form = AssignNumberForm()
    form.number.choices = [SelectChoice(str(n.id), n.number) for n in PhoneNumber.select().where(
        (PhoneNumber.white_label == customer.white_label_id) & PhoneNumber.customer.is_null())]
    if not form.validate_on_submit():
        flash("Choose one of the available numbers.", "error")
        return _back(customer, "numbers")
    try:
        number = service.assign_number(customer, int(form.number.data), _actor())
        flash(f"{number.number} is now on {customer.business_name}.", "success")
    except service.AccountProblem as problem:
        flash(problem.message, "error")
    return _back(customer, "numbers")


@bp.post("/numbers/<int:number_id>/release")
@admin_required
def release_number(customer_id: int, number_id: int):
    """Return a number to the inventory."""
    customer = _managed(customer_id)
    try:
        service.release_number(customer, number_id, _actor())
        flash("The number is back in your inventory.", "success")
    except service.AccountProblem as problem:
        flash(problem.message, "error")
    return _back(customer, "numbers")


@bp.route("/pbx", methods=["GET", "POST"])
@admin_required
def pbx_settings(customer_id: int):
    """Edit the customer's PBX settings."""
    customer = _managed(customer_id)
    return views.pbx_form(customer, _actor(), done=lambda: _back(customer, "pbx"),
                          back=url_for("customers.show", customer_id=customer.id) + "#pbx")


@bp.route("/plan", methods=["GET", "POST"])
@admin_required
def change_plan(customer_id: int):
    """Move the customer to another plan, prorated for the rest of its billing month; the page
    says what each plan would charge or credit to the white-label account before you confirm."""
    customer = _managed(customer_id)
    plans = list(Plan.select().where((Plan.white_label == customer.white_label_id) & Plan.active).order_by(Plan.sort_order))
    form = PlanForm(data={"plan": str(customer.plan_id)} if request.method == "GET" else None)
    form.plan.choices = [SelectChoice(str(p.id), p.name) for p in plans]
    status = 200
    if form.validate_on_submit():
        plan = next(p for p in plans if str(p.id) == form.plan.data)
        try:
            quote = service.change_plan(customer, plan, _actor(), quoted=form.quoted())
        except service.AccountProblem as problem:
            form.plan.errors.append(problem.message)
            status = 422
        else:
            if quote is None:
                flash(f"{customer.business_name} is already on {plan.name}: nothing changed.", "info")
            else:
                flash(f"{customer.business_name} is now on {plan.name}. {quote.outcome()}", "success")
            return _back(customer)
    elif form.is_submitted():
        status = 422
    customer = Customer.get_by_id(customer.id)  # as it is now, if someone else changed it meanwhile
    quotes = [quote_plan_change(customer, plan) for plan in plans]
    period = customer_billing_period(customer)
    form.show_quote(customer.plan_id, period.today)
    return render("manage/plan_form.html", customer=customer, form=form, quotes=quotes, period=period, status=status)


@bp.route("/status", methods=["GET", "POST"])
@admin_required
def change_status(customer_id: int):
    """Suspend an active customer or reactivate a suspended one, with a reason."""
    customer = get_scoped_or_404(Customer, customer_id)
    if customer.status not in (Customer.ACTIVE, Customer.SUSPENDED):
        abort(409)
    suspend = customer.status == Customer.ACTIVE
    form = StatusForm()
    if form.validate_on_submit():
        try:
            service.set_status(customer, _actor(), suspend=suspend, reason=form.reason.data.strip())
            flash(f"{customer.business_name} has been {'suspended' if suspend else 'reactivated'}.", "success")
        except service.AccountProblem as problem:
            flash(problem.message, "error")
        return _back(customer)
    return render("manage/status_form.html", customer=customer, form=form, suspend=suspend,
                  status=422 if form.is_submitted() else 200)


@bp.route("/hand-over", methods=["GET", "POST"])
@admin_required
def hand_over(customer_id: int):
    """Hand a white-label-administered account to the customer (they activate it by email)."""
    customer = _managed(customer_id)
    if customer.status != Customer.ACTIVE:
        abort(409)
    if request.method == "POST":
        service.hand_over(customer, _actor())
        flash(f"An activation email is on its way to {customer.contact_email}. When they activate, "
              "they administer the account and your Account Administrator role ends.", "success")
        return _back(customer)
    return render("manage/hand_over.html", customer=customer)
