"""Customer templates: a white-label's named presets of wizard answers (Settings > Templates).

A template holds who administers (an option key, options.py), a plan, a number policy (how many
free numbers to pick; 0 for none) and PBX settings. The wizard copies a template's answers into a
new draft when it starts (`Wizard.begin(..., answers=...)`) and asks every step as usual, so each
answer can still be changed and is checked by the step's own form. Nothing keeps a link to the
template afterwards: editing or deleting one never changes a draft or a customer.
"""

from __future__ import annotations

from collections.abc import Iterable

from peewee import fn

from ..audit import audit
from ..extensions import db
from ..models import CustomerTemplate, PhoneNumber, Plan, User, WhiteLabel, utcnow
from ..tenancy import belongs_to, scoped
from .options import Option, option_for
from .steps import NUMBERS, PBX, PLAN, WHO

# The template's fields that are its answers (everything else is bookkeeping).
FIELDS = (
    "name",
    "administered_by",
    "plan",
    "number_count",
    "time_zone",
    "extension_length",
    "voicemail_to_email",
    "call_recording",
)


def templates_of(white_label: WhiteLabel) -> list[CustomerTemplate]:
    """The white-label's templates, by name, each with its plan."""
    return list(scoped(CustomerTemplate, of=white_label).order_by(CustomerTemplate.name, CustomerTemplate.id))


def template_of(white_label: WhiteLabel, template_id) -> CustomerTemplate | None:
    """One of the white-label's templates by id (as typed in a URL or form), or None."""
    try:
        template_id = int(template_id)
    except (TypeError, ValueError):
        return None
    if not 0 < template_id < 2**31:
        return None
    return scoped(CustomerTemplate, of=white_label).where(CustomerTemplate.id == template_id).first()


def option_of_template(template: CustomerTemplate) -> Option | None:
    """The option the template chooses (None if that option no longer exists)."""
    return option_for(template.administered_by)


def answers_for(template: CustomerTemplate, *, numbers: Iterable[str] = ()) -> dict[str, dict]:
    """The template's answers as the wizard and `Wizard.from_answers` take them:
    `{step slug: {field: value}}`, for the steps the template's option asks.

    For the CSV import (or anything else that creates customers from a template): merge the row's
    own answers (contact, address) over these, take the option from `option_of_template(template)`,
    and build `Wizard.from_answers(white_label, option, answers)`; `service.checked_forms` then
    checks every answer by the wizard's rules. A row's column overrides the template's answer.

    The number policy is a count, not numbers: which numbers are free is only known when the
    customer is created. Pass the numbers to assign in `numbers` (pick them with `free_numbers`,
    excluding any already claimed by earlier rows of the same file); without them the numbers
    answer is empty. A deleted or withdrawn plan is left out (the plan step then asks for one).
    """
    option = option_of_template(template)
    slugs = {step.slug for step in option.steps} if option else set()
    answers: dict[str, dict] = {WHO.slug: {"administered_by": template.administered_by}}
    if template.plan_id is not None and PLAN.slug in slugs and template.plan.active:
        answers[PLAN.slug] = {"plan": str(template.plan_id)}
    if NUMBERS.slug in slugs:
        answers[NUMBERS.slug] = {"numbers": list(numbers)}
    if PBX.slug in slugs:
        chosen = list(numbers)
        answers[PBX.slug] = {
            "time_zone": template.time_zone or template.white_label.time_zone,
            "extension_length": str(template.extension_length),
            # The first number the template picked calls out, as a person usually sets it.
            "default_caller_id": chosen[0] if chosen else "",
            "voicemail_to_email": bool(template.voicemail_to_email),
            "call_recording": bool(template.call_recording),
        }
    return answers


def free_numbers(template: CustomerTemplate, *, exclude: Iterable[str] = ()) -> list[str]:
    """Up to the template's number count of the white-label's unassigned numbers (lowest first),
    never one in `exclude`, and never more than the template's plan includes."""
    wanted = template.number_count
    if template.plan_id is not None:
        plan = Plan.get_or_none(Plan.id == template.plan_id)
        wanted = min(wanted, plan.included_numbers if plan else wanted)
    if wanted <= 0:
        return []
    excluded = set(exclude)
    query = (
        scoped(PhoneNumber, PhoneNumber.number, of=template.white_label_id)
        .where(PhoneNumber.customer.is_null())
        .order_by(PhoneNumber.number)
        .limit(wanted + len(excluded))
    )
    return [row.number for row in query if row.number not in excluded][:wanted]


def wizard_answers(template: CustomerTemplate) -> dict[str, dict]:
    """The answers a new draft starts with: the template's, with its number policy applied now."""
    return answers_for(template, numbers=free_numbers(template))


def save_template(white_label: WhiteLabel, actor: User, values: dict, template: CustomerTemplate | None = None):
    """Create a template, or change `template`, from the form's `values` (FIELDS); audited."""
    with db.atomic():
        if template is None:
            template = CustomerTemplate(white_label=white_label, created_by=actor)
            action = "template_created"
        else:
            action = "template_changed"
        for name in FIELDS:
            setattr(template, name, values[name])
        template.updated_at = utcnow()
        template.save()
        audit(white_label, action, actor=actor, template=template.id, name=template.name)
    return template


def delete_template(white_label: WhiteLabel, actor: User, template: CustomerTemplate) -> None:
    """Delete a template; drafts and customers made from it keep their answers."""
    with db.atomic():
        CustomerTemplate.delete().where(
            belongs_to(CustomerTemplate, of=white_label) & (CustomerTemplate.id == template.id)
        ).execute()
        audit(white_label, "template_deleted", actor=actor, template=template.id, name=template.name)


def name_taken(white_label: WhiteLabel, name: str, template: CustomerTemplate | None = None) -> bool:
    """Whether another of the white-label's templates has this name (case-insensitive)."""
    query = scoped(CustomerTemplate, of=white_label).where(fn.LOWER(CustomerTemplate.name) == name.lower())
    if template is not None:
        query = query.where(CustomerTemplate.id != template.id)
    return query.exists()
