"""Every page of the app, and every state worth seeing, generated from `app.url_map`.

The accessibility, small-screen and screenshot checks walk this list, so nobody keeps a list of
pages by hand. What the URL map cannot say lives in three small tables:

- REACH: how to reach a rule that needs URL variables (a customer id, a draft key and a step
  slug, an activation token), another person than the administrator, or a state such as an
  error summary. A rule without variables and not in REACH is opened by the administrator.
- NOT_PAGES: GET rules that answer something other than an HTML page (files, stylesheets).
- STEP_ERRORS: how to make each wizard step show its errors. The steps themselves come from
  the wizard's declared flows, so a new step is walked without anyone listing it.

`visits()` raises `Unreachable` for a GET rule with variables that nobody told it how to fill,
and for a table entry naming a rule that no longer exists, so new pages cannot slip past.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, expect

from conftest import ADMIN, STAFF
from conftest import sign_in as client_sign_in
from e2e.conftest import sign_in as browser_sign_in

# The Flask-test-client helpers the unit tests use to drive the wizard and the activation.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from testkit.activation import PASSWORD, create_pending_customer, submit_activation  # noqa: E402
from testkit.mail import emailed_link, token_of  # noqa: E402
from testkit.wizard import complete_customer_option, complete_white_label_option, post  # noqa: E402

# Who opens a page. Each actor gets one browser context for the whole walk.
ADMINISTRATOR, STAFF_MEMBER, VISITOR, CUSTOMER = "administrator", "staff", "visitor", "customer"
NEW_ADMINISTRATOR = "administrator of a new white-label"  # no customers, plans or payment gateway yet
# An administrator in a context of their own, who starts viewing a customer's account (read-only
# from then on, so the other administrator's visits can still post their error states).
VIEWING_ADMINISTRATOR = "administrator viewing as a customer"
NEW_ADMIN = ("admin@fresh.example.com", "fresh-voice-admin-password")
WEBHOOK_URL = "http://127.0.0.1:9/webhooks"  # the discard port: nothing answers, deliveries are retried

# GET rules that are not HTML pages, and why.
NOT_PAGES = {
    "static": "the app's CSS, JavaScript and icons",
    "branding.css": "a white-label's accent colour as a stylesheet",
    "settings.billing_csv": "a CSV download",
    "customers.export": "a CSV download",
    "imports.template": "a CSV download (the import template)",
    "imports.report": "a CSV download (an import's report)",
    # The integration API answers JSON (its reference page, api_docs.index, is a page).
    "api.openapi": "the OpenAPI document (JSON)",
    "api.list_customers": "API: JSON",
    "api.get_customer": "API: JSON",
    "api.list_plans": "API: JSON",
    "api.available_numbers": "API: JSON",
    "health.healthz": "JSON for load balancers",
    "health.readyz": "JSON for load balancers and deploys",
    "metrics.metrics": "Prometheus's text format for the monitoring system",
}


class Unreachable(LookupError):
    """A GET rule the walk does not know how to open."""


@dataclass
class Visit:
    """One page in one state: who opens which URL, then what they do on it."""

    name: str
    actor: str
    url: str
    act: Callable[[Page], None] | None = None
    status: int = 200  # of the page load (an htmx swap after `act` is checked by `act` itself)
    endpoint: str = ""


@dataclass
class Site:
    """Real objects of the demo white-label (Demo Telecom), made through the product itself."""

    app: object
    drafts: dict  # option -> draft URL prefix, every step answered, not submitted
    review_problem: str  # a white-label draft whose chosen number gets taken before submitting
    review_problem_number: str
    done: dict  # option -> key of a submitted draft
    managed_customer_id: int  # created by the white-label option: active, administered by the white-label
    pending_customer_id: int  # waiting for activation (resend and cancel are offered)
    activated_customer_id: int
    customer_email: str  # the contact who activated: signs in as CUSTOMER
    tokens: dict = field(default_factory=dict)  # state -> raw activation token
    invitations: dict = field(default_factory=dict)  # state -> raw invitation token
    resets: dict = field(default_factory=dict)  # state -> raw password reset token
    webhook_endpoint_id: int = 0  # Demo Telecom's endpoint; nothing listens at its URL, so its log shows retries
    template_id: int = 0  # Demo Telecom's customer template (Settings > Templates)
    imports: dict = field(
        default_factory=dict
    )  # state -> id of a Customers > Import ("preview", "finished", "checking", "reading")


def build_site(app, smtp, mail_dir: str | None = None) -> Site:
    """Make everything the walk needs through the product (Flask test client), in a few seconds.
    Links come from the emails as delivered to `smtp`, the test SMTP server."""
    from webapp.models import ActivationToken, Customer, WebhookEndpoint, utcnow

    def settle() -> None:
        wait_for_outbox(app)

    def ok(response, what: str) -> None:
        assert response.status_code == 303, f"{what}: {response.status_code} {response.get_data(as_text=True)[:300]}"

    settle()
    admin = app.test_client()
    ok(client_sign_in(admin, *ADMIN), "sign in")
    # A webhook endpoint first, so the customers made next fill its delivery log.
    ok(
        post(
            admin,
            "/settings/webhooks/new",
            {"url": WEBHOOK_URL, "description": "Shop", "events": ["customer.created", "customer.activated"]},
        ),
        "add a webhook endpoint",
    )
    ok(
        post(
            admin,
            "/settings/templates/new",
            {
                "name": "Small office",
                "administered_by": "white_label",
                "number_count": "1",
                "time_zone": "Pacific/Auckland",
                "extension_length": "3",
            },
        ),
        "add a customer template",
    )
    drafts = {
        "customer": complete_customer_option(admin, app, email="walk-customer@matai.example.com"),
        "white_label": complete_white_label_option(
            admin, app, numbers=["+6495550100"], email="walk-white-label@matai.example.com"
        ),
    }
    review_problem = complete_white_label_option(
        admin, app, numbers=["+6495550101"], email="walk-problem@matai.example.com"
    )

    done = {}
    submitted = complete_customer_option(admin, app, email="walk-done-customer@matai.example.com")
    ok(post(admin, f"{submitted}/review"), "submit the customer option")
    done["customer"] = submitted.rsplit("/", 1)[1]
    settle()
    submitted = complete_white_label_option(admin, app, numbers=["+6495550102"], email="walk-done-wl@matai.example.com")
    ok(post(admin, f"{submitted}/review"), "submit the white-label option")
    done["white_label"] = submitted.rsplit("/", 1)[1]
    settle()

    tokens = {"unknown": secrets.token_urlsafe(32)}
    pending = {}
    for state in ("valid", "used", "revoked", "cancelled", "expired"):
        pending[state], tokens[state] = create_pending_customer(
            app, admin, smtp, email=f"walk-{state}@matai.example.com"
        )
        settle()
    ok(submit_activation(app.test_client(), tokens["used"]), "activate")
    settle()
    ok(post(admin, f"/customers/{pending['revoked']}/activation/resend"), "resend")
    settle()
    ok(post(admin, f"/customers/{pending['cancelled']}/activation/cancel"), "cancel")
    settle()
    pending_id, activated_id, expired_id = pending["valid"], pending["used"], pending["expired"]

    with app.app_context():
        ActivationToken.update(expires_at=utcnow()).where(ActivationToken.customer == expired_id).execute()
        managed = Customer.get(Customer.contact_email == "walk-done-wl@matai.example.com")
        webhook_endpoint = WebhookEndpoint.get(WebhookEndpoint.url == WEBHOOK_URL)
        from webapp.models import CustomerTemplate

        template = CustomerTemplate.get(CustomerTemplate.name == "Small office")

    # A white-label set up a moment ago by the operator (the CLI), for the empty states.
    runner = app.test_cli_runner()
    for args in (
        [
            "create-whitelabel",
            "--name",
            "Fresh Voice",
            "--slug",
            "fresh-voice",
            "--country",
            "NZ",
            "--currency",
            "NZD",
            "--support-email",
            "help@fresh.example.com",
        ],
        ["create-user", "--email", NEW_ADMIN[0], "--white-label", "fresh-voice", "--password", NEW_ADMIN[1]],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output

    # An invitation into the managed customer's account, for /invite/<token>.
    settle()
    invited = post(
        admin,
        f"/customers/{managed.id}/users/new",
        {
            "first_name": "Mere",
            "last_name": "Tawhiri",
            "email": "walk-invited@matai.example.com",
            "extension": "201",
            "role": "user",
            "setup": "invite",
        },
    )
    ok(invited, "invite a user")
    # More invitations into that account: for someone who already has an account (asked for its
    # password), for another white-label's administrator (refused to them), and one withdrawn
    # by deactivating the person.
    for extension, email in (
        ("202", "walk-used@matai.example.com"),
        ("203", "admin@other.example.com"),
        ("204", "walk-withdrawn@matai.example.com"),
    ):
        settle()
        ok(
            post(
                admin,
                f"/customers/{managed.id}/users/new",
                {
                    "first_name": "Rua",
                    "last_name": "Walker",
                    "email": email,
                    "extension": extension,
                    "role": "user",
                    "setup": "invite",
                },
            ),
            f"invite {email}",
        )
    settle()
    with app.app_context():
        from webapp.models import CustomerMembership, User

        withdrawn = CustomerMembership.select().join(User).where(User.email == "walk-withdrawn@matai.example.com").get()
    ok(post(admin, f"/customers/{managed.id}/users/{withdrawn.id}/deactivate"), "deactivate an invited person")
    invitations = {
        "valid": token_of(emailed_link(app, smtp, "walk-invited@matai.example.com", "/invite/")),
        "existing account": token_of(emailed_link(app, smtp, "walk-used@matai.example.com", "/invite/")),
        "white-label": token_of(emailed_link(app, smtp, "admin@other.example.com", "/invite/")),
        "withdrawn": token_of(emailed_link(app, smtp, "walk-withdrawn@matai.example.com", "/invite/")),
        "unknown": secrets.token_urlsafe(32),
    }
    # A "Forgot your password?" link for the staff member (asked for, never used).
    visitor = app.test_client()
    ok(post(visitor, "/password/forgot", {"email": STAFF[0]}), "ask for a password reset link")
    settle()
    resets = {
        "valid": token_of(emailed_link(app, smtp, STAFF[0], "/password/reset/")),
        "unknown": secrets.token_urlsafe(32),
    }
    imports = _imports(app, admin)
    if mail_dir:
        # One caught message, so /dev/mail shows a message rather than its empty state.
        _catch(Path(mail_dir), next(m for m in smtp.messages if "/activate/" in smtp.text(m)))
    settle()

    return Site(
        app=app,
        drafts=drafts,
        review_problem=review_problem,
        review_problem_number="+6495550101",
        done=done,
        managed_customer_id=managed.id,
        pending_customer_id=pending_id,
        activated_customer_id=activated_id,
        customer_email="walk-used@matai.example.com",
        tokens=tokens,
        invitations=invitations,
        resets=resets,
        webhook_endpoint_id=webhook_endpoint.id,
        template_id=template.id,
        imports=imports,
    )


def _imports(app, admin) -> dict:
    """A finished import (two customers created, one row refused) and a preview with problems."""
    from testkit.imports import bad_row, csv_bytes, good_row, job_url, upload
    from webapp.extensions import db
    from webapp.imports.service import run_imports

    rows = [good_row(1, email="walk-import-1@matai.example.com"), good_row(2, email="walk-import-2@matai.example.com")]
    finished = job_url(upload(admin, csv_bytes([*rows, bad_row(3)[0]]), filename="walk-finished.csv"))
    assert post(admin, f"{finished}/confirm").status_code == 303
    with app.app_context(), db.connection_context():
        run_imports(budget_seconds=60)
    wait_for_outbox(app)
    preview_rows = [good_row(4, email="walk-import-4@matai.example.com"), bad_row(5)[0], bad_row(6)[0]]
    # Before the preview: receiving a file replaces the uploader's last.
    checking, reading = _import_being_checked(app), _import_being_checked(app, reading=True)
    preview = job_url(upload(admin, csv_bytes(preview_rows), filename="walk-preview.csv"))
    return {
        "finished": int(finished.rsplit("/", 1)[1]),
        "preview": int(preview.rsplit("/", 1)[1]),
        "checking": checking,
        "reading": reading,
    }


def _import_being_checked(app, *, reading: bool = False) -> int:
    """An upload half-way through the worker's checks, held there: another worker's claim that
    lasts a day (set in the upload's own transaction, so the walk's worker never starts it), and
    no uploader, so the walk administrator's own uploads do not replace it. `reading`: instead,
    a file still being read (its rows so far stored, its total not known yet)."""
    import datetime as dt
    import io

    from testkit.imports import csv_bytes, good_row
    from webapp.extensions import db
    from webapp.imports.service import receive_file
    from webapp.models import CustomerImport, CustomerImportRow, User, WhiteLabel, utcnow
    from webapp.onboarding.options import CUSTOMER

    rows = [good_row(7 + i, email=f"walk-checking-{i}@matai.example.com") for i in range(4)]
    with app.app_context(), db.connection_context(), db.atomic():
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        job = receive_file(
            demo, User.get(User.email == ADMIN[0]), io.BytesIO(csv_bytes(rows)), "walk-checking.csv", CUSTOMER
        )
        if reading:
            CustomerImport.update(status=CustomerImport.READING, created_by=None, total_rows=0).where(
                CustomerImport.id == job.id
            ).execute()
            return job.id
        CustomerImport.update(
            status=CustomerImport.CHECKING, created_by=None, locked_until=utcnow() + dt.timedelta(days=1)
        ).where(CustomerImport.id == job.id).execute()
        first = (
            CustomerImportRow.select().where(CustomerImportRow.job == job.id).order_by(CustomerImportRow.line).first()
        )
        CustomerImportRow.update(status=CustomerImportRow.READY).where(CustomerImportRow.id == first.id).execute()
    return job.id


def wait_for_outbox(app, timeout: float = 15.0) -> None:
    """Until the outbox worker has sent every queued email (and so writes nothing for a while).

    On SQLite (WAL) a transaction that reads and then writes fails at once with "database is
    locked" when another connection committed in between; the app's request transactions do
    that, so the walk builds its objects only while the worker is idle.
    """
    import time

    from webapp.models import OutboxEmail

    deadline = time.monotonic() + timeout
    with app.app_context():
        while OutboxEmail.select().where(OutboxEmail.status.in_(["queued", "sending"])).exists():
            assert time.monotonic() < deadline, "the outbox worker did not send every email"
            time.sleep(0.05)


def _catch(folder: Path, delivered) -> None:
    """Put a delivered message where the development mail catcher keeps what it receives."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0001.eml").write_bytes(delivered.as_bytes())


