"""Reading customers for the current white-label (no request handling here)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from flask_login import current_user
from peewee import JOIN, Tuple

from ..models import Customer, CustomerDraft, PhoneNumber, Plan, User
from ..onboarding.options import option_for
from ..onboarding.wizard import Wizard
from ..phones import normalise_phone
from ..tenancy import belongs_to, current_white_label, scoped

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


@dataclass(frozen=True)
class Sort:
    """One order of the list: by a column, then by id, ascending or descending."""

    key: str
    label: str
    column: object
    descending: bool

    def value(self, customer: Customer) -> str:
        """A row's place in this order, as text for a page link."""
        if self.column is Customer.created_at:
            return customer.created_at.strftime(_CURSOR_TIME)
        return customer.business_name

    def parse(self, text: str):
        if self.column is Customer.created_at:
            return dt.datetime.strptime(text, _CURSOR_TIME)
        return text


SORTS = {
    sort.key: sort
    for sort in (
        Sort("newest", "Newest first", Customer.created_at, True),
        Sort("oldest", "Oldest first", Customer.created_at, False),
        Sort("name", "Name, A to Z", Customer.business_name, False),
        Sort("name_desc", "Name, Z to A", Customer.business_name, True),
    )
}
DEFAULT_SORT = "newest"


def cursor_for(customer: Customer, sort: Sort | None = None) -> str:
    """A row's place in the list (its sort value and id), for page links."""
    sort = sort or SORTS[DEFAULT_SORT]
    return f"{sort.value(customer)}.{customer.id}"


def parse_cursor(value: str | None, sort: Sort | None = None) -> tuple | None:
    """The (sort value, id) a cursor names, or None for anything malformed."""
    sort = sort or SORTS[DEFAULT_SORT]
    # A business name may hold dots: the id is after the last one.
    stamp, _, row_id = (value or "").rpartition(".")
    try:
        return sort.parse(stamp), int(row_id)
    except ValueError:
        return None


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to and how it is ordered, read from the page's query string.
    Anything unknown reads as its default, so a mangled link shows the plain list."""

    query: str = ""
    status: str = ""  # one of Customer.STATUSES, or "" for any
    administered_by: str = ""  # an option's key, or "" for anyone
    archived: bool = False  # include archived customers
    sort: str = DEFAULT_SORT

    @classmethod
    def from_args(cls, args) -> Filters:
        status = args.get("status", "")
        option = option_for(args.get("administered_by"))
        sort = args.get("sort", DEFAULT_SORT)
        return cls(
            query=(args.get("q") or "").strip()[:MAX_QUERY_LENGTH],
            status=status if status in Customer.STATUSES else "",
            administered_by=option.key if option else "",
            archived=args.get("archived") in ("1", "on", "true"),
            sort=sort if sort in SORTS else DEFAULT_SORT,
        )

    def as_args(self) -> dict:
        """The filters as query-string arguments for url_for (defaults left out)."""
        args = {
            "q": self.query,
            "status": self.status,
            "administered_by": self.administered_by,
            "archived": "1" if self.archived else "",
            "sort": "" if self.sort == DEFAULT_SORT else self.sort,
        }
        return {name: value for name, value in args.items() if value}

    @property
    def narrowed(self) -> bool:
        """Whether anything but the order hides customers the plain list would show."""
        return bool(self.query or self.status or self.administered_by)

    @property
    def order(self) -> Sort:
        return SORTS[self.sort]


@dataclass
class Page:
    rows: list
    number: int
    per_page: int
    has_next: bool
    sort: Sort = SORTS[DEFAULT_SORT]

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_cursor(self) -> str | None:
        return cursor_for(self.rows[-1], self.sort) if self.rows else None

    @property
    def previous_cursor(self) -> str | None:
        return cursor_for(self.rows[0], self.sort) if self.rows else None


PHONE_MATCHES = 1000  # customers one phone number search can find (a number is rarely shared)
PHONE_LIKE = re.compile(r"\+?[\d\s().-]+")


def phone_searched(query: str, country: str) -> str | None:
    """The E.164 number a search for a phone number means, in any format people type one
    ("09 555 0100", "+64 9 555 0100", "0064 9-555-0100", "6495550100"), or None when the
    search is not a phone number."""
    if not PHONE_LIKE.fullmatch(query) or sum(c.isdigit() for c in query) < 6:
        return None
    for candidate in (query, "+" + query.lstrip("0+ ")):
        try:
            return normalise_phone(candidate, country)
        except ValueError:
            continue
    return None


def filtered_customers(filters: Filters, columns=LIST_COLUMNS):
    """The current white-label's customers the filters keep, unordered (the list's and the
    export's query)."""
    select = scoped(Customer, *columns, Plan.name, Plan.id).join_from(Customer, Plan, JOIN.LEFT_OUTER)
    query = filters.query.lower()
    number = phone_searched(query, current_white_label().country) if query else None
    if number is not None:
        # A phone number is looked up on what is stored (E.164): the contact's number or one
        # of the account's numbers. Two index lookups first, then the list by id: one query with
        # an OR of the two made both databases walk every customer of the white-label.
        contacts = scoped(Customer, Customer.id).where(Customer.contact_phone == number).limit(PHONE_MATCHES)
        owners = PhoneNumber.select(PhoneNumber.customer).where(
            belongs_to(PhoneNumber) & (PhoneNumber.number == number) & PhoneNumber.customer.is_null(False)
        )
        ids = {row[0] for row in contacts.tuples()} | {row[0] for row in owners.tuples()}
        select = select.where(Customer.id.in_(sorted(ids) or [0]))
    else:
        for word in query.split()[:5]:
            select = select.where(Customer.search_text.contains(word))
    if filters.status:
        select = select.where(Customer.status == filters.status)
    if filters.administered_by:
        select = select.where(Customer.administered_by == option_for(filters.administered_by).key)
    if not filters.archived:
        select = select.where(Customer.archived_at.is_null())
    return select


