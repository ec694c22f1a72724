"""The API's endpoints. Views turn JSON into calls of the console's own services and the
answers back into JSON; every rule lives in those services and the wizard's forms."""

from __future__ import annotations

import datetime as dt
import json
import re

from flask import Response, current_app, g, request, url_for
from spectree import Response as Answers

from ..activation import service as activation
from ..customers.queries import LIST_COLUMNS, parse_cursor, search_customers
from ..ledger import customer_balance
from ..models import Customer, CustomerMembership, PhoneNumber, Plan, User, utcnow
from ..onboarding import service as onboarding
from ..onboarding.options import option_for, option_of
from ..onboarding.steps import NUMBERS
from ..onboarding.wizard import Wizard
from ..phones import display_phone
from ..ratelimits import count_or_refuse
from ..tenancy import get_scoped_or_404, scoped
from . import bp, idempotency, schemas
from .openapi import document, spec
from .problems import Problem
from .schemas import FORM_FIELDS

PROBLEM = schemas.Problem
TAG_CUSTOMERS, TAG_CATALOGUE = "Customers", "Plans and numbers"


def _json(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(data, separators=(",", ":")), status=status, mimetype="application/json", headers=headers
    )


def _time(value: dt.datetime | None) -> str | None:
    """Stored (naive UTC) times as RFC 3339."""
    return value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _money(amount: int, currency: str) -> dict:
    return {"amount": int(amount), "currency": currency}


def _actor() -> User:
    """The key acts as the administrator who made it (authentication checked they still are one,
    and loaded them with the key)."""
    return g.api_key.created_by


def _via() -> str:
    return f"api key {g.api_key.prefix}"


def _plan(plan: Plan | None) -> dict | None:
    if plan is None:
        return None
    currency = g.api_white_label.currency
    return {
        "id": plan.id,
        "name": plan.name,
        "monthly_price": _money(plan.monthly_price, currency),
        "min_opening_balance": _money(plan.min_opening_balance, currency),
        "included_numbers": plan.included_numbers,
    }


def _activation(customer: Customer, found: dict | None) -> dict | None:
    """The activation block from `activation.tracker(customer)` (or what stands for it)."""
    if found is None:
        return None
    latest = found["latest"]
    if customer.status == Customer.CANCELLED:
        state = "cancelled"
    elif latest.used_at is not None or activation.activated(customer):
        state = "activated"
    elif customer.status == Customer.EXPIRED or latest.expires_at <= utcnow():
        state = "expired"
    elif found["opened_at"] is not None:
        state = "opened"
    else:
        state = "pending"
    return {
        "state": state,
        "emails_sent": found["sent_count"],
        "sent_at": _time(latest.created_at),
        "expires_at": _time(latest.expires_at),
        "opened_at": _time(found["opened_at"]),
        "activated_at": _time(customer.activated_at if state == "activated" else None),
    }


def _address(customer: Customer, service: bool = False) -> dict:
    prefix = "service_" if service else ""
    line = "service_line" if service else "address_line"
    return {
        "line1": getattr(customer, f"{line}1"),
        "line2": getattr(customer, f"{line}2"),
        "city": getattr(customer, f"{prefix}city"),
        "region": getattr(customer, f"{prefix}region"),
        "postcode": getattr(customer, f"{prefix}postcode"),
        "country": getattr(customer, f"{prefix}country"),
    }


def _administrators(customer: Customer) -> list[dict]:
    rows = (
        User.select(User.first_name, User.last_name, User.email)
        .join(CustomerMembership, on=(CustomerMembership.user == User.id))
        .where(
            (CustomerMembership.customer == customer.id)
            & (CustomerMembership.active == True)  # noqa: E712
            & (CustomerMembership.role == CustomerMembership.ACCOUNT_ADMINISTRATOR)
        )
        .order_by(User.id)
    )
    return [{"name": user.full_name, "email": user.email} for user in rows]


def _numbers(customer: Customer) -> list[str]:
    return [
        row.number
        for row in PhoneNumber.select(PhoneNumber.number)
        .where(PhoneNumber.customer == customer.id)
        .order_by(PhoneNumber.number)
    ]


