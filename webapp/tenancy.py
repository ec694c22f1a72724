"""Tenant scoping in one place: every query for a white-label's rows goes through these helpers.

The white-label is the signed-in user's, or on the integration API the key's (set in
`g.api_white_label` by webapp/api/auth.py before any view runs; no user is signed in there).
Code that works for a white-label it was handed (a form checking a draft's answers, the worker,
an import) names it: `scoped(Plan, of=white_label)`.
"""

from __future__ import annotations

from typing import TypeVar

from flask import abort, g, has_request_context
from peewee import Expression, Model, ModelSelect, Node

from .models import WhiteLabel
from .security import current_membership

M = TypeVar("M", bound=Model)


def current_white_label() -> WhiteLabel:
    """The signed-in user's white-label (views behind `white_label_required` always have one),
    or the API key's on an API request."""
    api_white_label = g.get("api_white_label") if has_request_context() else None
    if api_white_label is not None:
        return api_white_label
    membership = current_membership()
    if membership is None:
        abort(403)
    return membership.white_label


def belongs_to(model: type[Model], *, of: WhiteLabel | int | None = None) -> Expression:
    """The condition that a row of `model` is one white-label's: `of`'s, else the current one's
    (for an UPDATE or DELETE, or a join; a select is `scoped`)."""
    white_label = of if of is not None else current_white_label()
    return model.white_label == getattr(white_label, "id", white_label)


def scoped(model: type[Model], *fields: Node, of: WhiteLabel | int | None = None) -> ModelSelect:
    """`model.select()` limited to one white-label's rows: `of`'s, else the current one's."""
    return model.select(*fields).where(belongs_to(model, of=of))


def get_scoped_or_404(model: type[M], pk: int | str) -> M:
    """One row of the current white-label by primary key; another tenant's row is a 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < pk < 2**63:  # no row has such an id, and SQLite cannot even compare one
        abort(404)
    row = scoped(model).where(model.id == pk).first()
    if row is None:
        abort(404)
    return row