def search_customers(
    query: str | Filters,
    page: int,
    per_page: int,
    *,
    after: str | None = None,
    before: str | None = None,
    status: str | None = None,
    columns=LIST_COLUMNS,
) -> Page:
    """One page of the current white-label's customers, in the filters' order (newest first
    unless asked otherwise), matching the search and filters.

    The page links carry a cursor (`after` the last row shown, or `before` the first), so
    every page costs the same however deep it is; a bare page number (a typed or old URL)
    falls back to an offset. `status` keeps only customers in that status (the API's filter).
    """
    if not isinstance(query, Filters):
        # The API's search: every customer, archived ones too (archiving tidies the console's list).
        query = Filters(query=(query or "").strip()[:MAX_QUERY_LENGTH], archived=True)
    filters = query
    if status:
        filters = replace(filters, status=status)
    sort = filters.order
    page = max(1, page)
    select = filtered_customers(filters, columns)
    forward = (sort.column.desc(), Customer.id.desc()) if sort.descending else (sort.column.asc(), Customer.id.asc())
    backward = (sort.column.asc(), Customer.id.asc()) if sort.descending else (sort.column.desc(), Customer.id.desc())
    position = Tuple(sort.column, Customer.id)

    def beyond(cursor):
        return position < Tuple(*cursor) if sort.descending else position > Tuple(*cursor)

    def before_of(cursor):
        return position > Tuple(*cursor) if sort.descending else position < Tuple(*cursor)

    # One row more than the page tells whether there is another page, without a COUNT(*).
    if (cursor := parse_cursor(after, sort)) is not None:
        rows = list(select.where(beyond(cursor)).order_by(*forward).limit(per_page + 1))
        return Page(rows=rows[:per_page], number=page, per_page=per_page, has_next=len(rows) > per_page, sort=sort)
    if (cursor := parse_cursor(before, sort)) is not None:
        rows = list(select.where(before_of(cursor)).order_by(*backward).limit(per_page + 1))
        if rows:
            # Nothing before this page: it is the first page, whatever the link said.
            number = page if len(rows) > per_page else 1
            return Page(rows=rows[:per_page][::-1], number=number, per_page=per_page, has_next=True, sort=sort)
        page = 1
    rows = list(select.order_by(*forward).offset((page - 1) * per_page).limit(per_page + 1))
    return Page(rows=rows[:per_page], number=page, per_page=per_page, has_next=len(rows) > per_page, sort=sort)


def customer_detail(customer: Customer) -> dict:
    """What the customer page shows besides the customer itself."""
    creator = User.get_or_none(User.id == customer.created_by_id) if customer.created_by_id else None
    return {"creator": creator}


@dataclass
class Drafts:
    """The signed-in administrator's unfinished drafts: the most recent ones, and how many in all."""

    shown: list
    total: int

    def __bool__(self) -> bool:
        return bool(self.shown)

    def __len__(self) -> int:
        return self.total

    def __iter__(self):
        return iter(self.shown)

    @property
    def collapsed(self) -> bool:
        """More than three: the panel shows a count and opens on request."""
        return self.total > COLLAPSE_DRAFTS_ABOVE


COLLAPSE_DRAFTS_ABOVE = 3


def open_drafts(limit: int = 20) -> Drafts:
    """The signed-in administrator's unfinished wizard drafts, most recently touched first."""
    white_label = current_white_label()
    mine = scoped(CustomerDraft).where(
        (CustomerDraft.created_by == current_user.id) & CustomerDraft.submitted_at.is_null()
    )
    rows = [Wizard(white_label, draft) for draft in mine.order_by(CustomerDraft.updated_at.desc()).limit(limit)]
    total = len(rows) if len(rows) < limit else mine.count()
    return Drafts(rows, total)
