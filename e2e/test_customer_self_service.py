"""A customer who administers their own account runs it in the browser (issue 15, section 1):
choosing numbers with the wizard's picker and filter, releasing one, changing plan; with
JavaScript on and off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import sign_in
from testkit.activation import PASSWORD, create_pending_customer, submit_activation

CONTACT_EMAIL = "hana@matai-joinery.example.com"
JS = pytest.mark.parametrize("customer", [True, False], ids=["js", "no-js"], indirect=True)


@pytest.fixture
def customer(app, admin_client, smtp, browser, base_url, request):
    """(page, JavaScript on?): the contact of an activated customer (Business, NZ$75.00), signed in."""
    _, token = create_pending_customer(app, admin_client, smtp)
    assert submit_activation(app.test_client(), token).status_code == 303
    context = browser.new_context(base_url=base_url, java_script_enabled=request.param)
    page = context.new_page()
    sign_in(page, CONTACT_EMAIL, PASSWORD)
    yield page, request.param
    context.close()


@JS
def test_the_customer_chooses_a_number_and_releases_it(customer):
    page, js = customer
    page.get_by_role("link", name="Choose numbers for Matai Joinery Ltd").click()
    expect(page.get_by_role("heading", name="Choose phone numbers")).to_be_visible()
    expect(page.get_by_text("The Business plan includes 5 numbers and the account has none")).to_be_visible()
    expect(page.get_by_label("09 555 0110")).to_be_visible()
    page.get_by_label("Filter numbers").fill("0112")
    if not js:
        page.get_by_role("button", name="Filter").click()
    expect(page.get_by_label("09 555 0110")).to_have_count(0)  # typing filters as you go (htmx)
    page.get_by_label("09 555 0112").check()
    page.get_by_role("button", name="Add numbers").click()
    expect(page.get_by_role("status")).to_contain_text("09 555 0112 is now yours. Nothing was charged")
    # The default caller ID: PBX settings offer the account's numbers.
    page.get_by_role("link", name="Edit PBX settings").click()
    page.get_by_label("Default caller ID").select_option("+6495550112")
    page.get_by_role("button", name="Save PBX settings").click()
    expect(page.get_by_role("status")).to_contain_text("PBX settings saved.")
    expect(page.get_by_text("09 555 0112 (default caller ID)")).to_be_visible()
    release = page.get_by_role("button", name="Release 09 555 0112")
    release.click()
    expect(page.get_by_role("status")).to_contain_text("09 555 0112 has been released")
    expect(release).to_have_count(0)


@JS
def test_numbers_beyond_the_plan_are_charged_and_refused_when_the_balance_is_short(customer, app):
    from webapp.models import Plan

    with app.app_context():
        Plan.update(extra_number_price=5000).where(Plan.name == "Business").execute()
    page, _ = customer
    page.get_by_role("link", name="Choose numbers for Matai Joinery Ltd").click()
    for n in range(110, 117):  # 7 numbers: 2 beyond the 5 included, NZ$50.00 a month each
        page.get_by_label(f"09 555 0{n}").check()
    page.get_by_role("button", name="Add numbers").click()
    expect(page).to_have_title(re.compile(r"^Error: Choose phone numbers"))
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("2 of these numbers go beyond your plan")
    expect(summary).to_contain_text("but your balance is only NZ$75.00. Top up first, or choose fewer numbers.")
    expect(page.get_by_label("09 555 0116")).to_be_checked()  # what was chosen is kept
    page.get_by_label("09 555 0116").uncheck()
    page.get_by_role("button", name="Add numbers").click()
    expect(page.get_by_role("status")).to_contain_text("was charged to your balance")
    expect(page.get_by_text("Extra numbers for Matai Joinery Ltd: 1 number beyond the plan")).to_be_visible()


@JS
def test_the_customer_changes_plan(customer):
    page, _ = customer
    page.get_by_role("link", name="Change plan of Matai Joinery Ltd").click()
    expect(page.get_by_text("is charged to your balance").first).to_be_visible()
    page.get_by_label("Starter").check()
    page.get_by_role("button", name="Change plan").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Your account is now on Starter. NZ$50.00 was credited to your balance"
    )
    expect(page.locator(".balance").first).to_have_text("NZ$125.00")


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_the_customer_signs_in_at_the_white_labels_own_address(app, admin_client, smtp, browser, base_url, js):
    _, token = create_pending_customer(app, admin_client, smtp)
    assert submit_activation(app.test_client(), token).status_code == 303
    context = browser.new_context(base_url=base_url, java_script_enabled=js)
    page = context.new_page()
    page.goto("/s/demo-telecom/sign-in")
    expect(page).to_have_title("Sign in · Demo Telecom")
    expect(page.get_by_role("banner")).to_contain_text("Demo Telecom")
    expect(page.get_by_role("banner")).to_contain_text("support@demo.example.com")
    expect(page.get_by_text("Sign in to your Demo Telecom phone account.")).to_be_visible()
    # The white-label's colour: its stylesheet sets the accent the buttons use.
    accent = page.evaluate("() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
    with app.app_context():
        from webapp.models import WhiteLabel

        assert accent.lower() == WhiteLabel.get(WhiteLabel.slug == "demo-telecom").accent_colour.lower()
    assert "PBX onboarding" not in page.content()
    page.get_by_label("Email").fill(CONTACT_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Matai Joinery Ltd")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/s/demo-telecom/sign-in$"))
    expect(page.get_by_role("status")).to_contain_text("You have been signed out.")
    assert "PBX onboarding" not in page.content()
    context.close()