def actor_sign_in(page: Page, actor: str, site: Site) -> None:
    """Sign `page`'s context in as `actor`, through the real form."""
    logins = {
        ADMINISTRATOR: ADMIN,
        STAFF_MEMBER: STAFF,
        CUSTOMER: (site.customer_email, PASSWORD),
        NEW_ADMINISTRATOR: NEW_ADMIN,
        VIEWING_ADMINISTRATOR: ADMIN,
    }
    if actor not in logins:
        return
    browser_sign_in(page, *logins[actor])
    expect(page.get_by_role("button", name="Sign out")).to_be_attached()


# --- What people do on a page to reach a state ---------------------------------------------------


def expect_error_summary(page: Page) -> None:
    """The error summary is shown, and (with JavaScript) holds focus after the swap or page load."""
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    if page.evaluate("typeof window.htmx !== 'undefined'"):
        expect(summary).to_be_focused()


def _clear_and_submit(button: str) -> Callable[[Page], None]:
    """Empty every text box, untick every box and radio, then press `button`."""

    def act(page: Page) -> None:
        page.locator("main form").first.evaluate(
            """form => {
                form.querySelectorAll('input[type=text], input[type=email], input[type=tel], input[type=password],'
                                      + ' input[type=search], input:not([type]), textarea').forEach(i => { i.value = ''; });
                form.querySelectorAll('input[type=checkbox], input[type=radio]').forEach(i => { i.checked = false; });
            }"""
        )
        page.get_by_role("button", name=button, exact=True).click()
        expect_error_summary(page)

    return act


