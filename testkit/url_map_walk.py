"""Walking `app.url_map` for the generated checks (isolation, CSRF, GET never writes).

Every route is covered without anyone listing it. What the walk cannot guess lives in the
small tables below: how to fill each URL variable with a real object, and which routes are
public on purpose. A route with a variable missing from FILL makes the checks fail, naming
the route and the variable, so a new route cannot slip past them.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from testkit.client import csrf_token, sign_in
from testkit.wizard import (
    CONTACT,
    complete_customer_option,
    complete_white_label_option,
    post,
)
from webapp.extensions import db
from webapp.models import Customer, CustomerMembership, PhoneNumber, User, WebhookDelivery, WhiteLabel


@dataclass
class Targets:
    """Real objects of the demo white-label (Demo Telecom) that the routes are called with."""

    pending_customer_id: int  # Rimu Accounting: pending activation, administered by the customer
    account_customer_id: int  # made by the wizard, administered by Demo Telecom's administrator
    membership_id: int  # a second person (a user) in that account
    number_id: int  # a number assigned to that account
    draft_key: str  # a draft with every step answered, not submitted
    submitted_draft_keys: list[str]  # drafts that became customers (one of each option)
    white_label_id: int
    unknown_token: str  # looks like an emailed token, but none was ever issued
    webhook_endpoint_id: int  # Demo Telecom's webhook endpoint (nothing listens at its URL)
    webhook_delivery_id: int  # an event queued for it
    api_key_id: int = 0  # a live API key of Demo Telecom (Settings > API keys)
    import_id: int = 0  # a checked, unconfirmed import of one customer (Customers > Import)
    template_id: int = 0  # a customer template of Demo Telecom (Settings > Templates)


# How to fill each URL variable: variable name -> values to try (each one is called).
# FILL_FOR wins over FILL for an endpoint ("blueprint.view") or a whole blueprint ("blueprint").
FILL = {
    "customer_id": lambda t: [t.pending_customer_id, t.account_customer_id],
    "membership_id": lambda t: [t.membership_id],
    "number_id": lambda t: [t.number_id],
    "key": lambda t: [t.draft_key, *t.submitted_draft_keys],
    "slug": lambda t: ["contact", "review"],
    "field": lambda t: ["email", "phone"],
    "token": lambda t: [t.unknown_token],
    "white_label_id": lambda t: [t.white_label_id],
    "filename": lambda t: ["app.css"],
    "endpoint_id": lambda t: [t.webhook_endpoint_id],
    "delivery_id": lambda t: [t.webhook_delivery_id],
    "key_id": lambda t: [t.api_key_id],
    "brand_slug": lambda t: ["demo-telecom"],
    "import_id": lambda t: [t.import_id],
    "template_id": lambda t: [t.template_id],
}
FILL_FOR: dict[tuple[str, str], object] = {
    # A customer's own pages: the account whose administrator is Demo Telecom's administrator.
    ("accounts", "customer_id"): lambda t: [t.account_customer_id],
    # Managing a customer's account is for the ones the white-label administers.
    ("manage", "customer_id"): lambda t: [t.account_customer_id],
    # Viewing as the customer is for accounts the customer administers (this one still pending: 409).
    ("support", "customer_id"): lambda t: [t.pending_customer_id],
}

# Routes anyone may open, and why. Every other route refuses other tenants and visitors.
PUBLIC_ROUTES = {
    "auth.login": "the sign-in page, also at each white-label's own address (/s/<slug>/sign-in), which its "
    "customers' emails link to: it shows the white-label's name and support contact, nothing of its customers",
    "static": "the app's own CSS, JavaScript and icons",
    "branding.css": "a white-label's accent colour, which its customers' activation page needs before sign-in",
    "payments.stripe_webhook": "Stripe posts payment events here; each is verified by the white-label's signing "
    "secret (HMAC over the body and a timestamp), not by a session",
    "health.healthz": "load balancers poll it without signing in; it says only that the process answers",
    "health.readyz": "load balancers and deploys poll it without signing in; it says which check failed, nothing "
    "secret (no addresses, counts or error text)",
    "metrics.metrics": "Prometheus scrapes it without a session: it answers only METRICS_ALLOWED_ADDRESSES (direct "
    "connections) or the METRICS_TOKEN, and holds figures, never people or secrets",
}

# POST routes that take no CSRF token, and what proves the sender instead. The CSRF walk checks
# that they still refuse a post without that proof (400) and change nothing.
CSRF_EXEMPT = {
    "payments.stripe_webhook": "Stripe's signature (Stripe-Signature header) over the body",
}

# The integration API (/api/v1) answers bearer keys, never cookies: every caller of the console
# walks (a session, with or without a CSRF token) gets 401 there. tests/test_api_isolation.py
# walks the same rules with keys instead.
API_BLUEPRINT = "api"

# A route with one of these variables is opened by a secret sent in an email (activation,
# invitation): public, but an unknown secret must be a 404 for everyone.
SECRET_VARIABLES = {"token"}

# Form data posted to a route (endpoint -> function of the URL values), so that a route that
# forgot its check would really write something and the snapshot would show it.
POST_DATA = {
    "onboarding.step": lambda values: (
        {**CONTACT, "authorized": "y", "email": "isolation@example.com", "business_name": "Intruder Ltd"}
        if values.get("slug") == "contact"
        else {}
    ),
    "onboarding.check_field": lambda values: {values["field"]: "isolation@example.com"},
    "onboarding.create_draft": lambda values: {"administered_by": "white_label"},
}


class UnfilledVariable(LookupError):
    pass


def build_targets(app, admin_client) -> Targets:
    """Make the objects through the product itself (the wizard), plus one more account user."""
    # A webhook endpoint first, so the customers made next queue events for it.
    hook = post(
        admin_client, "/settings/webhooks/new", {"url": "http://127.0.0.1:9/hooks", "events": ["customer.created"]}
    )
    assert hook.status_code == 303, hook.get_data(as_text=True)[:300]
    submitted = complete_customer_option(admin_client, app, email="submitted@matai.example.com")
    assert post(admin_client, f"{submitted}/review").status_code == 303
    account = complete_white_label_option(
        admin_client,
        app,
        business_name="Account Holder Ltd",
        numbers=["+6495550101"],
        email="account@matai.example.com",
    )
    assert post(admin_client, f"{account}/review").status_code == 303
    finished = complete_white_label_option(
        admin_client, app, numbers=["+6495550100"], email="finished@matai.example.com"
    )
    with app.app_context():
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        rimu = Customer.get(Customer.business_name == "Rimu Accounting")
        holder = Customer.get(Customer.business_name == "Account Holder Ltd")
        colleague = User.create(email="pat@accountholder.example.com", first_name="Pat", last_name="User")
        membership = CustomerMembership.create(user=colleague, customer=holder, role=CustomerMembership.USER)
        number = PhoneNumber.get(PhoneNumber.number == "+6495550101")
        assert number.customer_id == holder.id
        delivery = WebhookDelivery.select().order_by(WebhookDelivery.id).first()
        from webapp.api.keys import create_key

        api_key = create_key(
            demo, User.get(User.email == "admin@demo.example.com"), name="Walk key", scope="read_write"
        ).row
        from testkit.imports import csv_bytes, good_row, receive_and_check
        from webapp.onboarding.options import CUSTOMER

        checked = receive_and_check(
            demo,
            User.get(User.email == "admin@demo.example.com"),
            csv_bytes([good_row(1, email="imported@matai.example.com")]),
            "walk.csv",
            CUSTOMER,
        )
        from webapp.models import CustomerTemplate

        template = CustomerTemplate.create(white_label=demo, name="Walk template", administered_by="white_label")
    return Targets(
        pending_customer_id=rimu.id,
        account_customer_id=holder.id,
        membership_id=membership.id,
        number_id=number.id,
        draft_key=finished.rsplit("/", 1)[1],
        submitted_draft_keys=[submitted.rsplit("/", 1)[1], account.rsplit("/", 1)[1]],
        white_label_id=demo.id,
        unknown_token=secrets.token_urlsafe(32),
        webhook_endpoint_id=delivery.endpoint_id,
        webhook_delivery_id=delivery.id,
        api_key_id=api_key.id,
        import_id=checked.id,
        template_id=template.id,
    )


def is_public(rule) -> bool:
    return rule.endpoint in PUBLIC_ROUTES


def is_api(rule) -> bool:
    return rule.endpoint.split(".", 1)[0] == API_BLUEPRINT


def opened_by_secret(rule) -> bool:
    return bool(set(rule.arguments) & SECRET_VARIABLES)


def methods(rule) -> list[str]:
    """Every method the rule answers, except the OPTIONS Flask answers by itself."""
    automatic = getattr(rule, "provide_automatic_options", False)
    return sorted(m for m in rule.methods if not (m == "OPTIONS" and automatic))


def required_role(app, rule) -> str | None:
    """The least white-label role the view declares (security.admin_required and friends)."""
    return getattr(app.view_functions[rule.endpoint], "required_role", None)


def fill(rule, targets: Targets) -> list[tuple[str, dict]]:
    """Every URL for the rule with its variables filled from FILL; raises for an unknown one."""
    choices = []
    for name in sorted(rule.arguments):
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else ""
        filler = FILL_FOR.get((rule.endpoint, name)) or FILL_FOR.get((blueprint, name)) or FILL.get(name)
        if filler is None:
            raise UnfilledVariable(
                f"{rule.rule} ({rule.endpoint}): no way to fill <{name}>. Add it to FILL in tests/url_map_walk.py "
                "with a real object of the demo white-label, so the isolation and CSRF checks cover this route."
            )
        choices.append([(name, value) for value in filler(targets)])
    urls = []
    for combination in itertools.product(*choices):
        values = dict(combination)
        built = rule.build(values, append_unknown=False)
        assert built is not None, (rule.rule, values)
        urls.append((built[1], values))
    return urls


def routes(app, targets: Targets, *, with_variables_only: bool = False, method: str | None = None):
    """(rule, method, url, values) for every rule of the app, filled; unknown variables raise."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if with_variables_only and not rule.arguments:
            continue
        for verb in methods(rule):
            if method and verb != method:
                continue
            for url, values in fill(rule, targets):
                yield rule, verb, url, values