def customer_json(customer: Customer, *, just_created: bool = False) -> dict:
    """Everything a shop follows about one customer.

    `just_created`: the customer was created in this transaction, by this request, so what
    cannot have happened yet is not looked up: nothing on its own ledger (the white-label
    option's first month goes on the white-label's), no numbers or account administrators
    unless its option gives them at creation, and one activation email, unopened, when its
    option sends one. The answer is the same as a GET's (tests/test_api.py checks it)."""
    option = option_of(customer)
    if just_created:
        numbers = _numbers(customer) if NUMBERS in option.steps else []
        plan = customer.plan  # the row the create chose, already in hand
        administrators = _administrators(customer) if option.white_label_administers else []
        balance = 0
        found = None
        latest = customer.first_activation_link  # set by create_customer when its option sends one
        if latest is not None:
            found = {"latest": latest, "opened_at": None, "sent_count": 1}
    else:
        numbers = _numbers(customer)
        plan = Plan.get_or_none(Plan.id == customer.plan_id) if customer.plan_id else None
        administrators = _administrators(customer)
        balance = customer_balance(customer)
        found = activation.tracker(customer)
    return {
        "id": customer.id,
        "business_name": customer.business_name,
        "trading_name": customer.trading_name,
        "business_number": customer.business_number,
        "contact": {
            "first_name": customer.contact_first_name,
            "last_name": customer.contact_last_name,
            "email": customer.contact_email,
            "phone": customer.contact_phone,
        },
        "address": _address(customer),
        "service_address": _address(customer, service=True),
        "status": customer.status,
        "status_label": customer.status_label,
        "administered_by": {
            "option": option.key,
            "label": option.short_label,
            "account_administrators": administrators,
        },
        "plan": _plan(plan),
        "balance": _money(balance, g.api_white_label.currency),
        "numbers": numbers,
        "activation": _activation(customer, found),
        "created_at": _time(customer.created_at),
        "activated_at": _time(customer.activated_at),
        "archived_at": _time(customer.archived_at),
    }


def _form_errors(step_slug: str, form) -> list[dict]:
    """A step form's errors as JSON pointers into the request body."""
    places = FORM_FIELDS.get(step_slug, {})
    errors = []
    for name, messages in form.errors.items():
        pointer = places.get(name, f"/{step_slug}")
        errors.extend({"pointer": pointer, "detail": str(message)} for message in messages)
    return errors


def _refused(problem: onboarding.StepProblem, wizard: Wizard) -> Problem:
    form = problem.form
    if form is None:  # found taken while writing (a number): the step's form now says which
        form = wizard.form(problem.step, stored=True)
        form.validate()
    errors = _form_errors(problem.step.slug, form) or [
        {
            "pointer": next(iter(FORM_FIELDS.get(problem.step.slug, {}).values()), "/"),
            "detail": "This answer is no longer possible. Check it and send the request again.",
        }
    ]
    return Problem("validation", errors=errors)


# --- Customers ---------------------------------------------------------------------------------

COMMON = {"HTTP_401": PROBLEM, "HTTP_429": PROBLEM}
WRITE = {
    **COMMON,
    "HTTP_400": PROBLEM,
    "HTTP_403": PROBLEM,
    "HTTP_413": PROBLEM,
    "HTTP_415": PROBLEM,
    "HTTP_422": PROBLEM,
}


@bp.post("/customers")
@spec.validate(
    json=schemas.CreateCustomer,
    resp=Answers(HTTP_201=schemas.CustomerOut, **WRITE),
    tags=[TAG_CUSTOMERS],
    operation_id="createCustomer",
)
def create_customer():
    """Create a customer.

    `option` says who will administer the account. `customer`: the customer is created Pending
    activation and the contact is emailed an activation link (the white-label needs a payment
    gateway). `white_label`: the customer is Active at once, the first month is charged to the
    white-label's account, the chosen numbers are assigned and the key's administrator becomes
    the Account Administrator. Refusals (no payment gateway, not enough credit, a number taken,
    a PO box as service address...) are 422 with the console's words.
    """
    body = request.context.json.root
    option = option_for(body.option)

    def lock():
        # The white-label row first, as the console's submit does (locked when the option
        # charges it: the credit check runs one create at a time).
        g.locked_white_label = onboarding.lock_white_label(g.api_white_label, option)

    def change() -> Response:
        white_label = g.locked_white_label
        wizard = Wizard.from_answers(white_label, option, schemas.answers(body))
        try:
            customer = onboarding.create_customer(wizard, _actor(), via=_via())
        except onboarding.StepProblem as problem:
            raise _refused(problem, wizard) from None
        location = url_for("api.get_customer", customer_id=customer.id)
        return _json(customer_json(customer, just_created=True), 201, {"Location": location})

    return idempotency.run(change, lock=lock)


