"""Rough edges found in use (issue 15, section 6)."""

import importlib
import pkgutil
import re

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import PasswordField
from wtforms.meta import DefaultMeta

import webapp
from testkit.activation import PASSWORD, create_pending_customer, submit_activation
from testkit.wizard import complete_white_label_option, post
from webapp.forms import AppForm


def _all_form_classes():
    for module in pkgutil.walk_packages(webapp.__path__, "webapp."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    seen, todo = set(), [AppForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return seen


@pytest.fixture
def pending(app, admin_client, smtp):
    return create_pending_customer(app, admin_client, smtp)


def test_no_password_field_ever_renders_what_was_typed(app):
    checked = 0
    with app.test_request_context(method="POST"):
        for form_class in _all_form_classes():
            for name, unbound in vars(form_class).items():
                if getattr(unbound, "field_class", None) is not PasswordField:
                    continue
                field = unbound.bind(form=None, name=name, _meta=DefaultMeta())
                field.process(MultiDict({name: "typed-secret-value"}))
                assert "typed-secret-value" not in field(), f"{form_class.__name__}.{name}"
                checked += 1
    assert checked >= 8


def test_activation_with_an_error_comes_back_with_empty_password_fields(app, client, pending):
    _, token = pending
    response = submit_activation(client, token, opening_balance="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert PASSWORD not in html


# --- One minus sign for negative money ------------------------------------------------------


def test_negative_money_has_one_minus_sign_everywhere(app, admin_client):
    from webapp.money import format_money

    assert format_money(-7900, "NZD") == "\u2212NZ$79.00"
    assert format_money(7900, "NZD") == "NZ$79.00"
    base = complete_white_label_option(admin_client, app, plan="Business", numbers=["+6495550100"])
    assert post(admin_client, f"{base}/review").status_code == 303
    html = admin_client.get("/settings/billing").get_data(as_text=True)
    balance = re.search(r'<dd class="balance">([^<]*)</dd>', html).group(1)
    assert balance == "\u2212NZ$79.00"  # the balance, as in the ledger rows below it
    assert "-NZ$" not in html


# --- Default caller ID ----------------------------------------------------------------------


def _selected_caller_id(html: str) -> str:
    select = re.search(r'<select[^>]*id="default_caller_id".*?</select>', html, re.S).group(0)
    selected = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select)
    return (selected.group(1) or selected.group(2) or "") if selected else ""


def _up_to_pbx(admin_client, app, numbers):
    from testkit.wizard import ADDRESS, CONTACT, plan_id, start

    _, base = start(admin_client, "white_label")
    post(admin_client, f"{base}/contact", {**CONTACT, "authorized": "y"})
    post(admin_client, f"{base}/address", ADDRESS)
    post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Business")})
    assert post(admin_client, f"{base}/numbers", {"numbers": numbers}).status_code == 303
    return base


def test_the_only_chosen_number_is_the_default_caller_id(app, admin_client):
    base = _up_to_pbx(admin_client, app, ["+6495550100"])
    assert _selected_caller_id(admin_client.get(f"{base}/pbx").get_data(as_text=True)) == "+6495550100"


def test_with_two_numbers_the_default_caller_id_is_left_to_choose(app, admin_client):
    base = _up_to_pbx(admin_client, app, ["+6495550100", "+6495550101"])
    assert _selected_caller_id(admin_client.get(f"{base}/pbx").get_data(as_text=True)) == ""


# --- Refusals on the customer page, next to what was refused --------------------------------


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_too_many_resends_stay_on_the_customer_page_with_the_wait_in_local_time(app, admin_client, pending):
    customer_id, _ = pending
    url = f"/customers/{customer_id}/activation/resend"
    for _ in range(5):
        assert post(admin_client, url).status_code == 303
    refused = post(admin_client, url)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "<h1 data-focus-heading" in html and "Matai Joinery Ltd</h1>" in html  # the customer page
    tracker = _section(html, "activation")
    assert "Resend activation email" in tracker
    assert re.search(r"Too many resends\. Try again after \d{1,2}:\d\d (NZDT|NZST)", tracker), tracker
    assert "UTC" not in tracker


def _managed(app, admin_client, plan, numbers):
    from webapp.models import Customer

    base = complete_white_label_option(admin_client, app, plan=plan, numbers=numbers)
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        return Customer.get(Customer.business_name == "Matai Joinery Ltd").id


def test_assign_number_is_disabled_with_its_reason_when_the_plan_is_full(app, admin_client):
    customer_id = _managed(app, admin_client, "Starter", ["+6495550100"])
    numbers = _section(admin_client.get(f"/customers/{customer_id}").get_data(as_text=True), "numbers")
    button = re.search(r"<button[^>]*>Assign</button>", numbers).group(0)
    assert "disabled" in button and 'aria-describedby="assign-number-reason"' in button
    assert re.search(r'id="assign-number-reason"[^>]*>The Starter plan includes 1 number, and it is in use', numbers)


def test_assign_number_refusal_is_shown_next_to_the_button(app, admin_client):
    from webapp.models import PhoneNumber

    customer_id = _managed(app, admin_client, "Starter", ["+6495550100"])
    with app.app_context():
        free = PhoneNumber.select().where(PhoneNumber.customer.is_null()).first().id
    refused = post(admin_client, f"/customers/{customer_id}/numbers", {"number": str(free)})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    status = re.search(r'<div id="status"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert "Starter plan" not in status  # not at the top of the page, out of view
    numbers = _section(html, "numbers")
    assert re.search(r'class="field-error"[^>]*>.*The Starter plan includes 1 number', numbers, re.S)


# --- Terms of service -------------------------------------------------------------------------


def test_the_administrator_sets_the_terms_url_and_the_activation_checkbox_links_to_it(
    app, admin_client, client, pending
):
    from webapp.models import AuditEvent, WhiteLabel

    _, token = pending
    assert "terms of service" in admin_client.get("/settings/").get_data(as_text=True).lower()
    assert admin_client.get("/settings/terms").status_code == 200
    refused = post(admin_client, "/settings/terms", {"terms_url": "javascript:alert(1)"})
    assert refused.status_code == 422 and "Enter the full address of the page" in refused.get_data(as_text=True)
    saved = post(admin_client, "/settings/terms", {"terms_url": " https://demo.example.com/terms "})
    assert saved.status_code == 303
    with app.app_context():
        assert WhiteLabel.get(WhiteLabel.slug == "demo-telecom").terms_url == "https://demo.example.com/terms"
        assert WhiteLabel.get(WhiteLabel.slug == "other-voice").terms_url == ""
        assert AuditEvent.select().where(AuditEvent.action == "terms_url_changed").count() == 1
    html = client.get(f"/activate/{token}").get_data(as_text=True)
    label = re.search(r'<label for="accept_terms">(.*?)</label>', html, re.S).group(1)
    assert 'I accept the <a href="https://demo.example.com/terms"' in label


def test_staff_cannot_set_the_terms_url(staff_client):
    assert post(staff_client, "/settings/terms", {"terms_url": "https://x.example.com/"}).status_code == 403


# --- Two tabs on one draft ----------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_create_customer_says_why_when_another_tab_changed_the_option(app, admin_client, htmx):
    from testkit.wizard import complete_customer_option
    from webapp.models import Customer

    base = complete_customer_option(admin_client, app)
    with app.app_context():
        customers = Customer.select().count()
    assert 'name="option" value="customer"' in admin_client.get(f"{base}/review").get_data(as_text=True)
    # The other tab: back to the first step, and the other option.
    assert post(admin_client, f"{base}/who", {"administered_by": "white_label"}).status_code == 303
    # This tab still shows the review of "The new customer" and presses Create customer.
    response = post(admin_client, f"{base}/review", {"option": "customer"}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "changed in another tab" in html and "Me, the white-label administrator" in html
    assert "Error: " in html  # the title says so
    with app.app_context():
        assert Customer.select().count() == customers  # nothing created on answers nobody checked
    if htmx:
        assert response.headers["HX-Push-Url"].startswith(base)


# --- Signed out mid-wizard ----------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_signed_out_mid_wizard_keeps_the_step_and_comes_back_to_it(app, admin_client, htmx):
    from conftest import ADMIN, csrf_token
    from testkit.wizard import CONTACT, start

    _, base = start(admin_client, "customer")
    token = csrf_token(admin_client)
    assert admin_client.post("/logout", data={"csrf_token": token}).status_code == 303  # the other tab
    typed = {**CONTACT, "business_name": "Kauri Kitchens Ltd", "email": "not-yet-an-email"}
    headers = {"HX-Request": "true"} if htmx else {}
    response = admin_client.post(
        f"{base}/contact", data={**typed, "csrf_token": token, "action": "continue"}, headers=headers
    )
    target = response.headers.get("HX-Redirect") if htmx else response.headers.get("Location")
    assert response.status_code == (204 if htmx else 303), response.status_code
    assert target == f"/login?next={base}/contact"
    login = admin_client.get(target).get_data(as_text=True)
    assert "You were signed out" in login and "what you typed on this step is kept" in login
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    signed_in = admin_client.post(target, data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": fresh})
    assert signed_in.headers["Location"] == f"{base}/contact"
    page = admin_client.get(f"{base}/contact").get_data(as_text=True)
    assert 'value="Kauri Kitchens Ltd"' in page and 'value="not-yet-an-email"' in page
    assert "not saved yet" in page
    # Kept once: reloading the step shows what the draft holds.
    assert 'value="Kauri Kitchens Ltd"' not in admin_client.get(f"{base}/contact").get_data(as_text=True)


def test_answers_posted_from_another_site_are_not_kept(app, admin_client):
    from conftest import csrf_token
    from testkit.wizard import CONTACT, start

    _, base = start(admin_client, "customer")
    token = csrf_token(admin_client)
    admin_client.post("/logout", data={"csrf_token": token})
    response = admin_client.post(
        f"{base}/contact",
        data={**CONTACT, "business_name": "Planted Ltd", "action": "continue", "csrf_token": token},
        headers={"Origin": "https://evil.example.com"},
    )
    assert response.status_code == 400
    assert "You were signed out" not in admin_client.get("/login").get_data(as_text=True)


def test_the_sign_in_next_is_never_an_open_redirect(client):
    from conftest import ADMIN, csrf_token

    token = csrf_token(client)
    response = client.post(
        "/login?next=//evil.example.com/customers/new/x/contact",
        data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/customers/"


# --- Wording --------------------------------------------------------------------------------------


def test_one_number_is_said_in_the_singular(app, admin_client):
    from webapp.models import Plan

    customer_id = _managed(app, admin_client, "Business", ["+6495550100", "+6495550101"])
    with app.app_context():
        starter = Plan.get(Plan.name == "Starter")
    page = admin_client.get(f"/customers/{customer_id}/plan").get_data(as_text=True)
    refused = post(admin_client, f"/customers/{customer_id}/plan", {"plan": str(starter.id)})
    html = refused.get_data(as_text=True)
    assert "Starter includes 1 number but the account has 2" in html, page[:0]
    assert "1 numbers" not in html


def test_the_numbers_step_for_a_one_number_plan_says_choose_one(app, admin_client):
    from testkit.wizard import ADDRESS, CONTACT, plan_id, start

    _, base = start(admin_client, "white_label")
    post(admin_client, f"{base}/contact", {**CONTACT, "authorized": "y"})
    post(admin_client, f"{base}/address", ADDRESS)
    post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Starter")})
    html = admin_client.get(f"{base}/numbers").get_data(as_text=True)
    assert "Choose up to 1 number" not in html
    assert "Choose one number from your inventory" in html


def test_adding_one_person_is_add_a_user(app, admin_client):
    customer_id = _managed(app, admin_client, "Business", [])
    page = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Create new" + " users" not in page and ">Add a user</a>" in page
    form = admin_client.get(f"/customers/{customer_id}/users/new").get_data(as_text=True)
    assert "<title>Add a user" in form and ">Add a user</h1>" in form


def test_history_names_the_user_and_number_it_changed(app, admin_client):
    from webapp.models import PhoneNumber

    customer_id = _managed(app, admin_client, "Business", [])
    with app.app_context():
        free = PhoneNumber.get(PhoneNumber.number == "+6495550101").id
    assert post(admin_client, f"/customers/{customer_id}/numbers", {"number": str(free)}).status_code == 303
    added = post(
        admin_client,
        f"/customers/{customer_id}/users/new",
        {
            "first_name": "Mere",
            "last_name": "Tane",
            "email": "mere@matai-joinery.example.com",
            "extension": "102",
            "role": "user",
            "setup": "invite",
        },
    )
    assert added.status_code == 303, added.get_data(as_text=True)[-3000:]
    html = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    history = _section(html, "timeline")
    assert re.search(r"User added: mere@matai-joinery\.example\.com", history), history
    assert "Number assigned: 09 555 0101" in history


def test_the_tracker_stops_saying_expires_after_cancel(app, admin_client, pending):
    customer_id, _ = pending
    assert post(admin_client, f"/customers/{customer_id}/activation/cancel").status_code == 303
    tracker = _section(admin_client.get(f"/customers/{customer_id}").get_data(as_text=True), "activation")
    assert "Expires" not in tracker
    assert "<strong>Cancelled</strong>" in tracker


def test_the_tracker_shows_the_hand_overs_own_times(app, admin_client):
    import datetime as dt

    from webapp.models import Customer

    customer_id = _managed(app, admin_client, "Business", [])
    with app.app_context():  # created (and active) a week ago; handed over today
        week_ago = Customer.get_by_id(customer_id).activated_at - dt.timedelta(days=7)
        Customer.update(activated_at=week_ago).where(Customer.id == customer_id).execute()
    assert post(admin_client, f"/customers/{customer_id}/hand-over").status_code == 303
    tracker = _section(admin_client.get(f"/customers/{customer_id}").get_data(as_text=True), "activation")
    assert re.search(r"<strong>Activated</strong> <span class=\"muted\">not yet</span>", tracker), tracker


def test_an_unknown_invitation_link_speaks_of_an_invitation_not_an_activation(client):
    response = client.get("/invite/" + "x" * 43)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "activation" not in html.lower()
    assert "This invitation link is not valid" in html and "<title>Invitation not valid" in html


def test_a_no_op_plan_change_writes_no_history(app, admin_client):
    from webapp.models import AuditEvent, Plan

    customer_id = _managed(app, admin_client, "Business", [])
    with app.app_context():
        business = Plan.get(Plan.name == "Business").id
        before = AuditEvent.select().where(AuditEvent.customer == customer_id).count()
    assert post(admin_client, f"/customers/{customer_id}/plan", {"plan": str(business)}).status_code == 303
    with app.app_context():
        assert AuditEvent.select().where(AuditEvent.customer == customer_id).count() == before


def test_the_done_page_with_htmx_names_the_tab(app, admin_client):
    from testkit.wizard import complete_customer_option

    base = complete_customer_option(admin_client, app)
    response = post(admin_client, f"{base}/review", htmx=True)
    assert response.status_code == 200
    # At the top level of the response, where htmx takes the title from.
    assert re.match(
        r"\s*<title>Customer created · Demo Telecom</title>\s*<div id=\"wizard\"", response.get_data(as_text=True)
    )