def _too_many_numbers(page: Page) -> None:
    page.locator("#number-choices input[type=checkbox]").evaluate_all(
        "boxes => boxes.forEach(b => { b.checked = true; })"
    )
    page.get_by_role("button", name="Continue").click()
    expect_error_summary(page)


# How to make each wizard step show its errors (slug -> action, or the reason it has none).
STEP_ERRORS: dict[str, Callable[[Page], None] | str] = {
    "who": _clear_and_submit("Continue"),
    "contact": _clear_and_submit("Continue"),
    "address": _clear_and_submit("Continue"),
    "plan": _clear_and_submit("Continue"),
    "numbers": _too_many_numbers,
    "pbx": "every field is a list or a box with a valid default: there is no wrong answer to give",
    "review": "its errors are another step's: see the 'number taken before submitting' visit",
}


def _decline_card(page: Page) -> None:
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_label("Name on card").fill("Hana Kereama")
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("Security code").fill("737")
    page.get_by_label("I accept the terms of service").check()
    page.get_by_role("button", name="Activate account").click()
    expect_error_summary(page)


def _decline_top_up(page: Page) -> None:
    page.get_by_label("Name on card").fill("Hana Kereama")
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("Security code").fill("737")
    page.get_by_role("button", name="Pay NZ$20.50").click()
    expect_error_summary(page)


