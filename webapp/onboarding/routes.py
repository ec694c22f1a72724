from flask import abort, flash, redirect, url_for
from flask_login import current_user
from htmx_flask import request

from ..extensions import db
from ..models import CustomerDraft
from ..security import admin_required
from ..templating import render, wants_partial
from ..tenancy import current_white_label
from . import bp, drafts
from .forms import ContactForm, display_phone
from .service import StepProblem, submit
from .steps import ADDRESS, NUMBERS, OPTION_LABELS, REVIEW, WHO, find_step, flow, neighbours


def _draft_or_404(key: str) -> CustomerDraft:
    """The signed-in administrator's own draft in their white-label; anything else is a 404."""
    draft = CustomerDraft.get_or_none(
        (CustomerDraft.key == key)
        & (CustomerDraft.white_label == current_white_label().id)
        & (CustomerDraft.created_by == current_user.id)
    )
    if draft is None:
        abort(404)
    return draft


def _step_url(draft, step, **params) -> str:
    if draft is None:
        return url_for("onboarding.start")
    return url_for("onboarding.step", key=draft.key, slug=step.slug, **params)


def _render_step(draft, step, form, status=200, push_url: str | None = None):
    """The wizard page, or just the #wizard partial for htmx, for one step."""
    administered_by = draft.administered_by if draft else None
    steps = flow(administered_by) if draft else flow(form.administered_by.data or "customer")
    previous, _ = neighbours(administered_by, step) if draft else (None, None)
    returning = request.args.get("return") == "review"
    response = render(
        "onboarding/wizard.html",
        "onboarding/_wizard.html",
        status=status,
        draft=draft,
        step=step,
        steps=steps,
        number=steps.index(step) + 1 if step in steps else 1,
        form=form,
        previous=previous,
        action_url=_step_url(draft, step, **({"return": "review"} if returning else {})),
        option_labels=OPTION_LABELS,
        review=_review_rows(draft) if step is REVIEW else None,
        display_phone=display_phone,
        partial=wants_partial(),
    )
    if push_url and wants_partial():
        response.headers["HX-Push-Url"] = push_url
    return response


def _go_to(draft, step):
    """After a successful POST: htmx gets the next step in place, a plain form a 303."""
    url = _step_url(draft, step)
    if not wants_partial():
        return redirect(url, code=303)
    form = drafts.build_form(step, draft, current_white_label())
    return _render_step(draft, step, form, push_url=url)


@bp.get("/")
@admin_required
def start():
    """The wizard's first step: who will administer the new customer's account."""
    form = WHO.form(white_label=current_white_label())
    return _render_step(None, WHO, form)


@bp.post("/")
@admin_required
def create_draft():
    """Answer the first step; the server-side draft starts here."""
    white_label = current_white_label()
    form = WHO.form(white_label=white_label)
    if not form.validate():
        return _render_step(None, WHO, form, status=422)
    draft = drafts.new_draft(white_label, current_user._get_current_object(), form.administered_by.data)
    return _go_to(draft, flow(draft.administered_by)[1])


@bp.route("/<key>/<slug>", methods=["GET", "POST"])
@admin_required
def step(key: str, slug: str):
    """Show or answer one step of a draft."""
    draft = _draft_or_404(key)
    if draft.customer_id:
        return redirect(url_for("customers.show", customer_id=draft.customer_id), code=303)
    step = find_step(draft.administered_by, slug)
    if step is None:
        abort(404)
    if not drafts.may_open(draft, step):
        return redirect(_step_url(draft, drafts.first_incomplete(draft)), code=303)
    white_label = current_white_label()
    if request.method != "POST":  # GET (and HEAD) only ever show the step
        return _render_step(draft, step, drafts.build_form(step, draft, white_label))
    if step is REVIEW:
        if request.form.get("action") == "back":  # only "Create customer" creates it
            return _go_to(draft, neighbours(draft.administered_by, step)[0])
        return _submit(draft)

    form = drafts.build_form(step, draft, white_label, posted=request.form)
    action = request.form.get("action", "continue")
    if action == "refresh":
        # Re-show the step (filter numbers, reveal the service address) without judging it.
        drafts.save_step(draft, step, form.values(), valid=False)
        return _render_step(draft, step, form)
    valid = form.validate()
    if action == "back":
        drafts.save_step(draft, step, form.values(), valid=valid)
        previous, _ = neighbours(draft.administered_by, step)
        return _go_to(draft, previous or step)
    if not valid:
        drafts.save_step(draft, step, form.values(), valid=False)
        return _render_step(draft, step, form, status=422)
    if step is WHO:
        if form.administered_by.data != draft.administered_by:
            drafts.change_option(draft, form.administered_by.data, white_label)
    else:
        drafts.save_step(draft, step, form.values(), valid=True)
    if request.args.get("return") == "review" and drafts.first_incomplete(draft) is REVIEW:
        return _go_to(draft, REVIEW)
    return _go_to(draft, drafts.first_incomplete(draft) if step is WHO else neighbours(draft.administered_by, step)[1])


