"""The customers list as a CSV file: every customer the list's filters keep, in its order."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from ..models import Customer
from ..onboarding.options import option_of
from ..phones import display_phone
from ..spreadsheets import safe_cell
from ..tenancy import current_white_label
from .queries import LIST_COLUMNS, Filters, search_customers

HEADER = (
    "Business name",
    "Trading name",
    "Contact name",
    "Contact email",
    "Contact phone",
    "Plan",
    "Administered by",
    "Status",
    "Created",
    "Archived",
)
BATCH = 500

EXPORT_COLUMNS = (
    *LIST_COLUMNS,
    Customer.trading_name,
    Customer.contact_phone,
    Customer.archived_at,
)


def local_time(value: dt.datetime | None, time_zone: str) -> str:
    """A stored (UTC) time in the white-label's time zone, as spreadsheets read dates: 2026-11-27 14:05."""
    if value is None:
        return ""
    return value.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")


def customers_csv(filters: Filters) -> str:
    """The CSV text: a header row, then one row per customer the filters keep, read a batch at
    a time along the list's own keyset (no offset, so the last batch costs what the first does)."""
    white_label = current_white_label()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    after = None
    while True:
        page = search_customers(filters, 1, BATCH, after=after, columns=EXPORT_COLUMNS)
        for customer in page.rows:
            writer.writerow(
                safe_cell(value)
                for value in (
                    customer.business_name,
                    customer.trading_name,
                    customer.contact_name,
                    customer.contact_email,
                    display_phone(customer.contact_phone, white_label.country),
                    customer.plan.name if customer.plan_id else "",
                    option_of(customer).short_label,
                    customer.status_label,
                    local_time(customer.created_at, white_label.time_zone),
                    local_time(customer.archived_at, white_label.time_zone),
                )
            )
        if not page.has_next:
            return out.getvalue()
        after = page.next_cursor
