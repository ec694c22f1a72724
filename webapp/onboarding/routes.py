"""The wizard's HTTP side: each view finds the wizard, asks it, and answers with a page, a
partial for htmx, or a redirect. What a step means lives in wizard.py and options.py."""

import re
import secrets

from flask import abort, flash, redirect, session, url_for
from flask_login import current_user
from htmx_flask import request

from ..extensions import db
from ..http import see_other
from ..models import ActivationToken, CustomerDraft
from ..security import acting_user, admin_required
from ..templating import render, wants_partial
from ..tenancy import current_white_label, scoped
from . import bp
from .kept import take_kept
from .options import option_of
from .service import StepProblem, submit
from .steps import ADDRESS, CONTACT, NUMBERS, REVIEW, WHO
from .templates import template_of, wizard_answers
from .wizard import DISCARD_AGES, Wizard, discard_drafts_older_than


def _wizard_or_404(key: str) -> Wizard:
    """The signed-in administrator's own draft in their white-label; anything else is a 404."""
    white_label = current_white_label()
    draft = (
        scoped(CustomerDraft, of=white_label)
        .where((CustomerDraft.key == key) & (CustomerDraft.created_by == current_user.id))
        .first()
    )
    if draft is None:
        abort(404)
    return Wizard(white_label, draft)


def _step_url(wizard: Wizard, step, **params) -> str:
    if wizard.draft is None:
        return url_for("onboarding.start")
    return url_for("onboarding.step", key=wizard.key, slug=step.slug, **params)


def _render_step(wizard: Wizard, step, form, status=200, push_url: str | None = None, attempt: str | None = None):
    """The wizard page, or just the #wizard partial for htmx, for one step (`attempt`: the first
    step's, before there is a draft)."""
    returning = request.args.get("return") == "review"
    response = render(
        "onboarding/wizard.html",
        "onboarding/_wizard.html",
        status=status,
        step=step,
        form=form,
        action_url=_step_url(wizard, step, **({"return": "review"} if returning else {})),
        partial=wants_partial(),
        attempt=attempt,
        **wizard.page(step, change_url=lambda s: _step_url(wizard, s, **{"return": "review"})),
    )
    if push_url and wants_partial():
        response.headers["HX-Push-Url"] = push_url
    return response


def _go_to(wizard: Wizard, step):
    """After a successful POST: htmx gets the next step in place, a plain form a 303."""
    url = _step_url(wizard, step)
    if not wants_partial():
        return redirect(url, code=303)
    return _render_step(wizard, step, wizard.form(step), push_url=url)


@bp.get("/")
@admin_required
def start():
    """The wizard's first step: who will administer the new customer's account."""
    attempt = request.args.get("attempt", "")
    if not ATTEMPT.fullmatch(attempt):
        # Each first-step page gets its own address: the browser's Back from step 2 comes back
        # to this one (pages are never cached), and choosing again answers the draft it started.
        # A template asked for (?template=ID) goes along.
        template_id = request.args.get("template", "")
        extra = {"template": template_id} if template_id else {}
        return redirect(url_for("onboarding.start", attempt=secrets.token_urlsafe(12), **extra), code=303)
    started = _draft_of_attempt(attempt) or Wizard(current_white_label())
    # Answers typed before a sign-in interrupted them (kept.py) come back filled in.
    kept = take_kept(request.path)
    form = started.form(WHO, kept) if kept else started.form(WHO)
    wizard = Wizard(started.white_label, option=started.option)
    # "Start a customer from this template" (Settings > Templates), or a template chosen on this
    # step (htmx asks again as the select changes): the template's choice of who administers.
    template = template_of(wizard.white_label, request.args.get("template"))
    if template is not None and "template" in form:
        form.template.data = str(template.id)
        if form.options.get(template.administered_by):
            form.administered_by.data = template.administered_by
            wizard = Wizard(wizard.white_label, option=form.options[template.administered_by])
    return _render_step(wizard, WHO, form, attempt=attempt)