API_LIST_COLUMNS = (*LIST_COLUMNS, Customer.archived_at)  # the console list's, and whether archived


@bp.get("/customers")
@spec.validate(
    query=schemas.CustomerQuery,
    resp=Answers(HTTP_200=schemas.CustomerList, HTTP_422=PROBLEM, **COMMON),
    tags=[TAG_CUSTOMERS],
    operation_id="listCustomers",
)
def list_customers():
    """List customers, newest first.

    Pages are cursor-based: pass `next_cursor` as `cursor` for the next page. Customers
    created while you page through do not shift or repeat the pages you have not read yet.
    """
    query = request.context.query
    if query.cursor and parse_cursor(query.cursor) is None:
        raise Problem(
            "validation", errors=[{"parameter": "cursor", "detail": "Use the next_cursor of a previous page."}]
        )
    page = search_customers(
        query.q, 1, query.limit, after=query.cursor or None, status=query.status, columns=API_LIST_COLUMNS
    )
    rows = [
        {
            "id": c.id,
            "business_name": c.business_name,
            "contact_name": c.contact_name,
            "contact_email": c.contact_email,
            "status": c.status,
            "administered_by": c.administered_by,
            "plan": {"id": c.plan.id, "name": c.plan.name} if c.plan_id and c.plan and c.plan.id else None,
            "created_at": _time(c.created_at),
            "archived_at": _time(c.archived_at),
        }
        for c in page.rows
    ]
    return _json({"data": rows, "has_more": page.has_next, "next_cursor": page.next_cursor if page.has_next else None})


@bp.get("/customers/<int:customer_id>")
@spec.validate(
    resp=Answers(HTTP_200=schemas.CustomerOut, HTTP_404=PROBLEM, **COMMON),
    tags=[TAG_CUSTOMERS],
    operation_id="getCustomer",
)
def get_customer(customer_id: int):
    """One customer: status, who administers it, activation state and expiry, balance, plan and numbers."""
    return _json(customer_json(get_scoped_or_404(Customer, customer_id)))


def _awaiting_activation(customer_id: int) -> Customer:
    """The console's rule for Resend and Cancel: a customer who activates by email and has not."""
    customer = get_scoped_or_404(Customer, customer_id)
    if not activation.awaiting_activation(customer):
        raise Problem(
            "conflict",
            f"{customer.business_name} is {customer.status_label.lower()}: only a customer "
            "waiting for activation (pending or expired) can be sent a new link or cancelled.",
        )
    return customer


def _resend_limit() -> str:
    return current_app.config["RESEND_RATE_LIMIT"]


STATE_CHANGE = {
    **COMMON,
    "HTTP_400": PROBLEM,
    "HTTP_403": PROBLEM,
    "HTTP_404": PROBLEM,
    "HTTP_409": PROBLEM,
    "HTTP_422": PROBLEM,
}


@bp.post("/customers/<int:customer_id>/activation/resend")
@spec.validate(
    resp=Answers(HTTP_200=schemas.CustomerOut, **STATE_CHANGE), tags=[TAG_CUSTOMERS], operation_id="resendActivation"
)
def resend_activation(customer_id: int):
    """Email the customer a new activation link; every older link stops working. An expired
    customer becomes pending again. Limited per customer (as in the console)."""

    def change() -> Response:
        customer = _awaiting_activation(customer_id)
        # The console's limit and counter: resends through both doors add up, counted only
        # once the customer is found in the key's white-label and waiting for activation.
        count_or_refuse(_resend_limit(), "resend-activation", str(customer.id))
        activation.resend(customer, _actor())
        return _json(customer_json(Customer.get_by_id(customer.id)))

    return idempotency.run(change)


