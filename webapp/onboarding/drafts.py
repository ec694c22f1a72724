"""Wizard drafts: reading and saving answers on the server (no request handling here)."""
from __future__ import annotations

import datetime as dt
import json
import secrets

from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import CustomerDraft, User, WhiteLabel, utcnow
from .steps import REVIEW, WHO, Step, flow


def new_draft(white_label: WhiteLabel, user: User, administered_by: str) -> CustomerDraft:
    """Start a draft once the first step is answered."""
    data = {WHO.slug: {"values": {"administered_by": administered_by}, "valid": True}}
    return CustomerDraft.create(
        key=secrets.token_urlsafe(12),
        white_label=white_label,
        created_by=user,
        administered_by=administered_by,
        data=json.dumps(data),
    )


def load(draft: CustomerDraft) -> dict:
    try:
        data = json.loads(draft.data or "{}")
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def step_values(draft: CustomerDraft, slug: str) -> dict:
    return load(draft).get(slug, {}).get("values", {})


def answers(draft: CustomerDraft) -> dict:
    """Every stored answer, flattened, for forms that depend on earlier steps."""
    merged: dict = {}
    for entry in load(draft).values():
        merged.update(entry.get("values", {}))
    merged["administered_by"] = draft.administered_by
    return merged


def is_valid(draft: CustomerDraft, slug: str) -> bool:
    return bool(load(draft).get(slug, {}).get("valid"))


def first_incomplete(draft: CustomerDraft) -> Step:
    """The first step still needing an answer (the review step when everything is answered)."""
    data = load(draft)
    for step in flow(draft.administered_by):
        if step is not REVIEW and not data.get(step.slug, {}).get("valid"):
            return step
    return REVIEW


def may_open(draft: CustomerDraft, step: Step) -> bool:
    """A step opens once every step before it has a valid answer."""
    steps = flow(draft.administered_by)
    return steps.index(step) <= steps.index(first_incomplete(draft))


def formdata(values: dict) -> MultiDict:
    """Stored answers back into the shape a browser would post (for re-validation)."""
    pairs = []
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                pairs.append((name, "y"))
        elif isinstance(value, list):
            pairs.extend((name, str(v)) for v in value)
        elif value is not None:
            pairs.append((name, str(value)))
    return MultiDict(pairs)


def build_form(step: Step, draft: CustomerDraft | None, white_label: WhiteLabel, posted=None, *, stored=False):
    """The step's form, filled from what was posted, or else from the draft."""
    context = {"white_label": white_label, "answers": answers(draft) if draft else {}}
    if posted is not None:
        return step.form(formdata=posted, **context)
    values = step_values(draft, step.slug) if draft else {}
    if stored or values:
        return step.form(formdata=formdata(values), meta={"csrf": False}, **context)
    return step.form(formdata=None, **context)


def save_step(draft: CustomerDraft, step: Step, values: dict, valid: bool) -> None:
    """Keep this step's answers (valid or not) so nothing typed is lost."""
    data = load(draft)
    data[step.slug] = {"values": _jsonable(values), "valid": bool(valid)}
    draft.data = json.dumps(data)
    draft.updated_at = utcnow()
    _store(draft, CustomerDraft.data, CustomerDraft.updated_at)


def change_option(draft: CustomerDraft, administered_by: str, white_label: WhiteLabel) -> None:
    """Switch the option: keep answers both options share, re-checked; drop the rest."""
    with db.atomic():
        old = load(draft)
        draft.administered_by = administered_by
        kept = {WHO.slug: {"values": {"administered_by": administered_by}, "valid": True}}
        draft.data = json.dumps(kept)
        for step in flow(administered_by):
            if step in (WHO, REVIEW) or step.slug not in old:
                continue
            form = step.form(formdata=MultiDict(), meta={"csrf": False}, white_label=white_label, answers=answers(draft))
            # Only the fields this option's form has: an answer the other option alone asked
            # for (such as the authorized-contact confirmation) must be given again.
            values = {k: v for k, v in old[step.slug].get("values", {}).items() if k in form._fields}
            form = step.form(formdata=formdata(values), meta={"csrf": False},
                             white_label=white_label, answers=answers(draft))
            kept[step.slug] = {"values": values, "valid": bool(old[step.slug].get("valid")) and form.validate()}
            draft.data = json.dumps(kept)
        draft.updated_at = utcnow()
        _store(draft, CustomerDraft.administered_by, CustomerDraft.data, CustomerDraft.updated_at)


def _store(draft: CustomerDraft, *fields) -> None:
    """Write these columns of an unsubmitted draft, and nothing else.

    A whole-row save of a draft read before another tab submitted it would write its stale
    customer and submitted_at (both empty) back, reopening a draft that already made a customer.
    """
    (
        CustomerDraft.update({field: getattr(draft, field.name) for field in fields})
        .where((CustomerDraft.id == draft.id) & CustomerDraft.submitted_at.is_null())
        .execute()
    )


def summary_name(draft: CustomerDraft) -> str:
    return step_values(draft, "contact").get("business_name") or "Untitled customer"


def purge_old_drafts(max_age_days: int) -> int:
    """Delete unsubmitted drafts untouched for `max_age_days`; returns how many."""
    cutoff = utcnow() - dt.timedelta(days=max_age_days)
    return (
        CustomerDraft.delete()
        .where(CustomerDraft.submitted_at.is_null() & (CustomerDraft.updated_at < cutoff))
        .execute()
    )


def _jsonable(values: dict) -> dict:
    clean = {}
    for name, value in values.items():
        if isinstance(value, (str, bool, int, float)) or value is None:
            clean[name] = value
        elif isinstance(value, (list, tuple)):
            clean[name] = [str(v) for v in value]
        else:
            clean[name] = str(value)
    return clean
