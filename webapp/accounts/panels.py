"""What the customer page shows about an account, gathered with a fixed number of queries."""

from __future__ import annotations

from peewee import JOIN

from ..ledger import customer_balance
from ..models import AuditEvent, Customer, LedgerEntry, PbxSettings, PhoneNumber, User
from ..tenancy import scoped
from .permissions import Access, Action
from .service import members

LEDGER_ROWS = 20
AUDIT_ROWS = 30


def customer_ledger(customer: Customer, limit: int = LEDGER_ROWS) -> list[LedgerEntry]:
    """The customer's own ledger (payments in, charges out), newest first."""
    return list(
        LedgerEntry.select()
        .where((LedgerEntry.customer == customer.id) & (LedgerEntry.account == LedgerEntry.CUSTOMER))
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .limit(limit)
    )


def numbers_full(customer: Customer, held: int) -> str:
    """Why no number can be assigned now (the plan's numbers are all in use), or "" when one can."""
    plan = customer.plan if customer.plan_id else None
    if plan is None or held < plan.included_numbers:
        return ""
    if plan.included_numbers == 1:
        return f"The {plan.name} plan includes 1 number, and it is in use. Release it or change the plan first."
    return (
        f"The {plan.name} plan includes {plan.included_numbers} numbers, and all are in use. "
        "Release one or change the plan first."
    )


def customer_panels(access: Access) -> dict:
    """Balance, ledger, numbers, PBX settings, users and the audit timeline of the account, and
    the free numbers of the inventory when the signed-in white-label member may assign them."""
    from ..customers.service import DETAIL_LABELS  # (customers imports this module)

    customer = access.customer
    timeline = list(
        AuditEvent.select(AuditEvent, User)
        .join(User, JOIN.LEFT_OUTER, on=(AuditEvent.actor == User.id))
        .where(AuditEvent.customer == customer.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(AUDIT_ROWS)
    )
    free_numbers = []
    if access.can(Action.MANAGE_NUMBERS):
        free_numbers = list(
            scoped(PhoneNumber).where(PhoneNumber.customer.is_null()).order_by(PhoneNumber.number).limit(200)
        )
    numbers = list(PhoneNumber.select().where(PhoneNumber.customer == customer.id).order_by(PhoneNumber.number))
    return {
        "balance": customer_balance(customer),
        "ledger": customer_ledger(customer),
        "numbers": numbers,
        "numbers_full": numbers_full(customer, len(numbers)),
        "free_numbers": free_numbers,
        "pbx": PbxSettings.get_or_none(PbxSettings.customer == customer.id),
        "members": members(customer),
        "timeline": timeline,
        "detail_labels": DETAIL_LABELS,
    }
