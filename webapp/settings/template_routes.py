"""Settings > Templates: administrators keep named presets for new customers; staff see them.

What a template holds and how the wizard uses it is onboarding/templates.py."""

from __future__ import annotations

from flask import flash, url_for
from htmx_flask import request

from ..forms import form_status
from ..http import see_other
from ..models import CustomerTemplate, Plan
from ..onboarding import templates as service
from ..onboarding.options import OPTIONS
from ..security import acting_user, admin_required, white_label_required
from ..templating import render
from ..tenancy import current_white_label, get_scoped_or_404, scoped
from . import bp
from .forms import CustomerTemplateForm


def _form(template: CustomerTemplate | None = None) -> CustomerTemplateForm:
    white_label = current_white_label()
    plans = list(scoped(Plan).where(Plan.active).order_by(Plan.sort_order, Plan.id))
    data = None
    if template is not None and request.method != "POST":
        data = {
            "name": template.name,
            "administered_by": template.administered_by,
            "plan": str(template.plan_id) if template.plan_id else "",
            "number_count": template.number_count,
            "time_zone": template.time_zone,
            "extension_length": str(template.extension_length),
            "voicemail_to_email": template.voicemail_to_email,
            "call_recording": template.call_recording,
        }
    return CustomerTemplateForm(white_label=white_label, options=OPTIONS, plans=plans, data=data)


def _save(form: CustomerTemplateForm, template: CustomerTemplate | None, title: str):
    """Show the form, or save it and go back to the list."""
    white_label = current_white_label()
    if form.validate_on_submit():
        if service.name_taken(white_label, form.name.data, template):
            form.name.errors.append("Another template has this name. Choose a different name.")
        else:
            saved = service.save_template(white_label, acting_user(), form.values(), template)
            flash(f"Template “{saved.name}” saved.", "success")
            return see_other(url_for("settings.templates"))
    return render("settings/template_form.html", form=form, template=template, title=title, status=form_status(form))


@bp.get("/templates")
@white_label_required
def templates():
    """The white-label's customer templates; administrators may add, change and delete them."""
    return render(
        "settings/templates.html",
        templates=service.templates_of(current_white_label()),
        option_for=service.option_of_template,
    )


@bp.route("/templates/new", methods=["GET", "POST"])
@admin_required
def new_template():
    """Add a customer template."""
    return _save(_form(), None, "Add a template")


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_template(template_id: int):
    """Change a template; drafts and customers already made from it keep their answers."""
    template = get_scoped_or_404(CustomerTemplate, template_id)
    return _save(_form(template), template, "Change a template")


@bp.route("/templates/<int:template_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_template(template_id: int):
    """Ask, then delete a template; drafts and customers made from it keep their answers."""
    template = get_scoped_or_404(CustomerTemplate, template_id)
    if request.method == "POST":
        service.delete_template(current_white_label(), acting_user(), template)
        flash(f"Template “{template.name}” deleted.", "success")
        return see_other(url_for("settings.templates"))
    return render("settings/template_delete.html", template=template)
