from flask import current_app
from htmx_flask import request

from ..models import Customer
from ..security import is_admin, white_label_required
from ..templating import render, wants_partial
from ..tenancy import get_scoped_or_404
from . import bp
from .queries import customer_detail, open_drafts, search_customers


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


@bp.get("/")
@white_label_required
def index():
    """The white-label's customers, newest first, with search and pagination."""
    query = request.args.get("q", "")
    page = search_customers(
        query, _page_number(), current_app.config["CUSTOMERS_PER_PAGE"],
        after=request.args.get("after"), before=request.args.get("before"),
    )
    # The drafts box is part of the full page only: search-as-you-type and page links get the
    # results partial and need no drafts query.
    drafts = open_drafts() if is_admin() and not wants_partial() else []
    return render("customers/index.html", "customers/_results.html", page=page, query=query, drafts=drafts)


@bp.get("/<int:customer_id>")
@white_label_required
def show(customer_id: int):
    """One customer of the current white-label; any other customer is a 404."""
    customer = get_scoped_or_404(Customer, customer_id)
    return render("customers/show.html", customer=customer, **customer_detail(customer))