def _take_number_then_submit(site: Site) -> Callable[[Page], None]:
    def act(page: Page) -> None:
        from webapp.models import Customer, PhoneNumber

        with site.app.app_context():
            harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
            PhoneNumber.update(customer=harbour).where(PhoneNumber.number == site.review_problem_number).execute()
        page.get_by_role("button", name="Create customer").click()
        expect(page.get_by_role("heading", level=1, name="Phone numbers")).to_be_visible()
        expect_error_summary(page)

    return act


def _next_page(page: Page) -> None:
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()


def _search_nothing(page: Page) -> None:
    page.get_by_label("Search customers").fill("no such customer")
    expect(page.locator("#results").get_by_text("No customers match")).to_be_visible()


# --- Reaching rules ---------------------------------------------------------------------------------


def _wizard_steps(site: Site) -> list[Visit]:
    """Every step of both options, as declared by the wizard, then each step's error state."""
    from webapp.onboarding.options import OPTIONS

    visits = []
    for option in OPTIONS:
        base, steps = site.drafts[option.key], option.steps
        for step in steps[1:]:
            visits.append(Visit(f"wizard, {option.label}: {step.name}", ADMINISTRATOR, f"{base}/{step.slug}"))
        # The "who" step of a started draft, with the option chosen.
        visits.append(
            Visit(f"wizard, {option.label}: {steps[0].name} (draft)", ADMINISTRATOR, f"{base}/{steps[0].slug}")
        )
    # Errors last, latest step first: an invalid answer closes the steps after it.
    for option in OPTIONS:
        base, steps = site.drafts[option.key], option.steps
        for step in reversed(steps):
            action = STEP_ERRORS.get(step.slug)
            if action is None:
                raise Unreachable(
                    f"wizard step {step.slug!r}: add how to show its errors (or why it has none) to STEP_ERRORS"
                )
            if callable(action):
                visits.append(
                    Visit(
                        f"wizard, {option.label}: {step.name}, with errors",
                        ADMINISTRATOR,
                        f"{base}/{step.slug}",
                        act=action,
                    )
                )
    visits.append(
        Visit(
            "wizard: check your answers, a number taken before submitting",
            ADMINISTRATOR,
            f"{site.review_problem}/review",
            act=_take_number_then_submit(site),
        )
    )
    return visits