# Ids no row can have: one past PostgreSQL's 32-bit integer, one past SQLite's 64-bit one, and
# one far beyond both. Every <int:...> variable must answer them with 404, never a 500.
OUT_OF_RANGE_IDS = [2**31, 2**63, 10**23]


def int_variables(rule) -> list[str]:
    """The rule's variables that Werkzeug's int converter parses."""
    from werkzeug.routing import IntegerConverter

    return sorted(name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter))


def out_of_range_urls(rule, targets: Targets) -> list[str]:
    """The rule's first filled URL with each int variable, in turn, set to each out-of-range id."""
    urls = []
    _, values = fill(rule, targets)[0]
    for name in int_variables(rule):
        for huge in OUT_OF_RANGE_IDS:
            built = rule.build({**values, name: huge}, append_unknown=False)
            urls.append(built[1])
    return urls


def post_data(rule, values) -> dict:
    maker = POST_DATA.get(rule.endpoint)
    return dict(maker(values)) if maker else {}


# Tables that count requests rather than hold anything a request may change: a refused request
# still counts against a rate limit (that is the point of one).
COUNTING_TABLES = {"rate_limit_counter"}


def snapshot(app) -> dict:
    """Every row of every table in the database (not only the models the code knows about),
    except the rate-limit counters."""
    with app.app_context():
        tables = sorted(set(db.get_tables()) - COUNTING_TABLES)
        return {table: sorted(map(repr, db.execute_sql(f'SELECT * FROM "{table}"').fetchall())) for table in tables}


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))


def call(client, method: str, url: str, data: dict | None = None, token: str | None = None, htmx: bool = False):
    """One request; with `token`, the CSRF token goes in X-CSRFToken as htmx sends it."""
    headers = {}
    if token:
        headers["X-CSRFToken"] = token
    if htmx:
        headers["HX-Request"] = "true"
    kwargs = {"headers": headers, "buffered": True}  # read and close (static files are open files)
    if method not in ("GET", "HEAD"):
        kwargs["data"] = data or {}
    return client.open(url, method=method, **kwargs)


def customer_user_client(app):
    """Signed in as the account administrator of another white-label's customer (Wattle Legal)."""
    from webapp.auth.service import hash_password

    with app.app_context():
        wattle = Customer.get(Customer.business_name == "Wattle Legal")
        user = User.create(email="grace@wattlelegal.example.com", password_hash=hash_password("wattle-password-123"))
        CustomerMembership.create(user=user, customer=wattle, role=CustomerMembership.ACCOUNT_ADMINISTRATOR)
    client = app.test_client()
    assert sign_in(client, "grace@wattlelegal.example.com", "wattle-password-123").status_code == 303
    return client


def token_for(client) -> str:
    return csrf_token(client)