@bp.post("/")
@admin_required
def create_draft():
    """Answer the first step; the server-side draft starts here. The first step's page carries an
    attempt key: answering the same page again (the browser's Back to it, then another choice)
    answers the draft it started instead of starting another."""
    wizard = Wizard(current_white_label())
    attempt = request.form.get("attempt", "")
    if not ATTEMPT.fullmatch(attempt):
        attempt = secrets.token_urlsafe(12)
    form = wizard.form(WHO, request.form)
    if not form.validate():
        chosen = form.chosen()
        return _render_step(
            Wizard(wizard.white_label, option=chosen) if chosen else wizard, WHO, form, status=422, attempt=attempt
        )
    started = _draft_of_attempt(attempt)
    if started is not None:
        outcome = started.answer(WHO, request.form, "continue")
        return _go_to(started, outcome.go_to or started.first_incomplete())
    template = form.chosen_template()
    answers = wizard_answers(template) if template is not None else None
    wizard = Wizard.begin(wizard.white_label, acting_user(), form.chosen(), answers=answers)
    # Remembered in the session (the last few only): which draft each first-step page started.
    session["wizard_attempts"] = {**dict(list(session.get("wizard_attempts", {}).items())[-4:]), attempt: wizard.key}
    return _go_to(wizard, wizard.steps[1])


ATTEMPT = re.compile(r"[A-Za-z0-9_-]{16}")


def _draft_of_attempt(attempt: str) -> Wizard | None:
    """The unfinished draft this first-step page started, if it did and it is still there."""
    key = session.get("wizard_attempts", {}).get(attempt)
    if not key:
        return None
    white_label = current_white_label()
    draft = (
        scoped(CustomerDraft, of=white_label)
        .where(
            (CustomerDraft.key == key)
            & (CustomerDraft.created_by == current_user.id)
            & CustomerDraft.submitted_at.is_null()
        )
        .first()
    )
    return Wizard(white_label, draft) if draft is not None else None


@bp.route("/<key>/<slug>", methods=["GET", "POST"])
@admin_required
def step(key: str, slug: str):
    """Show or answer one step of a draft."""
    wizard = _wizard_or_404(key)
    if wizard.submitted:
        return redirect(url_for("customers.show", customer_id=wizard.draft.customer_id), code=303)
    step = wizard.step(slug)
    if step is None:
        abort(404)
    if (
        request.method == "POST"
        and step is REVIEW
        and request.form.get("option", wizard.option.key) != wizard.option.key
    ):
        return _option_changed_elsewhere(wizard)
    if not wizard.may_open(step):
        return redirect(_step_url(wizard, wizard.first_incomplete()), code=303)
    if request.method != "POST":  # GET (and HEAD) only ever show the step
        kept = take_kept(request.path)  # typed while signed out (kept.py): shown, not yet saved
        return _render_step(wizard, step, wizard.form(step, kept) if kept else wizard.form(step))
    if step is REVIEW:
        if request.form.get("action") == "back":  # only "Create customer" creates it
            return _go_to(wizard, wizard.neighbours(step)[0])
        return _submit(wizard)
    outcome = wizard.answer(
        step,
        request.form,
        request.form.get("action", "continue"),
        returning_to_review=request.args.get("return") == "review",
    )
    if outcome.go_to is not None:
        return _go_to(wizard, outcome.go_to)
    return _render_step(wizard, step, outcome.form, status=outcome.status)


def _option_changed_elsewhere(wizard: Wizard):
    """Create customer pressed on a review whose option another tab has since changed: nothing is
    created; the step to check (or still to answer) comes back saying why the page moved."""
    target = wizard.first_incomplete()
    form = wizard.form(target)
    then = "Check the answers, then create the customer." if target is REVIEW else "Answer what it still needs."
    form.form_errors.append(
        f"This draft was changed in another tab or window: it is now for “{wizard.option.label}”, "
        f"so the customer was not created. {then}"
    )
    return _render_step(wizard, target, form, status=422, push_url=_step_url(wizard, target))


