"""Reading customers for the current white-label (no request handling here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_login import current_user
from peewee import JOIN, Tuple

from ..models import Customer, CustomerDraft, Plan, User
from ..onboarding.wizard import Wizard
from ..tenancy import current_white_label, scoped

MAX_QUERY_LENGTH = 100

# Only what the list shows: building a model from every column costs more than the query.
# Any other field of a listed customer reads as its default; add it here before using it.
LIST_COLUMNS = (
    Customer.id,
    Customer.business_name,
    Customer.contact_first_name,
    Customer.contact_last_name,
    Customer.contact_email,
    Customer.plan,
    Customer.administered_by,
    Customer.status,
    Customer.created_at,
)

_CURSOR_TIME = "%Y%m%dT%H%M%S%f"


def cursor_for(customer: Customer) -> str:
    """A row's place in the list (newest first): its creation time and id, for page links."""
    return f"{customer.created_at.strftime(_CURSOR_TIME)}.{customer.id}"


def parse_cursor(value: str | None) -> tuple[dt.datetime, int] | None:
    """The (created_at, id) a cursor names, or None for anything malformed."""
    stamp, _, row_id = (value or "").partition(".")
    try:
        return dt.datetime.strptime(stamp, _CURSOR_TIME), int(row_id)
    except ValueError:
        return None


@dataclass
class Page:
    rows: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_cursor(self) -> str | None:
        return cursor_for(self.rows[-1]) if self.rows else None

    @property
    def previous_cursor(self) -> str | None:
        return cursor_for(self.rows[0]) if self.rows else None


def search_customers(
    query: str,
    page: int,
    per_page: int,
    *,
    after: str | None = None,
    before: str | None = None,
    status: str | None = None,
) -> Page:
    """One page of the current white-label's customers, newest first, matching `query`.

    The page links carry a cursor (`after` the last row shown, or `before` the first), so
    every page costs the same however deep it is; a bare page number (a typed or old URL)
    falls back to an offset. `status` keeps only customers in that status (the API's filter).
    """
    query = (query or "").strip().lower()[:MAX_QUERY_LENGTH]
    page = max(1, page)
    select = scoped(Customer, *LIST_COLUMNS, Plan.name, Plan.id).join_from(Customer, Plan, JOIN.LEFT_OUTER)
    for word in query.split()[:5]:
        select = select.where(Customer.search_text.contains(word))
    if status:
        select = select.where(Customer.status == status)
    newest_first = (Customer.created_at.desc(), Customer.id.desc())
    position = Tuple(Customer.created_at, Customer.id)
    # One row more than the page tells whether there is another page, without a COUNT(*).
    if (cursor := parse_cursor(after)) is not None:
        rows = list(select.where(position < Tuple(*cursor)).order_by(*newest_first).limit(per_page + 1))
        return Page(rows=rows[:per_page], number=page, per_page=per_page, has_next=len(rows) > per_page)
    if (cursor := parse_cursor(before)) is not None:
        rows = list(
            select.where(position > Tuple(*cursor))
            .order_by(Customer.created_at.asc(), Customer.id.asc())
            .limit(per_page + 1)
        )
        if rows:
            # Nothing newer than this page: it is the first page, whatever the link said.
            number = page if len(rows) > per_page else 1
            return Page(rows=rows[:per_page][::-1], number=number, per_page=per_page, has_next=True)
        page = 1
    rows = list(select.order_by(*newest_first).offset((page - 1) * per_page).limit(per_page + 1))
    return Page(rows=rows[:per_page], number=page, per_page=per_page, has_next=len(rows) > per_page)


def customer_detail(customer: Customer) -> dict:
    """What the customer page shows besides the customer itself."""
    creator = User.get_or_none(User.id == customer.created_by_id) if customer.created_by_id else None
    return {"creator": creator}


def open_drafts(limit: int = 20) -> list[Wizard]:
    """The signed-in administrator's unfinished wizard drafts, most recently touched first."""
    white_label = current_white_label()
    rows = (
        scoped(CustomerDraft)
        .where((CustomerDraft.created_by == current_user.id) & CustomerDraft.submitted_at.is_null())
        .order_by(CustomerDraft.updated_at.desc())
        .limit(limit)
    )
    return [Wizard(white_label, draft) for draft in rows]
