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
    return {
        "balance": customer_balance(customer),
        "ledger": customer_ledger(customer),
        "numbers": list(PhoneNumber.select().where(PhoneNumber.customer == customer.id).order_by(PhoneNumber.number)),
        "free_numbers": free_numbers,
        "pbx": PbxSettings.get_or_none(PbxSettings.customer == customer.id),
        "members": members(customer),
        "timeline": timeline,
        "detail_labels": DETAIL_LABELS,
    }
