from flask import current_app, make_response
from htmx_flask import request
from jinja2 import pass_context

from ..accounts.panels import customer_panels
from ..accounts.permissions import white_label_access
from ..activation.service import awaiting_activation, tracker
from ..http import page_number
from ..models import Customer, utcnow
from ..onboarding.options import OPTIONS
from ..onboarding.wizard import DISCARD_AGES
from ..phones import country_name, phone_filter
from ..security import is_admin, white_label_required
from ..templating import render, wants_partial
from . import bp
from .export import customers_csv
from .queries import SORTS, Filters, customer_detail, open_drafts, search_customers


@bp.get("/")
@white_label_required
def index():
    """The white-label's customers, newest first, with search, filters, sorting and pagination."""
    filters = Filters.from_args(request.args)
    page = search_customers(
        filters,
        page_number(),
        current_app.config["CUSTOMERS_PER_PAGE"],
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    # The drafts box is part of the full page only: search-as-you-type and page links get the
    # results partial and need no drafts query.
    drafts = open_drafts() if is_admin() and not wants_partial() else []
    return render(
        "customers/index.html",
        "customers/_results.html",
        page=page,
        filters=filters,
        query=filters.query,
        drafts=drafts,
        sorts=SORTS.values(),
        statuses=Customer.STATUS_LABELS,
        options=OPTIONS,
        discard_ages=DISCARD_AGES,
    )


@bp.get("/export.csv")
@white_label_required
def export():
    """The list as it is filtered, every page of it, as a CSV file for a spreadsheet."""
    filters = Filters.from_args(request.args)
    response = make_response(customers_csv(filters))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    stamp = utcnow().strftime("%Y-%m-%d")
    response.headers["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:customer_id>")
@white_label_required
def show(customer_id: int):
    """One customer of the current white-label, its account and activation; any other customer is a 404."""
    return customer_page(white_label_access(customer_id))


def customer_page(access, *, status: int = 200, headers: dict | None = None, **refusals):
    """The customer page; `refusals` (number=..., resend=...) are shown next to the control
    they refuse, so a refusal is never out of view at the top of the page."""
    customer = access.customer
    response = render(
        "customers/show.html",
        status=status,
        customer=customer,
        access=access,
        p=customer_panels(access),
        track=tracker(customer),
        awaiting=awaiting_activation(customer),
        refusals=refusals,
        **customer_detail(customer),
    )
    response.headers.update(headers or {})
    return response


@bp.app_template_filter("detail_value")
@pass_context
def detail_value(context, value, name: str) -> str:
    """One side of a change in the history (customer_edited): as the customer page shows it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value in (None, ""):
        return "(empty)"
    if name == "contact_phone":
        return phone_filter(context, value)
    if name in ("country", "service_country"):
        return country_name(value)
    return str(value)