def _submit(wizard: Wizard):
    try:
        customer = submit(wizard, acting_user())
    except StepProblem as problem:
        form = problem.form  # validated inside the transaction (or refused by the email's unique index)
        if form is None:  # found while writing (a number taken): the step's form now says which
            form = wizard.form(problem.step, stored=True)
            form.validate()
        with db.atomic():
            wizard.save(problem.step, form.values(), valid=False)
        if not form.errors:
            form.form_errors.append("Something changed since this step was answered. Check it and continue.")
        return _render_step(wizard, problem.step, form, status=422, push_url=_step_url(wizard, problem.step))
    url = url_for("onboarding.done", key=wizard.key)
    if wants_partial():
        return _render_done(customer, push_url=url)
    return redirect(url, code=303)


def _render_done(customer, push_url=None):
    token = (
        ActivationToken.select()
        .where((ActivationToken.customer == customer.id) & ActivationToken.revoked_at.is_null())
        .order_by(ActivationToken.id.desc())
        .first()
    )
    response = render(
        "onboarding/done.html",
        "onboarding/_done.html",
        customer=customer,
        option=option_of(customer),
        token=token,
        partial=wants_partial(),
    )
    if push_url and wants_partial():
        response.headers["HX-Push-Url"] = push_url
    return response


@bp.get("/<key>/done")
@admin_required
def done(key: str):
    """ "Your new customer has been successfully created!" and what to do next."""
    wizard = _wizard_or_404(key)
    if not wizard.submitted:
        return redirect(_step_url(wizard, wizard.first_incomplete()), code=303)
    return _render_done(wizard.draft.customer)


@bp.post("/<key>/check/<field>")
@admin_required
def check_field(key: str, field: str):
    """Check one contact field as the user leaves it (email, phone); returns that field."""
    wizard = _wizard_or_404(key)
    if field not in ("email", "phone"):
        abort(404)
    form = wizard.form(CONTACT, request.form)
    target = form[field]
    # The field's own validators plus the form's validate_<field> (unbound: WTForms passes form, field).
    target.validate(form, extra_validators=[getattr(type(form), f"validate_{field}")])
    return render("onboarding/_checked_field.html", field=target)


@bp.post("/<key>/address/service")
@admin_required
def service_address(key: str):
    """Show or hide the service address fields as the 'same address' box changes."""
    form = _wizard_or_404(key).form(ADDRESS, request.form)
    return render("onboarding/_service_address.html", form=form, show_service=not form.service_same.data)


@bp.post("/<key>/numbers/choices")
@admin_required
def number_choices(key: str):
    """The number checkboxes filtered by what was typed, keeping every number already chosen."""
    form = _wizard_or_404(key).form(NUMBERS, request.form)
    return render("onboarding/_number_choices.html", form=form)


@bp.post("/discard-older")
@admin_required
def discard_older():
    """Throw away one's own unfinished drafts untouched for a while (the drafts panel's button)."""
    try:
        days = int(request.form.get("days", ""))
    except ValueError:
        days = 0
    if days not in DISCARD_AGES:
        flash("Choose how old the drafts to discard are.", "error")
        return see_other(url_for("customers.index"))
    count = discard_drafts_older_than(current_white_label(), acting_user(), days)
    if count:
        flash(f"{count} draft{'s' if count != 1 else ''} older than {DISCARD_AGES[days]} discarded.", "info")
    else:
        flash(f"You have no drafts older than {DISCARD_AGES[days]}: nothing was discarded.", "info")
    return see_other(url_for("customers.index"))


@bp.post("/<key>/discard")
@admin_required
def discard(key: str):
    """Throw away an unfinished draft."""
    wizard = _wizard_or_404(key)
    if not wizard.submitted:
        wizard.draft.delete_instance()
        flash("Draft discarded.", "info")
    return see_other(url_for("customers.index"))
