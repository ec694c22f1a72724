"""Form handling shared by both sides of an account: the white-label's /customers/<id>/...
pages and the customer's own /account/<id>/... pages differ only in who may use them and
where they lead afterwards."""
from __future__ import annotations

from typing import Callable

from flask import flash
from htmx_flask import request

from ..models import Customer, PbxSettings, PhoneNumber, User
from ..templating import render
from . import service
from .forms import PbxSettingsForm, UserForm


def user_form(customer: Customer, actor: User, *, action: str, cancel: str, done: Callable):
    """Show and handle "Create new users"; `done()` gives the response after success."""
    form = UserForm(extension_length=service.extension_length(customer))
    status = 200
    if form.validate_on_submit():
        try:
            service.add_user(
                customer, actor, first_name=form.first_name.data.strip(), last_name=form.last_name.data.strip(),
                email=form.email.data, extension=form.extension.data, role=form.role.data,
                invite=form.setup.data == "invite", password=form.password.data,
            )
        except service.AccountProblem as problem:
            form[problem.field or "email"].errors.append(problem.message)
            status = 422
        else:
            verb = "invited" if form.setup.data == "invite" else "added"
            flash(f"{form.first_name.data} {form.last_name.data} has been {verb}.", "success")
            return done()
    elif form.is_submitted():
        status = 422
    return render("manage/user_form.html", customer=customer, form=form, status=status, action=action, cancel=cancel)


def pbx_form(customer: Customer, actor: User, *, done: Callable, back: str):
    """Show and handle the PBX settings form; `done()` gives the response after saving."""
    numbers = [n.number for n in PhoneNumber.select().where(PhoneNumber.customer == customer.id)]
    current = PbxSettings.get_or_none(PbxSettings.customer == customer.id)
    form = PbxSettingsForm(obj=current, numbers=numbers, country=customer.white_label.country)
    if request.method == "GET" and current:
        form.extension_length.data = str(current.extension_length)
    if form.validate_on_submit():
        service.save_pbx_settings(
            customer, actor, time_zone=form.time_zone.data, extension_length=int(form.extension_length.data),
            default_caller_id=form.default_caller_id.data, voicemail_to_email=form.voicemail_to_email.data,
            call_recording=form.call_recording.data,
        )
        flash("PBX settings saved.", "success")
        return done()
    return render("manage/pbx_form.html", customer=customer, form=form, back=back,
                  status=422 if form.is_submitted() else 200)


def deactivate(customer: Customer, membership, actor: User) -> None:
    """Deactivate a member, flashing what happened."""
    try:
        service.deactivate_user(customer, membership, actor)
        flash(f"{membership.display_name} can no longer use this account.", "success")
    except service.AccountProblem as problem:
        flash(problem.message, "error")


def resend(customer: Customer, membership, actor: User) -> None:
    """Send an invited person a new invitation, flashing what happened."""
    try:
        service.resend_invitation(customer, membership, actor)
        flash(f"A new invitation is on its way to {membership.user.email}. Older links no longer work.", "success")
    except service.AccountProblem as problem:
        flash(problem.message, "error")


def reactivate(customer: Customer, membership, actor: User) -> None:
    """Let a deactivated person back (by a new invitation), flashing what happened."""
    try:
        invited = service.reactivate_user(customer, membership, actor)
    except service.AccountProblem as problem:
        flash(problem.message, "error")
        return
    if invited:
        flash(f"A new invitation is on its way to {membership.user.email}. "
              f"{membership.display_name} can use this account again once they accept it.", "success")
    else:
        flash(f"{membership.display_name} can use this account again.", "success")
