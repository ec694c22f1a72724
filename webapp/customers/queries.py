"""Reading customers for the current white-label (no request handling here)."""
from __future__ import annotations

from dataclasses import dataclass

from peewee import JOIN

from flask_login import current_user

from ..models import Customer, CustomerDraft, Plan, User
from ..tenancy import scoped

MAX_QUERY_LENGTH = 100


@dataclass
class Page:
    rows: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def search_customers(query: str, page: int, per_page: int) -> Page:
    """One page of the current white-label's customers, newest first, matching `query`."""
    query = (query or "").strip().lower()[:MAX_QUERY_LENGTH]
    page = max(1, page)
    select = (
        scoped(Customer, Customer, Plan.name, Plan.id)
        .join_from(Customer, Plan, JOIN.LEFT_OUTER)
        .order_by(Customer.created_at.desc(), Customer.id.desc())
    )
    for word in query.split()[:5]:
        select = select.where(Customer.search_text.contains(word))
    # One row more than the page tells whether there is a next page without a COUNT(*).
    rows = list(select.offset((page - 1) * per_page).limit(per_page + 1))
    return Page(rows=rows[:per_page], number=page, per_page=per_page, has_next=len(rows) > per_page)


def customer_detail(customer: Customer) -> dict:
    """What the customer page shows besides the customer itself."""
    creator = User.get_or_none(User.id == customer.created_by_id) if customer.created_by_id else None
    return {"creator": creator}


def open_drafts(limit: int = 20) -> list[CustomerDraft]:
    """The signed-in administrator's unfinished wizard drafts, most recently touched first."""
    return list(
        scoped(CustomerDraft)
        .where((CustomerDraft.created_by == current_user.id) & CustomerDraft.submitted_at.is_null())
        .order_by(CustomerDraft.updated_at.desc())
        .limit(limit)
    )