def _submit(draft: CustomerDraft):
    white_label = current_white_label()
    try:
        customer = submit(draft, current_user._get_current_object())
    except StepProblem as problem:
        form = drafts.build_form(problem.step, draft, white_label, stored=True)
        form.validate()
        with db.atomic():
            drafts.save_step(draft, problem.step, form.values(), valid=False)
        if not form.errors:
            form.form_errors.append("Something changed since this step was answered. Check it and continue.")
        return _render_step(draft, problem.step, form, status=422, push_url=_step_url(draft, problem.step))
    url = url_for("onboarding.done", key=draft.key)
    if wants_partial():
        return _render_done(draft, customer, push_url=url)
    return redirect(url, code=303)


def _render_done(draft, customer, push_url=None):
    from ..models import ActivationToken

    token = (
        ActivationToken.select()
        .where((ActivationToken.customer == customer.id) & ActivationToken.revoked_at.is_null())
        .order_by(ActivationToken.id.desc())
        .first()
    )
    response = render(
        "onboarding/done.html", "onboarding/_done.html", customer=customer, token=token,
        partial=wants_partial(),
    )
    if push_url and wants_partial():
        response.headers["HX-Push-Url"] = push_url
    return response


@bp.get("/<key>/done")
@admin_required
def done(key: str):
    """"Your new customer has been successfully created!" and what to do next."""
    draft = _draft_or_404(key)
    if not draft.customer_id:
        return redirect(_step_url(draft, drafts.first_incomplete(draft)), code=303)
    return _render_done(draft, draft.customer)


@bp.post("/<key>/check/<field>")
@admin_required
def check_field(key: str, field: str):
    """Check one contact field as the user leaves it (email, phone); returns that field."""
    draft = _draft_or_404(key)
    if field not in ("email", "phone"):
        abort(404)
    form = ContactForm(formdata=request.form, white_label=current_white_label(), answers=drafts.answers(draft))
    target = form[field]
    # The field's own validators plus the form's validate_<field> (unbound: WTForms passes form, field).
    target.validate(form, extra_validators=[getattr(type(form), f"validate_{field}")])
    return render("onboarding/_checked_field.html", field=target)


@bp.post("/<key>/address/service")
@admin_required
def service_address(key: str):
    """Show or hide the service address fields as the 'same address' box changes."""
    draft = _draft_or_404(key)
    form = ADDRESS.form(formdata=request.form, white_label=current_white_label(), answers=drafts.answers(draft))
    return render("onboarding/_service_address.html", form=form, show_service=not form.service_same.data)


@bp.post("/<key>/numbers/choices")
@admin_required
def number_choices(key: str):
    """The number checkboxes filtered by what was typed, keeping every number already chosen."""
    draft = _draft_or_404(key)
    form = NUMBERS.form(formdata=request.form, white_label=current_white_label(), answers=drafts.answers(draft))
    return render("onboarding/_number_choices.html", form=form, display_phone=display_phone)


@bp.post("/<key>/discard")
@admin_required
def discard(key: str):
    """Throw away an unfinished draft."""
    draft = _draft_or_404(key)
    if draft.customer_id is None:
        draft.delete_instance()
        flash("Draft discarded.", "info")
    target = url_for("customers.index")
    if wants_partial():  # the button confirmed through htmx; a 204 lets htmx load the page whole
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)


def _review_rows(draft) -> list[dict]:
    """Every answer grouped by step, for "Check your answers"."""
    from .review import review_groups

    return review_groups(draft, current_white_label())

