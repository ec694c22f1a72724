"""What both sides of an account share: how a view finds its account and checks the permission
(the decorators), where it leads afterwards, and the forms both sides show (users, PBX
settings). The white-label's /customers/<id>/... pages (white_label_routes.py) and the
customer's own /account/<id>/... pages (routes.py) differ only in who may use them (see
permissions.py) and where they lead."""

from __future__ import annotations

from functools import wraps

from flask import flash, url_for
from flask_login import login_required
from htmx_flask import request
from wtforms import SelectChoice

from ..billing import customer_billing_period, quote_plan_change
from ..forms import form_status
from ..http import see_other
from ..ledger import customer_balance
from ..models import Customer, CustomerMembership, LedgerEntry, PbxSettings, PhoneNumber, Plan, WhiteLabelMembership
from ..security import white_label_required
from ..templating import render
from ..tenancy import scoped
from . import service
from .forms import PbxSettingsForm, PlanForm, UserForm
from .permissions import STAFF_ACTIONS, WHITE_LABEL, Access, Action, customer_access, white_label_access


def customer_page(action: Action):
    """For a view of the customer's own pages: the signed-in person's access to <customer_id>,
    refused unless it allows `action`; the view receives it as its first argument."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(customer_id: int, **kwargs):
            access = customer_access(customer_id)
            access.require(action)
            return view(access, **kwargs)

        wrapped.account_action = action
        return wrapped

    return decorate


def white_label_page(action: Action):
    """For a view of the white-label's pages about one of its customers: as customer_page, for the
    signed-in white-label member (who must be an administrator for anything but viewing)."""

    def decorate(view):
        @wraps(view)
        @white_label_required
        def wrapped(customer_id: int, **kwargs):
            access = white_label_access(customer_id)
            access.require(action)
            return view(access, **kwargs)

        wrapped.account_action = action
        # The least role the view accepts, read by the generated isolation checks.
        wrapped.required_role = (
            WhiteLabelMembership.STAFF if action in STAFF_ACTIONS else WhiteLabelMembership.ADMINISTRATOR
        )
        return wrapped

    return decorate


def account_url(access: Access, anchor: str = "") -> str:
    """The account's page on this side, at one of its sections."""
    if access.side == WHITE_LABEL:
        return url_for("customers.show", customer_id=access.customer.id) + (f"#{anchor}" if anchor else "")
    return url_for("accounts.home") + (f"#{anchor}-{access.customer.id}" if anchor else "")


def back_to_account(access: Access, anchor: str = ""):
    """After a change: back to the account's page (303; htmx loads it whole)."""
    return see_other(account_url(access, anchor))


def member_or_404(access: Access, membership_id: int) -> CustomerMembership:
    return service.member_or_404(access.customer, membership_id)


def user_form(access: Access):
    """Show and handle "Add a user"."""
    customer = access.customer
    form = UserForm(extension_length=service.extension_length(customer))
    if form.validate_on_submit():
        try:
            service.add_user(
                customer,
                access.user,
                first_name=form.first_name.data.strip(),
                last_name=form.last_name.data.strip(),
                email=form.email.data,
                extension=form.extension.data,
                role=form.role.data,
                invite=form.setup.data == "invite",
                password=form.password.data,
            )
        except service.AccountProblem as problem:
            form[problem.field or "email"].errors.append(problem.message)
        else:
            verb = "invited" if form.setup.data == "invite" else "added"
            flash(f"{form.first_name.data} {form.last_name.data} has been {verb}.", "success")
            return back_to_account(access, "users")
    return render(
        "manage/user_form.html",
        customer=customer,
        form=form,
        status=form_status(form),
        action=url_for(f"{access.blueprint}.new_user", customer_id=customer.id),
        cancel=account_url(access, "users"),
    )


