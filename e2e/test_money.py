"""In a browser: a slip in an amount is questioned before money moves, and a plan change says
what it costs before it is confirmed (with and without JavaScript)."""

import re

from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import sign_in
from e2e.test_accounts import create_managed_customer
from e2e.test_activation import activation_link, create_customer_for_activation, fill_activation


def test_a_top_up_typed_with_a_decimal_comma_is_questioned_not_charged(page, browser, base_url, smtp):
    create_customer_for_activation(page)
    customer = browser.new_context(base_url=base_url).new_page()
    customer.goto(activation_link(smtp))
    fill_activation(customer, "4242 4242 4242 4242")
    customer.get_by_role("button", name="Activate account").click()
    expect(customer.get_by_text("NZ$75.00", exact=True)).to_be_visible()
    customer.get_by_role("link", name="Top up Matai Joinery Ltd").click()
    expect(customer.get_by_text(re.compile(r"^In NZD, like 20\.50\."))).to_be_visible()
    customer.get_by_label("Amount").fill("20,50")
    customer.get_by_role("button", name="Continue").click()
    summary = customer.locator(".error-summary")
    expect(summary).to_contain_text("Did you mean 20.50?")
    expect(summary).to_be_focused()
    expect(customer.get_by_label("Amount")).to_have_value("20,50")
    customer.get_by_label("Amount").fill("20.50")
    customer.get_by_role("button", name="Continue").click()
    customer.get_by_label("Name on card").fill("Hana Kereama")
    customer.get_by_label("Card number").fill("4242 4242 4242 4242")
    customer.get_by_label("Expiry (MM/YY)").fill("11/33")
    customer.get_by_label("Security code").fill("123")
    customer.get_by_role("button", name="Pay NZ$20.50").click()
    expect(customer.get_by_role("status")).to_contain_text("NZ$20.50 has been added")
    expect(customer.locator(".balance").first).to_have_text("NZ$95.50")


def test_a_plan_change_says_what_it_costs_before_it_is_confirmed_without_javascript(browser, base_url, page):
    create_managed_customer(page)  # with JavaScript, to get an account on Business
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    plain = context.new_page()
    sign_in(plain, *ADMIN)
    plain.get_by_role("link", name="Matai Joinery Ltd").click()
    plain.get_by_role("link", name="Change plan").click()
    # Created today: the whole billing month is left, so the whole difference is charged.
    expect(plain.locator(".plan-card", has_text="Call Centre")).to_contain_text(
        re.compile(
            r"Call Centre costs NZ\$170\.00 more a month: NZ\$170\.00 for the (\d+) days left of this billing month "
            r".* is charged to your white-label account\."
        )
    )
    expect(plain.locator(".plan-card", has_text="Starter")).to_contain_text("is credited to your white-label account.")
    plain.get_by_label(re.compile(r"^Call Centre")).check()
    plain.get_by_role("button", name="Change plan").click()
    expect(
        plain.get_by_text("Matai Joinery Ltd is now on Call Centre. NZ$170.00 was charged to your white-label account")
    ).to_be_visible()
    expect(plain.get_by_text("Plan changed from Business to Call Centre")).to_be_visible()
    plain.get_by_role("link", name="Change plan").click()
    plain.get_by_role("button", name="Change plan").click()  # the current plan is already chosen
    expect(plain.get_by_text("Matai Joinery Ltd is already on Call Centre: nothing changed.")).to_be_visible()
    context.close()
