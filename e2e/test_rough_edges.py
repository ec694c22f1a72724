"""Rough edges found in use (issue 15, section 6), each checked in a real browser with
JavaScript on and off."""

import re

import pytest
from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import sign_in


@pytest.fixture(params=["js", "no-js"])
def any_page(request, browser, base_url):
    """A page with JavaScript on (htmx swaps) and one with it off (plain form posts)."""
    context = browser.new_context(base_url=base_url, java_script_enabled=request.param == "js")
    page = context.new_page()
    page.javascript = request.param == "js"
    yield page
    context.close()


def test_tab_title_follows_the_wizard_and_says_error(any_page):
    page = any_page
    sign_in(page, *ADMIN)
    page.goto("/customers/new/")
    expect(page).to_have_title(re.compile(r"^Who will administer this account\? – Create new customer"))
    page.get_by_label("The new customer").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Contact and business information")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Contact and business information – Create new customer"))
    page.get_by_role("button", name="Continue").click()  # nothing filled in
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Error: Contact and business information – Create new customer"))


# --- Long names wrap; tables reflow on a phone; the activation summary uses the page width ----

LONG_NAME = "Whakatipu" * 8 + "Ltd"  # 75 letters, no space to break at
LONG_NAME = LONG_NAME + "X" * (80 - len(LONG_NAME))


def _console_client(app):
    from conftest import sign_in as client_sign_in

    client = app.test_client()
    client_sign_in(client, *ADMIN)
    return client


def _managed_customer(app, client, **contact):
    from testkit.wizard import complete_white_label_option, post
    from webapp.models import Customer

    base = complete_white_label_option(client, app, plan="Business", **contact)
    assert post(client, f"{base}/review").status_code == 303
    with app.app_context():
        return Customer.select().order_by(Customer.id.desc()).first().id


