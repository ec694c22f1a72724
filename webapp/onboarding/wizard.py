"""The create-customer wizard as one object: a draft's option, steps and answers, and what a
step's Continue, Back or refresh does to them. No request handling here: routes.py turns what
this answers into HTTP, and service.py creates the customer from a finished wizard.

The draft's answers are a JSON field (`CustomerDraft.data`, parsed once when the row is read):
`{step slug: {"values": {field: value}, "valid": bool}}`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import CustomerDraft, User, WhiteLabel, utcnow
from ..tenancy import belongs_to
from . import options
from .options import Option, option_of
from .steps import REVIEW, WHO, Step


@dataclass
class Outcome:
    """What answering a step leads to: another step (`go_to`), or this step's form again."""

    form: object
    status: int = 200
    go_to: Step | None = None


class Wizard:
    """One administrator's draft of a new customer, or the first step before a draft exists."""

    def __init__(self, white_label: WhiteLabel, draft: CustomerDraft | None = None, option: Option | None = None):
        self.white_label = white_label
        self.draft = draft
        self.option = option_of(draft) if draft is not None else (option or options.OPTIONS[0])
        self.data: dict = draft.data if draft is not None else {}

    @classmethod
    def from_answers(cls, white_label: WhiteLabel, option: Option, answers: dict[str, dict]) -> Wizard:
        """A wizard with no stored draft, holding answers given all at once ({step slug: {field:
        value}}), as the integration API and the import give them: the same forms check them."""
        wizard = cls(white_label, option=option)
        wizard.data = {slug: {"values": dict(values), "valid": False} for slug, values in answers.items()}
        wizard.data[WHO.slug] = {"values": {"administered_by": option.key}, "valid": True}
        return wizard

    # --- Starting, finding, listing ----------------------------------------------------------

    @classmethod
    def begin(cls, white_label: WhiteLabel, user: User, option: Option, answers: dict | None = None) -> Wizard:
        """Start a draft once the first step is answered. `answers` ({step slug: {field: value}},
        as a template gives them: templates.py) fill the option's steps in advance; each step is
        still asked and checked, so every one of them can be changed."""
        data = {WHO.slug: {"values": {"administered_by": option.key}, "valid": True}}
        for step in option.steps:
            if step not in (WHO, REVIEW) and step.slug in (answers or {}):
                data[step.slug] = {"values": _jsonable(answers[step.slug]), "valid": False}
        draft = CustomerDraft.create(
            key=secrets.token_urlsafe(12),
            white_label=white_label,
            created_by=user,
            administered_by=option.key,
            data=data,
        )
        return cls(white_label, draft)

    @property
    def key(self) -> str | None:
        return self.draft.key if self.draft is not None else None

    @property
    def submitted(self) -> bool:
        return self.draft is not None and self.draft.customer_id is not None

    @property
    def name(self) -> str:
        """How the drafts list names it: the business name once given."""
        return self.answers().get("business_name") or "Untitled customer"

    # --- Steps --------------------------------------------------------------------------------

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.option.steps

    def step(self, slug: str) -> Step | None:
        return self.option.step(slug)

    def number(self, step: Step) -> int:
        return self.steps.index(step) + 1 if step in self.steps else 1

    def neighbours(self, step: Step) -> tuple[Step | None, Step | None]:
        index = self.steps.index(step)
        previous = self.steps[index - 1] if index > 0 else None
        following = self.steps[index + 1] if index + 1 < len(self.steps) else None
        return previous, following

    def first_incomplete(self) -> Step:
        """The first step still needing an answer (the review step when everything is answered)."""
        for step in self.steps:
            if step is not REVIEW and not self.data.get(step.slug, {}).get("valid"):
                return step
        return REVIEW

    def may_open(self, step: Step) -> bool:
        """A step opens once every step before it has a valid answer."""
        return self.steps.index(step) <= self.steps.index(self.first_incomplete())

    # --- Answers and forms --------------------------------------------------------------------

    def values(self, step_or_slug) -> dict:
        slug = step_or_slug.slug if isinstance(step_or_slug, Step) else step_or_slug
        return self.data.get(slug, {}).get("values", {})

    def answers(self) -> dict:
        """Every stored answer, flattened, for forms that depend on earlier steps."""
        merged: dict = {}
        for entry in self.data.values():
            merged.update(entry.get("values", {}))
        merged["administered_by"] = self.option.key
        return merged

    def form(self, step: Step, posted=None, *, stored: bool = False, option: Option | None = None):
        """The step's form, filled from what was posted, or else from the draft's answers."""
        option = option or self.option
        context = {"white_label": self.white_label, "answers": self.answers() if self.data else {}, "option": option}
        if step is WHO:
            context["options"] = options.OPTIONS
            # A template is chosen only when a draft starts: not when stored answers (an API
            # call's, an import row's, a submitted draft's) are checked again.
            if self.draft is None and not stored:
                from .templates import templates_of

                context["templates"] = templates_of(self.white_label)
        if posted is not None:
            return step.form(formdata=posted, **context)
        values = self.values(step)
        if stored or values:
            return step.form(formdata=_formdata(values), meta={"csrf": False}, **context)
        return step.form(formdata=None, **context)

    def page(self, step: Step, change_url: Callable[[Step], str]) -> dict:
        """What a step's page shows of the wizard: the option, its steps and where this one is,
        the step before it (for Back), and on the last step every answer to check."""
        previous = self.neighbours(step)[0] if self.draft is not None else None
        return {
            "wizard": self,
            "draft": self.draft,
            "option": self.option,
            "steps": self.steps,
            "number": self.number(step),
            "previous": previous,
            "review": self.review_groups(change_url) if step is REVIEW else None,
        }

    def review_groups(self, change_url: Callable[[Step], str]) -> list[dict]:
        """Every answered step's rows for "Check your answers", each with its Change link
        (`change_url(step)` makes it)."""
        return [
            {"step": step, "rows": step.summary(self.values(step), self), "change_url": change_url(step)}
            for step in self.steps
            if step is not REVIEW
        ]

    # --- Answering a step ---------------------------------------------------------------------

    def answer(self, step: Step, posted, action: str, *, returning_to_review: bool = False) -> Outcome:
        """Keep what was posted to `step` (valid or not: nothing typed is lost) and say where
        the administrator goes next. `action` is the button: continue, back or refresh."""
        form = self.form(step, posted)
        if action == "refresh":
            # Re-show the step (filter numbers, reveal the service address) without judging it.
            self.save(step, form.values(), valid=False)
            return Outcome(form)
        valid = form.validate()
        if action == "back":
            self.save(step, form.values(), valid=valid)
            previous, _ = self.neighbours(step)
            return Outcome(form, go_to=previous or step)
        if not valid:
            self.save(step, form.values(), valid=False)
            return Outcome(form, status=422)
        if step is WHO:
            chosen = form.chosen()
            if chosen is not self.option:
                self.change_option(chosen)
            return Outcome(form, go_to=self.first_incomplete())
        self.save(step, form.values(), valid=True)
        if returning_to_review and self.first_incomplete() is REVIEW:
            return Outcome(form, go_to=REVIEW)
        return Outcome(form, go_to=self.neighbours(step)[1])

    def save(self, step: Step, values: dict, valid: bool) -> None:
        """Keep this step's answers (valid or not) so nothing typed is lost."""
        self.data[step.slug] = {"values": _jsonable(values), "valid": bool(valid)}
        self.draft.updated_at = utcnow()
        self._store(CustomerDraft.data, CustomerDraft.updated_at)

    def change_option(self, option: Option) -> None:
        """Switch the option: keep answers both options share, re-checked; drop the rest."""
        with db.atomic():
            old = self.data
            self.option = option
            self.draft.administered_by = option.key
            self.data = {WHO.slug: {"values": {"administered_by": option.key}, "valid": True}}
            self.draft.data = self.data
            for step in option.steps:
                if step in (WHO, REVIEW) or step.slug not in old:
                    continue
                # Only the fields this option's form has: an answer the other option alone asked
                # for (such as the authorized-contact confirmation) must be given again.
                fields = self.form(step, MultiDict())._fields
                values = {k: v for k, v in old[step.slug].get("values", {}).items() if k in fields}
                form = step.form(
                    formdata=_formdata(values),
                    meta={"csrf": False},
                    white_label=self.white_label,
                    answers=self.answers(),
                    option=option,
                )
                self.data[step.slug] = {
                    "values": values,
                    "valid": bool(old[step.slug].get("valid")) and form.validate(),
                }
            self.draft.updated_at = utcnow()
            self._store(CustomerDraft.administered_by, CustomerDraft.data, CustomerDraft.updated_at)

    def _store(self, *fields) -> None:
        """Write these columns of an unsubmitted draft, and nothing else.

        A whole-row save of a draft read before another tab submitted it would write its stale
        customer and submitted_at (both empty) back, reopening a draft that already made a customer.
        """
        self.draft.data = self.data
        (
            CustomerDraft.update({field: getattr(self.draft, field.name) for field in fields})
            .where((CustomerDraft.id == self.draft.id) & CustomerDraft.submitted_at.is_null())
            .execute()
        )


def purge_old_drafts(max_age_days: int) -> int:
    """Delete unsubmitted drafts untouched for `max_age_days`; returns how many."""
    cutoff = utcnow() - dt.timedelta(days=max_age_days)
    return (
        CustomerDraft.delete()
        .where(CustomerDraft.submitted_at.is_null() & (CustomerDraft.updated_at < cutoff))
        .execute()
    )


DISCARD_AGES = {1: "1 day", 7: "7 days", 30: "30 days"}


def discard_drafts_older_than(white_label: WhiteLabel, user: User, days: int) -> int:
    """Delete one administrator's own unfinished drafts untouched for `days`; returns how many."""
    cutoff = utcnow() - dt.timedelta(days=days)
    return (
        CustomerDraft.delete()
        .where(
            belongs_to(CustomerDraft, of=white_label)
            & (CustomerDraft.created_by == user.id)
            & CustomerDraft.submitted_at.is_null()
            & (CustomerDraft.updated_at < cutoff)
        )
        .execute()
    )


def _formdata(values: dict) -> MultiDict:
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