def _activation(site: Site) -> list[Visit]:
    url = lambda state: f"/activate/{site.tokens[state]}"  # noqa: E731
    return [
        Visit("activation", VISITOR, url("valid")),
        Visit("activation, nothing filled in", VISITOR, url("valid"), act=_clear_and_submit("Activate account")),
        Visit("activation, card declined", VISITOR, url("valid"), act=_decline_card),
        Visit("activation, opened by a signed-in administrator", ADMINISTRATOR, url("valid"), status=403),
        Visit("activation link already used", VISITOR, url("used"), status=410),
        Visit("activation link expired", VISITOR, url("expired"), status=410),
        Visit("activation link replaced by a newer one", VISITOR, url("revoked"), status=410),
        Visit("activation link of a cancelled customer", VISITOR, url("cancelled"), status=410),
        Visit("activation link unknown", VISITOR, url("unknown"), status=404),
    ]


REACH: dict[str, Callable[[Site], list[Visit]]] = {
    "auth.login": lambda s: [
        Visit("sign in", VISITOR, "/login"),
        Visit("sign in, nothing filled in", VISITOR, "/login", act=_clear_and_submit("Sign in")),
        Visit("sign in at Demo Telecom's own address", VISITOR, "/s/demo-telecom/sign-in"),
    ],
    "auth.forgot_password": lambda s: [
        Visit("forgot your password", VISITOR, "/password/forgot"),
        Visit(
            "forgot your password, nothing filled in",
            VISITOR,
            "/password/forgot",
            act=_clear_and_submit("Email me a link"),
        ),
    ],
    "auth.reset_sent": lambda s: [Visit("password reset link sent", VISITOR, "/password/forgot/sent")],
    "auth.reset_password": lambda s: [
        Visit("choose a new password", VISITOR, f"/password/reset/{s.resets['valid']}"),
        Visit(
            "choose a new password, nothing filled in",
            VISITOR,
            f"/password/reset/{s.resets['valid']}",
            act=_clear_and_submit("Change password"),
        ),
        Visit("password reset link not valid", VISITOR, f"/password/reset/{s.resets['unknown']}", status=404),
    ],
    "customers.index": lambda s: [
        Visit("customers, with unfinished drafts", ADMINISTRATOR, "/customers/"),
        Visit("customers, second page", ADMINISTRATOR, "/customers/", act=_next_page),
        Visit("customers, search without results", ADMINISTRATOR, "/customers/", act=_search_nothing),
        Visit("customers, as staff", STAFF_MEMBER, "/customers/"),
        Visit("customers, a page past the end", ADMINISTRATOR, "/customers/?page=99"),
        Visit("customers, filtered and sorted by name", ADMINISTRATOR, "/customers/?status=active&sort=name"),
        Visit("customers, filters without results", ADMINISTRATOR, "/customers/?status=suspended&archived=1"),
        Visit("customers, none yet", NEW_ADMINISTRATOR, "/customers/"),
    ],
    "customers.show": lambda s: [
        Visit("customer waiting for activation", ADMINISTRATOR, f"/customers/{s.pending_customer_id}"),
        Visit("customer run by the white-label", ADMINISTRATOR, f"/customers/{s.managed_customer_id}"),
        Visit("customer who activated", ADMINISTRATOR, f"/customers/{s.activated_customer_id}"),
        Visit("customer waiting for activation, as staff", STAFF_MEMBER, f"/customers/{s.pending_customer_id}"),
    ],
    "activation.cancel_activation": lambda s: [
        Visit("cancel a customer", ADMINISTRATOR, f"/customers/{s.pending_customer_id}/activation/cancel"),
    ],
    "onboarding.start": lambda s: [
        Visit("wizard: who administers", ADMINISTRATOR, "/customers/new/"),
        Visit("wizard: who administers, with errors", ADMINISTRATOR, "/customers/new/", act=STEP_ERRORS["who"]),
        Visit("wizard: who administers, without a payment gateway", NEW_ADMINISTRATOR, "/customers/new/"),
        Visit("wizard: who administers, from a template", ADMINISTRATOR, f"/customers/new/?template={s.template_id}"),
    ],
    "onboarding.step": _wizard_steps,
    "onboarding.done": lambda s: [
        Visit(f"wizard: customer created ({option})", ADMINISTRATOR, f"/customers/new/{key}/done")
        for option, key in s.done.items()
    ],
    "activation.activate_account": _activation,
    "accounts.home": lambda s: [
        Visit("customer's account home", CUSTOMER, "/account/"),
        Visit(
            "customer's account home, viewed as the customer by support (read-only)",
            VIEWING_ADMINISTRATOR,
            f"/customers/{s.activated_customer_id}/view-as",
            act=_start_viewing,
        ),
    ],
    "support.start": lambda s: [
        Visit("view as the customer: the reason", ADMINISTRATOR, f"/customers/{s.activated_customer_id}/view-as"),
        Visit(
            "view as the customer: no reason given",
            ADMINISTRATOR,
            f"/customers/{s.activated_customer_id}/view-as",
            act=_clear_and_submit("Start viewing"),
        ),
    ],
    "profile.show": lambda s: [
        Visit("profile", ADMINISTRATOR, "/profile"),
        Visit("profile, as a customer", CUSTOMER, "/profile"),
        Visit("profile, password change with errors", CUSTOMER, "/profile", act=_clear_and_submit("Change password")),
    ],
    "accounts.new_user": lambda s: [
        Visit("customer: add a user", CUSTOMER, f"/account/{s.activated_customer_id}/users/new"),
    ],
    "accounts.pbx_settings": lambda s: [
        Visit("customer: PBX settings", CUSTOMER, f"/account/{s.activated_customer_id}/pbx"),
    ],
    "accounts.choose_numbers": lambda s: [
        Visit("customer: choose numbers", CUSTOMER, f"/account/{s.activated_customer_id}/numbers"),
        Visit(
            "customer: choose numbers, none chosen",
            CUSTOMER,
            f"/account/{s.activated_customer_id}/numbers",
            act=_clear_and_submit("Add numbers"),
        ),
    ],
    "accounts.change_plan": lambda s: [
        Visit("customer: change plan", CUSTOMER, f"/account/{s.activated_customer_id}/plan"),
    ],
    "accounts.top_up": lambda s: [
        Visit("customer: top up, the amount", CUSTOMER, f"/account/{s.activated_customer_id}/top-up"),
        Visit(
            "customer: top up, the amount with errors",
            CUSTOMER,
            f"/account/{s.activated_customer_id}/top-up",
            act=_clear_and_submit("Continue"),
        ),
    ],
    "accounts.top_up_pay": lambda s: [
        Visit("customer: top up, the payment", CUSTOMER, f"/account/{s.activated_customer_id}/top-up/pay?amount=2050"),
        Visit(
            "customer: top up, the payment with a declined card",
            CUSTOMER,
            f"/account/{s.activated_customer_id}/top-up/pay?amount=2050",
            act=_decline_top_up,
        ),
    ],
    "manage.new_user": lambda s: [
        Visit("managed customer: add a user", ADMINISTRATOR, f"/customers/{s.managed_customer_id}/users/new"),
    ],
    "manage.pbx_settings": lambda s: [
        Visit("managed customer: PBX settings", ADMINISTRATOR, f"/customers/{s.managed_customer_id}/pbx"),
    ],
    "manage.change_plan": lambda s: [
        Visit("managed customer: change plan", ADMINISTRATOR, f"/customers/{s.managed_customer_id}/plan"),
    ],
    "manage.change_status": lambda s: [
        Visit("managed customer: change status", ADMINISTRATOR, f"/customers/{s.managed_customer_id}/status"),
    ],
    "manage.edit_details": lambda s: [
        Visit("managed customer: edit details", ADMINISTRATOR, f"/customers/{s.managed_customer_id}/edit"),
        Visit(
            "managed customer: edit details, nothing filled in",
            ADMINISTRATOR,
            f"/customers/{s.managed_customer_id}/edit",
            act=_clear_and_submit("Save changes"),
        ),
        Visit(
            "customer waiting for activation: edit details", ADMINISTRATOR, f"/customers/{s.pending_customer_id}/edit"
        ),
    ],
    "manage.hand_over": lambda s: [
        Visit("managed customer: hand over", ADMINISTRATOR, f"/customers/{s.managed_customer_id}/hand-over"),
    ],
    "invitations.accept": lambda s: [
        Visit("invitation", VISITOR, f"/invite/{s.invitations['valid']}"),
        Visit(
            "invitation, nothing filled in",
            VISITOR,
            f"/invite/{s.invitations['valid']}",
            act=_clear_and_submit("Set password and join"),
        ),
        Visit("invitation for an existing account", VISITOR, f"/invite/{s.invitations['existing account']}"),
        Visit(
            "invitation for an existing account, no password",
            VISITOR,
            f"/invite/{s.invitations['existing account']}",
            act=_clear_and_submit("Join the account"),
        ),
        Visit(
            "invitation for another white-label's administrator",
            VISITOR,
            f"/invite/{s.invitations['white-label']}",
            status=403,
        ),
        Visit(
            "invitation opened by a signed-in administrator",
            ADMINISTRATOR,
            f"/invite/{s.invitations['valid']}",
            status=403,
        ),
        Visit("invitation withdrawn by deactivation", VISITOR, f"/invite/{s.invitations['withdrawn']}", status=410),
        Visit("invitation link unknown", VISITOR, f"/invite/{s.invitations['unknown']}", status=404),
    ],
    "webhooks.index": lambda s: [
        Visit("webhooks", ADMINISTRATOR, "/settings/webhooks/"),
        Visit("webhooks, as staff", STAFF_MEMBER, "/settings/webhooks/"),
        Visit("webhooks, none yet", NEW_ADMINISTRATOR, "/settings/webhooks/"),
    ],
    "webhooks.new": lambda s: [
        Visit("webhooks: add an endpoint", ADMINISTRATOR, "/settings/webhooks/new"),
        Visit(
            "webhooks: add an endpoint, nothing filled in",
            ADMINISTRATOR,
            "/settings/webhooks/new",
            act=_clear_and_submit("Add endpoint"),
        ),
        Visit(
            "webhooks: a new endpoint's secret, shown once",
            ADMINISTRATOR,
            "/settings/webhooks/new",
            act=_add_webhook_endpoint,
        ),
    ],
    "webhooks.show": lambda s: [
        Visit("webhook endpoint and its delivery log", ADMINISTRATOR, f"/settings/webhooks/{s.webhook_endpoint_id}"),
        Visit(
            "webhook endpoint and its delivery log, as staff",
            STAFF_MEMBER,
            f"/settings/webhooks/{s.webhook_endpoint_id}",
        ),
    ],
    "webhooks.edit": lambda s: [
        Visit("webhooks: edit an endpoint", ADMINISTRATOR, f"/settings/webhooks/{s.webhook_endpoint_id}/edit"),
    ],
    "webhooks.rotate": lambda s: [
        Visit("webhooks: rotate the secret", ADMINISTRATOR, f"/settings/webhooks/{s.webhook_endpoint_id}/rotate"),
    ],
    "webhooks.delete": lambda s: [
        Visit("webhooks: delete an endpoint", ADMINISTRATOR, f"/settings/webhooks/{s.webhook_endpoint_id}/delete"),
    ],
    "api_keys.index": lambda s: [
        Visit("settings: API keys", ADMINISTRATOR, "/settings/api-keys/"),
        Visit("settings: API keys, a new key shown once", ADMINISTRATOR, "/settings/api-keys/", act=_create_api_key),
        Visit(
            "settings: API keys, nothing filled in",
            ADMINISTRATOR,
            "/settings/api-keys/",
            act=_clear_and_submit("Create API key"),
        ),
        Visit("settings: API keys, as staff", STAFF_MEMBER, "/settings/api-keys/"),
    ],
    "api_docs.index": lambda s: [Visit("API reference", VISITOR, "/api/docs/")],
    "settings.templates": lambda s: [
        Visit("settings: customer templates", ADMINISTRATOR, "/settings/templates"),
        Visit("settings: customer templates, as staff", STAFF_MEMBER, "/settings/templates"),
        Visit("settings: customer templates, none yet", NEW_ADMINISTRATOR, "/settings/templates"),
    ],
    "settings.new_template": lambda s: [
        Visit("settings: add a template", ADMINISTRATOR, "/settings/templates/new"),
        Visit(
            "settings: add a template, nothing filled in",
            ADMINISTRATOR,
            "/settings/templates/new",
            act=_clear_and_submit("Save template"),
        ),
    ],
    "settings.edit_template": lambda s: [
        Visit("settings: change a template", ADMINISTRATOR, f"/settings/templates/{s.template_id}/edit"),
    ],
    "settings.delete_template": lambda s: [
        Visit("settings: delete a template", ADMINISTRATOR, f"/settings/templates/{s.template_id}/delete"),
    ],
    "imports.index": lambda s: [
        Visit("import customers", ADMINISTRATOR, "/customers/import/"),
        Visit(
            "import customers, no file chosen",
            ADMINISTRATOR,
            "/customers/import/",
            act=_clear_and_submit("Check the file"),
        ),
    ],
    "imports.show": lambda s: [
        Visit("import: preview with problems", ADMINISTRATOR, f"/customers/import/{s.imports['preview']}"),
        Visit("import: finished", ADMINISTRATOR, f"/customers/import/{s.imports['finished']}"),
        Visit("import: checking the rows", ADMINISTRATOR, f"/customers/import/{s.imports['checking']}"),
        Visit("import: reading the file", ADMINISTRATOR, f"/customers/import/{s.imports['reading']}"),
    ],
    "settings.payment_gateway": lambda s: [
        Visit("settings: payment gateway", ADMINISTRATOR, "/settings/payment-gateway"),
        Visit(
            "settings: payment gateway, Stripe without keys",
            ADMINISTRATOR,
            "/settings/payment-gateway",
            act=_stripe_without_keys,
        ),
    ],
}