def _page_overflow(page) -> int:
    """How far the page is wider than the window, in CSS pixels (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _wrap_overflow(page) -> int:
    return page.evaluate(
        "Math.max(0, ...Array.from(document.querySelectorAll('.table-wrap'), w => w.scrollWidth - w.clientWidth))"
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_an_80_character_name_wraps_instead_of_widening_the_page(any_page, app, width):
    page = any_page
    assert len(LONG_NAME) == 80
    client = _console_client(app)
    customer_id = _managed_customer(app, client, business_name=LONG_NAME)
    from testkit.wizard import CONTACT, post, start

    _, base = start(client, "customer")  # an unfinished draft with the long name too
    post(client, f"{base}/contact", {**CONTACT, "business_name": LONG_NAME})
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, *ADMIN)
    for url in ("/customers/", f"/customers/{customer_id}"):
        page.goto(url)
        expect(page.get_by_text(LONG_NAME).first).to_be_visible()
        assert _page_overflow(page) <= 0, url
        assert _wrap_overflow(page) <= 1, url


def test_the_users_table_reflows_on_a_phone_like_the_customers_list(any_page, app):
    page = any_page
    client = _console_client(app)
    customer_id = _managed_customer(app, client)
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, *ADMIN)
    page.goto(f"/customers/{customer_id}")
    users = page.locator("#users table")
    expect(users).to_be_visible()
    assert _page_overflow(page) <= 0
    assert _wrap_overflow(page) <= 1
    # Stacked: each value under its column's name, as in the customers list.
    assert users.evaluate("t => getComputedStyle(t.querySelector('tbody tr')).display") == "block"


def test_the_activation_summary_uses_the_page_width_on_desktop(any_page, app, admin_client, smtp):
    from testkit.activation import create_pending_customer

    email = "accounts.payable.department@matai-joinery-and-cabinetry.example.com"
    _, token = create_pending_customer(app, admin_client, smtp, email=email)
    page = any_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/activate/{token}")
    card = page.locator("section.card", has=page.get_by_role("heading", name="Your account"))
    main_width = page.evaluate(
        "(() => { const m = document.getElementById('main'); const s = getComputedStyle(m);"
        " return m.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight); })()"
    )
    assert card.bounding_box()["width"] >= 0.95 * main_width
    # The email address stays on one line: it does not break mid-word.
    address = card.locator("dd", has_text=email)
    line = address.evaluate("d => parseFloat(getComputedStyle(d).lineHeight)")
    assert address.bounding_box()["height"] < 1.5 * line


def test_terms_of_service_link_set_in_settings_shows_on_activation(any_page, app, admin_client, smtp):
    from testkit.activation import create_pending_customer

    _, token = create_pending_customer(app, admin_client, smtp)
    page = any_page
    sign_in(page, *ADMIN)
    page.goto("/settings/")
    page.get_by_role("link", name="Terms of service").click()
    page.get_by_label("Terms of service address").fill("https://demo.example.com/terms")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Terms of service saved.")
    expect(page.get_by_label("Terms of service address")).to_have_value("https://demo.example.com/terms")
    page.context.clear_cookies()
    page.goto(f"/activate/{token}")
    link = page.locator("label[for=accept_terms]").get_by_role("link", name="terms of service")
    expect(link).to_have_attribute("href", "https://demo.example.com/terms")
    expect(page.get_by_role("checkbox", name=re.compile("I accept the terms of service"))).not_to_be_checked()


def test_create_customer_says_why_another_tab_moved_you(any_page):
    from e2e.test_wizard import fill_address, fill_contact

    page = any_page
    sign_in(page, *ADMIN)
    page.goto("/customers/new/")
    page.get_by_label("The new customer").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Contact and business information")).to_be_visible()
    fill_contact(page)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Address details")).to_be_visible()
    fill_address(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label(re.compile(r"^Business")).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Check your answers")).to_be_visible()
    draft = re.search(r"/customers/new/([^/]+)/review", page.url).group(1)

    other = page.context.new_page()
    other.goto(f"/customers/new/{draft}/who")
    other.get_by_label("Me, the white-label administrator").check()
    other.get_by_role("button", name="Continue").click()
    expect(other.get_by_role("heading", level=1, name="Authorized contact and business information")).to_be_visible()

    page.get_by_role("button", name="Create customer").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_contain_text("This draft was changed in another tab or window")
    expect(summary).to_contain_text("Me, the white-label administrator")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.get_by_role("heading", name="Your new customer has been successfully created!")).to_have_count(0)


def test_signed_out_in_another_tab_continue_keeps_the_step(any_page):
    from e2e.test_wizard import fill_contact

    page = any_page
    sign_in(page, *ADMIN)
    page.goto("/customers/new/")
    page.get_by_label("The new customer").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Contact and business information")).to_be_visible()
    step_url = page.url
    fill_contact(page)
    page.get_by_label("Business name").fill("Kauri Kitchens Ltd")

    other = page.context.new_page()
    other.goto("/customers/")
    other.get_by_role("button", name="Sign out").click()
    expect(other.get_by_role("heading", name=re.compile("Sign in"))).to_be_visible()

    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("status")).to_contain_text("You were signed out, so this step was not saved")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Contact and business information")).to_be_visible()
    assert page.url == step_url
    expect(page.get_by_role("status")).to_contain_text("what you typed is below, not saved yet")
    expect(page.get_by_label("Business name")).to_have_value("Kauri Kitchens Ltd")
    expect(page.get_by_label("Phone")).to_have_value("021 123 4567")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Address details")).to_be_visible()


def test_assign_number_says_why_beside_the_button(any_page, app):
    from webapp.models import PhoneNumber

    client = _console_client(app)
    from testkit.wizard import complete_white_label_option, post
    from webapp.models import Customer

    base = complete_white_label_option(client, app, plan="Starter", numbers=["+6495550100"])
    assert post(client, f"{base}/review").status_code == 303
    with app.app_context():
        customer_id = Customer.select().order_by(Customer.id.desc()).first().id
    page = any_page
    sign_in(page, *ADMIN)
    page.goto(f"/customers/{customer_id}")
    assign = page.get_by_role("button", name="Assign")
    expect(assign).to_be_disabled()
    expect(assign).to_have_accessible_description(re.compile("The Starter plan includes 1 number, and it is in use"))
    # Released elsewhere meanwhile? No: another tab took the last place. The refusal is beside the button.
    with app.app_context():
        PhoneNumber.update(customer=None).where(PhoneNumber.customer == customer_id).execute()
    page.reload()
    expect(assign).to_be_enabled()
    with app.app_context():
        taken = PhoneNumber.get(PhoneNumber.number == "+6495550105")
        PhoneNumber.update(customer=customer_id).where(PhoneNumber.id == taken.id).execute()
    page.get_by_label("Add a number from your inventory").select_option(label="09 555 0101")
    assign.click()
    refusal = page.locator("#numbers").get_by_role("alert")
    expect(refusal).to_contain_text("The Starter plan includes 1 number")
    expect(refusal).to_be_in_viewport()
    expect(page.locator("#status")).not_to_contain_text("Starter plan")


def test_too_many_resends_stay_on_the_customer_page(any_page, app, admin_client, smtp):
    from testkit.activation import create_pending_customer

    app.config["RESEND_RATE_LIMIT"] = "1 per hour"
    customer_id, _ = create_pending_customer(app, admin_client, smtp)
    page = any_page
    sign_in(page, *ADMIN)
    page.goto(f"/customers/{customer_id}")
    page.get_by_role("button", name="Resend activation email").click()
    expect(page.get_by_role("status")).to_contain_text("A new activation email is on its way")
    page.get_by_role("button", name="Resend activation email").click()
    refusal = page.locator("#activation").get_by_role("alert")
    expect(refusal).to_contain_text(re.compile(r"Too many resends\. Try again after \d\d:\d\d NZ[DS]T"))
    expect(refusal).to_be_in_viewport()
    expect(page.get_by_role("heading", level=1)).to_have_text("Matai Joinery Ltd")
