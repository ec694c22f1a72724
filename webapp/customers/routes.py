from flask import current_app
from htmx_flask import request

from ..accounts.panels import customer_panels
from ..accounts.permissions import white_label_access
from ..activation.service import awaiting_activation, tracker
from ..http import page_number
from ..security import is_admin, white_label_required
from ..templating import render, wants_partial
from . import bp
from .queries import customer_detail, open_drafts, search_customers


@bp.get("/")
@white_label_required
def index():
    """The white-label's customers, newest first, with search and pagination."""
    query = request.args.get("q", "")
    page = search_customers(
        query,
        page_number(),
        current_app.config["CUSTOMERS_PER_PAGE"],
        after=request.args.get("after"),
        before=request.args.get("before"),
    )
    # The drafts box is part of the full page only: search-as-you-type and page links get the
    # results partial and need no drafts query.
    drafts = open_drafts() if is_admin() and not wants_partial() else []
    return render("customers/index.html", "customers/_results.html", page=page, query=query, drafts=drafts)


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