def _start_viewing(page: Page) -> None:
    page.get_by_label("Why are you viewing this account?").fill("Accessibility walk")
    page.get_by_role("button", name="Start viewing").click()
    expect(page.get_by_role("region", name="Viewing as the customer")).to_contain_text("Nothing can be changed")


def _add_webhook_endpoint(page: Page) -> None:
    page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/another-shop")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("heading", level=1, name="Webhook endpoint")).to_be_visible()
    expect(page.locator("#signing-secret")).to_contain_text("whsec_")


def _create_api_key(page: Page) -> None:
    page.get_by_label("Name").fill("Walk shop")
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_role("heading", name="Copy your new key now")).to_be_visible()


def _stripe_without_keys(page: Page) -> None:
    page.get_by_label("Stripe", exact=True).check()
    page.get_by_role("button", name="Save payment gateway").click()
    expect_error_summary(page)


# Pages that belong to no rule: the error pages.
EXTRA = [
    Visit("error: page not found", VISITOR, "/no-such-page", status=404, endpoint="(error page)"),
    Visit("error: page not found, signed in", ADMINISTRATOR, "/customers/999999", status=404, endpoint="(error page)"),
    Visit(
        "error: not allowed (staff opening settings)", STAFF_MEMBER, "/settings/", status=403, endpoint="(error page)"
    ),
]


