"""Balances are sums of ledger entries, never a stored number updated in place."""

from __future__ import annotations

from peewee import Case, Expression, fn

from .models import Customer, LedgerEntry, WhiteLabel
from .tenancy import belongs_to


def _balance(condition: Expression) -> int:
    # (peewee reads a unary minus as DESC, so the debit side is written as amount * -1)
    signed = Case(None, [(LedgerEntry.kind == LedgerEntry.CREDIT, LedgerEntry.amount)], LedgerEntry.amount * -1)
    return int(LedgerEntry.select(fn.COALESCE(fn.SUM(signed), 0)).where(condition).scalar() or 0)


def white_label_balance(white_label: WhiteLabel) -> int:
    """The white-label account's balance in minor units (negative when it owes)."""
    return _balance(belongs_to(LedgerEntry, of=white_label) & (LedgerEntry.account == LedgerEntry.WHITE_LABEL))


def customer_balance(customer: Customer) -> int:
    """A customer account's balance in minor units."""
    return _balance((LedgerEntry.customer == customer.id) & (LedgerEntry.account == LedgerEntry.CUSTOMER))


def available_credit(white_label: WhiteLabel) -> int:
    """What the white-label may still spend: balance plus credit limit."""
    return white_label_balance(white_label) + white_label.credit_limit
