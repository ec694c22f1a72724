"""Administrators fix mistakes in the browser (issue 15): the edit form with JavaScript on and
off, and archiving a cancelled customer."""

import pytest
from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import sign_in


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_edit_a_customers_details_and_see_the_change_in_the_history(browser, base_url, javascript):
    context = browser.new_context(java_script_enabled=javascript, base_url=base_url)
    page = context.new_page()
    sign_in(page, *ADMIN)
    page.get_by_role("link", name="Harbour Plumbing Ltd").click()
    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_role("heading", name="Edit details")).to_be_visible()
    expect(page.get_by_label("Business name")).to_have_value("Harbour Plumbing Ltd")

    # A mistake is shown next to its field, everything typed is kept.
    page.get_by_label("Business name").fill("Harbour Plumbing & Gas")
    page.get_by_label("Email", exact=True).fill("not-an-email")
    page.get_by_label("Phone", exact=True).fill("021 555 0199")
    page.get_by_label("Address line 1", exact=True).fill("12 Quay Street")
    page.get_by_label("City", exact=True).fill("Auckland")
    page.get_by_label("Postcode", exact=True).fill("1010")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".error-summary")).to_contain_text("Enter an email address in the right format")
    assert page.title().startswith("Error: ")
    expect(page.get_by_label("Business name")).to_have_value("Harbour Plumbing & Gas")

    page.get_by_label("Email", exact=True).fill("aroha@harbourplumbing.example.com")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1, name="Harbour Plumbing & Gas")).to_be_visible()
    history = page.locator("#timeline")
    expect(history).to_contain_text("Customer edited by Dana Admin")
    expect(history).to_contain_text("Business name: Harbour Plumbing Ltd → Harbour Plumbing & Gas")
    expect(history).to_contain_text("Contact phone: (empty) → 021 555 0199")
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_archive_a_cancelled_customer_and_find_it_with_the_filter(browser, base_url, javascript):
    context = browser.new_context(java_script_enabled=javascript, base_url=base_url)
    page = context.new_page()
    sign_in(page, *ADMIN)
    page.get_by_role("link", name="Kea Couriers").click()
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("status")).to_contain_text("Kea Couriers is archived")
    page.get_by_role("link", name="Back to customers").click()
    expect(page.locator("#results")).not_to_contain_text("Kea Couriers")
    page.get_by_label("Include archived").check()
    if not javascript:
        page.get_by_role("button", name="Apply").click()
    expect(page.locator("#results")).to_contain_text("Kea Couriers")
    context.close()