def pbx_form(access: Access):
    """Show and handle the PBX settings form."""
    customer = access.customer
    numbers = [n.number for n in PhoneNumber.select().where(PhoneNumber.customer == customer.id)]
    current = PbxSettings.get_or_none(PbxSettings.customer == customer.id)
    form = PbxSettingsForm(obj=current, numbers=numbers, country=customer.white_label.country)
    if request.method == "GET" and current:
        form.extension_length.data = str(current.extension_length)
    if form.validate_on_submit():
        service.save_pbx_settings(
            customer,
            access.user,
            time_zone=form.time_zone.data,
            extension_length=int(form.extension_length.data),
            default_caller_id=form.default_caller_id.data,
            voicemail_to_email=form.voicemail_to_email.data,
            call_recording=form.call_recording.data,
        )
        flash("PBX settings saved.", "success")
        return back_to_account(access, "pbx")
    return render(
        "manage/pbx_form.html", customer=customer, form=form, back=account_url(access, "pbx"), status=form_status(form)
    )


def plan_form(access: Access):
    """Show and handle "Change plan": each plan says what it would charge or credit now, to the
    white-label's account when the white-label runs the account, else to the customer's balance."""
    customer = access.customer
    payer = LedgerEntry.WHITE_LABEL if access.side == WHITE_LABEL else LedgerEntry.CUSTOMER
    plans = list(scoped(Plan, of=customer.white_label_id).where(Plan.active).order_by(Plan.sort_order))
    form = PlanForm(data={"plan": str(customer.plan_id)} if request.method == "GET" else None)
    form.plan.choices = [SelectChoice(str(p.id), p.name) for p in plans]
    if form.validate_on_submit():
        plan = next(p for p in plans if str(p.id) == form.plan.data)
        try:
            quote = service.change_plan(customer, plan, access.user, payer=payer, quoted=form.quoted())
        except service.AccountProblem as problem:
            form.plan.errors.append(problem.message)
        else:
            whose = customer.business_name if access.side == WHITE_LABEL else "Your account"
            if quote is None:
                flash(f"{whose} is already on {plan.name}: nothing changed.", "info")
            else:
                flash(f"{whose} is now on {plan.name}. {quote.outcome(payer)}", "success")
            return back_to_account(access, "" if access.side == WHITE_LABEL else "balance")
    customer = Customer.get_by_id(customer.id)  # as it is now, if someone else changed it meanwhile
    quotes = [quote_plan_change(customer, plan) for plan in plans]
    period = customer_billing_period(customer)
    form.show_quote(customer.plan_id, period.today)
    return render(
        "manage/plan_form.html",
        customer=customer,
        form=form,
        quotes=quotes,
        period=period,
        payer=payer,
        balance=customer_balance(customer) if payer == LedgerEntry.CUSTOMER else None,
        back=account_url(access),
        status=form_status(form),
    )


def deactivate(access: Access, membership_id: int):
    """Stop a person using the account (their history stays)."""
    membership = member_or_404(access, membership_id)
    if access.membership is not None and membership.id == access.membership.id:
        flash("You cannot deactivate yourself.", "error")
        return back_to_account(access, "users")
    try:
        service.deactivate_user(access.customer, membership, access.user)
        flash(f"{membership.display_name} can no longer use this account.", "success")
    except service.AccountProblem as problem:
        flash(problem.message, "error")
    return back_to_account(access, "users")


def resend(access: Access, membership_id: int):
    """Send an invited person a new invitation; the older link stops working."""
    membership = member_or_404(access, membership_id)
    try:
        service.resend_invitation(access.customer, membership, access.user)
        flash(f"A new invitation is on its way to {membership.user.email}. Older links no longer work.", "success")
    except service.AccountProblem as problem:
        flash(problem.message, "error")
    return back_to_account(access, "users")


def reactivate(access: Access, membership_id: int):
    """Let a deactivated person back (by a new invitation to accept)."""
    membership = member_or_404(access, membership_id)
    try:
        invited = service.reactivate_user(access.customer, membership, access.user)
    except service.AccountProblem as problem:
        flash(problem.message, "error")
        return back_to_account(access, "users")
    if invited:
        flash(
            f"A new invitation is on its way to {membership.user.email}. "
            f"{membership.display_name} can use this account again once they accept it.",
            "success",
        )
    else:
        flash(f"{membership.display_name} can use this account again.", "success")
    return back_to_account(access, "users")