@bp.post("/customers/<int:customer_id>/activation/cancel")
@spec.validate(
    resp=Answers(HTTP_200=schemas.CustomerOut, **STATE_CHANGE), tags=[TAG_CUSTOMERS], operation_id="cancelActivation"
)
def cancel_activation(customer_id: int):
    """Cancel a customer who has not activated: their activation link stops working."""

    def change() -> Response:
        customer = _awaiting_activation(customer_id)
        activation.cancel(customer, _actor())
        return _json(customer_json(Customer.get_by_id(customer.id)))

    return idempotency.run(change)


@bp.post("/customers/<int:customer_id>/users")
@spec.validate(
    json=schemas.InviteUser,
    resp=Answers(HTTP_201=schemas.UserOut, **STATE_CHANGE, HTTP_413=PROBLEM, HTTP_415=PROBLEM),
    tags=[TAG_CUSTOMERS],
    operation_id="inviteUser",
)
def invite_user(customer_id: int):
    """Invite a person into a customer account the white-label administers: they are emailed a
    link to set their password. Customers who administer their own account add their own users."""
    from ..accounts import service as accounts

    body = request.context.json

    def change() -> Response:
        customer = get_scoped_or_404(Customer, customer_id)
        if not option_of(customer).white_label_administers:
            raise Problem(
                "forbidden",
                f"{customer.business_name} administers their own account: their Account Administrators add its users.",
            )
        if customer.status not in (Customer.ACTIVE, Customer.SUSPENDED):
            raise Problem(
                "conflict",
                f"{customer.business_name} is {customer.status_label.lower()}: users can be "
                "added to active or suspended accounts only.",
            )
        try:
            membership = accounts.invite_from_answers(customer, _actor(), body.model_dump())
        except accounts.AnswersRefused as refused:
            raise Problem(
                "validation",
                errors=[
                    {"pointer": f"/{name}", "detail": message}
                    for name, messages in refused.errors.items()
                    for message in messages
                ],
            ) from None
        except accounts.AccountProblem as problem:
            raise Problem(
                "validation", errors=[{"pointer": f"/{problem.field or 'email'}", "detail": problem.message}]
            ) from None
        # Only what the shop sent, and the membership's own state: never anything of an account
        # the email may already have (the same rule as the console, issue 12).
        return _json(
            {
                "id": membership.id,
                "first_name": membership.invited_first_name,
                "last_name": membership.invited_last_name,
                "email": membership.user.email,
                "role": membership.role,
                "extension": membership.extension,
                "status": membership.status,
                "invited": membership.status == membership.INVITED,
            },
            201,
        )

    return idempotency.run(change)


# --- Plans and numbers ------------------------------------------------------------------------


@bp.get("/plans")
@spec.validate(resp=Answers(HTTP_200=schemas.PlanList, **COMMON), tags=[TAG_CATALOGUE], operation_id="listPlans")
def list_plans():
    """The white-label's plans a new customer can choose, in the console's order."""
    plans = scoped(Plan).where(Plan.active == True).order_by(Plan.sort_order, Plan.id)  # noqa: E712
    return _json({"data": [_plan(plan) for plan in plans]})


@bp.get("/numbers/available")
@spec.validate(
    query=schemas.NumberQuery,
    resp=Answers(HTTP_200=schemas.NumberList, HTTP_422=PROBLEM, **COMMON),
    tags=[TAG_CATALOGUE],
    operation_id="listAvailableNumbers",
)
def available_numbers():
    """Numbers of the white-label's inventory not assigned to anyone, in order; for `numbers`
    when creating a customer administered by the white-label."""
    query = request.context.query
    if query.cursor and not re.fullmatch(r"\+\d{1,19}", query.cursor):
        raise Problem(
            "validation", errors=[{"parameter": "cursor", "detail": "Use the next_cursor of a previous page."}]
        )
    select = scoped(PhoneNumber, PhoneNumber.number).where(PhoneNumber.customer.is_null())
    digits = re.sub(r"\D", "", query.contains)[:20]
    if digits:
        select = select.where(PhoneNumber.number.contains(digits))
    if query.cursor:
        select = select.where(PhoneNumber.number > query.cursor)
    rows = [row.number for row in select.order_by(PhoneNumber.number).limit(query.limit + 1)]
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return _json(
        {
            "data": [{"number": n, "display": display_phone(n)} for n in rows],
            "has_more": more,
            "next_cursor": rows[-1] if more else None,
        }
    )


# --- The document -----------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI 3.1 document (public: it describes, it holds no data)."""
    response = _json(document())
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