def get_rules(app) -> list:
    return sorted((r for r in app.url_map.iter_rules() if "GET" in r.methods), key=lambda r: r.rule)


def check_tables(app) -> list[str]:
    """Problems with the tables: rules nobody said how to reach, and entries for rules that are gone."""
    problems = []
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    for rule in get_rules(app):
        if rule.endpoint in NOT_PAGES or rule.endpoint in REACH:
            continue
        if rule.arguments:
            problems.append(
                f"{rule.rule} ({rule.endpoint}) needs <{'>, <'.join(sorted(rule.arguments))}>: add to REACH in "
                "e2e/site_pages.py how to open it (and its error states), or to NOT_PAGES if it is not a page"
            )
    for endpoint in list(REACH) + list(NOT_PAGES):
        blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else None
        if endpoint not in endpoints and (blueprint is None or blueprint in {e.split(".")[0] for e in endpoints}):
            problems.append(f"{endpoint} is in e2e/site_pages.py but the app has no such GET rule any more")
    return problems


def visits(site: Site) -> list[Visit]:
    """Every page state to check, in an order that works (error states after the normal ones)."""
    problems = check_tables(site.app)
    if problems:
        raise Unreachable("\n".join(problems))
    result = []
    for rule in get_rules(site.app):
        if rule.endpoint in NOT_PAGES:
            continue
        maker = REACH.get(rule.endpoint)
        found = maker(site) if maker else [Visit(rule.endpoint, ADMINISTRATOR, rule.rule)]
        for visit in found:
            visit.endpoint = rule.endpoint
        result.extend(found)
    # Wizard error states change their drafts: run them after every normal visit.
    result.sort(key=lambda v: v.act is not None and v.endpoint == "onboarding.step")
    return result + list(EXTRA)
