"""The white-label's pages about one of its customers' accounts (/customers/<id>/...): users,
numbers, PBX settings and plan of the accounts it administers; status and hand-over. Who may
do what is permissions.py's; the forms both sides share are in views.py."""

from flask import flash
from htmx_flask import request
from wtforms import SelectChoice

from ..billing import customer_billing_period, quote_plan_change
from ..forms import form_status
from ..models import Customer, PhoneNumber, Plan
from ..phones import display_phone
from ..templating import render
from ..tenancy import scoped
from . import service, views
from . import white_label_bp as bp
from .forms import AssignNumberForm, PlanForm, StatusForm
from .permissions import Access, Action
from .views import back_to_account, white_label_page


@bp.route("/users/new", methods=["GET", "POST"])
@white_label_page(Action.MANAGE_USERS)
def new_user(access: Access):
    """Create new users: invite them, or set a temporary password they must change."""
    return views.user_form(access)


@bp.post("/users/<int:membership_id>/deactivate")
@white_label_page(Action.MANAGE_USERS)
def deactivate_user(access: Access, membership_id: int):
    """Stop a person using this account (their history stays)."""
    return views.deactivate(access, membership_id)


@bp.post("/users/<int:membership_id>/resend")
@white_label_page(Action.MANAGE_USERS)
def resend_invitation(access: Access, membership_id: int):
    """Send the invitation again; the older link stops working."""
    return views.resend(access, membership_id)


@bp.post("/users/<int:membership_id>/reactivate")
@white_label_page(Action.MANAGE_USERS)
def reactivate_user(access: Access, membership_id: int):
    """Let a deactivated person back: they get a new invitation to accept."""
    return views.reactivate(access, membership_id)


@bp.post("/numbers")
@white_label_page(Action.MANAGE_NUMBERS)
def assign_number(access: Access):
    """Give the customer a number from the white-label's inventory."""
    customer = access.customer
    form = AssignNumberForm()
    form.number.choices = [
        SelectChoice(str(n.id), n.number) for n in scoped(PhoneNumber).where(PhoneNumber.customer.is_null())
    ]
    if not form.validate_on_submit():
        flash("Choose one of the available numbers.", "error")
        return back_to_account(access, "numbers")
    try:
        number = service.assign_number(customer, int(form.number.data), access.user)
        shown = display_phone(number.number, customer.white_label.country)
        flash(f"{shown} is now on {customer.business_name}.", "success")
    except service.AccountProblem as problem:
        flash(problem.message, "error")
    return back_to_account(access, "numbers")


@bp.post("/numbers/<int:number_id>/release")
@white_label_page(Action.MANAGE_NUMBERS)
def release_number(access: Access, number_id: int):
    """Return a number to the inventory."""
    try:
        service.release_number(access.customer, number_id, access.user)
        flash("The number is back in your inventory.", "success")
    except service.AccountProblem as problem:
        flash(problem.message, "error")
    return back_to_account(access, "numbers")


@bp.route("/pbx", methods=["GET", "POST"])
@white_label_page(Action.EDIT_PBX)
def pbx_settings(access: Access):
    """Edit the customer's PBX settings."""
    return views.pbx_form(access)


@bp.route("/plan", methods=["GET", "POST"])
@white_label_page(Action.CHANGE_PLAN)
def change_plan(access: Access):
    """Move the customer to another plan, prorated for the rest of its billing month; the page
    says what each plan would charge or credit to the white-label account before you confirm."""
    customer = access.customer
    plans = list(scoped(Plan).where(Plan.active).order_by(Plan.sort_order))
    form = PlanForm(data={"plan": str(customer.plan_id)} if request.method == "GET" else None)
    form.plan.choices = [SelectChoice(str(p.id), p.name) for p in plans]
    if form.validate_on_submit():
        plan = next(p for p in plans if str(p.id) == form.plan.data)
        try:
            quote = service.change_plan(customer, plan, access.user, quoted=form.quoted())
        except service.AccountProblem as problem:
            form.plan.errors.append(problem.message)
        else:
            if quote is None:
                flash(f"{customer.business_name} is already on {plan.name}: nothing changed.", "info")
            else:
                flash(f"{customer.business_name} is now on {plan.name}. {quote.outcome()}", "success")
            return back_to_account(access)
    customer = Customer.get_by_id(customer.id)  # as it is now, if someone else changed it meanwhile
    quotes = [quote_plan_change(customer, plan) for plan in plans]
    period = customer_billing_period(customer)
    form.show_quote(customer.plan_id, period.today)
    return render(
        "manage/plan_form.html", customer=customer, form=form, quotes=quotes, period=period, status=form_status(form)
    )


@bp.route("/status", methods=["GET", "POST"])
@white_label_page(Action.CHANGE_STATUS)
def change_status(access: Access):
    """Suspend an active customer or reactivate a suspended one, with a reason."""
    customer = access.customer
    suspend = customer.status == Customer.ACTIVE
    form = StatusForm()
    if form.validate_on_submit():
        try:
            service.set_status(customer, access.user, suspend=suspend, reason=form.reason.data.strip())
            flash(f"{customer.business_name} has been {'suspended' if suspend else 'reactivated'}.", "success")
        except service.AccountProblem as problem:
            flash(problem.message, "error")
        return back_to_account(access)
    return render("manage/status_form.html", customer=customer, form=form, suspend=suspend, status=form_status(form))


@bp.route("/hand-over", methods=["GET", "POST"])
@white_label_page(Action.HAND_OVER)
def hand_over(access: Access):
    """Hand a white-label-administered account to the customer (they activate it by email)."""
    customer = access.customer
    if request.method == "POST":
        service.hand_over(customer, access.user)
        flash(
            f"An activation email is on its way to {customer.contact_email}. When they activate, "
            "they administer the account and your Account Administrator role ends.",
            "success",
        )
        return back_to_account(access)
    return render("manage/hand_over.html", customer=customer)
