"""The audit trail: who did what, when, to which customer (or to the white-label's own settings
when there is no customer). Every change people make is written here, in the change's own
transaction; the customer page's history and the API read it back."""

from __future__ import annotations

import json

from .models import AuditEvent, Customer, User, WhiteLabel


def audit(
    white_label: WhiteLabel | int,
    action: str,
    *,
    customer: Customer | int | None = None,
    actor: User | int | None = None,
    note: str | None = None,
    **fields,
) -> AuditEvent:
    """Write one event. `fields` are stored as JSON (what changed, ids, amounts: never a secret);
    `note` is a sentence stored as it is, for events that are one."""
    detail = note if note is not None else (json.dumps(fields) if fields else "")
    return AuditEvent.create(white_label=white_label, customer=customer, actor=actor, action=action, detail=detail)
