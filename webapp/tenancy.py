"""Tenant scoping in one place: every white-label query goes through these helpers."""
from __future__ import annotations

from flask import abort
from peewee import ModelSelect

from .models import WhiteLabel
from .security import current_membership


def current_white_label() -> WhiteLabel:
    """The signed-in user's white-label; views behind `white_label_required` always have one."""
    membership = current_membership()
    if membership is None:
        abort(403)
    return membership.white_label


def scoped(model, *fields) -> ModelSelect:
    """`model.select()` limited to the current white-label's rows."""
    return model.select(*fields).where(model.white_label == current_white_label().id)


def get_scoped_or_404(model, pk):
    """One row of the current white-label by primary key; another tenant's row is a 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        abort(404)
    row = scoped(model).where(model.id == pk).first()
    if row is None:
        abort(404)
    return row
