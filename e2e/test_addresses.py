"""Addresses and business numbers as each country writes them, in the browser (issue 15,
item 5), with JavaScript on and off: the NZ hint and the reason a number is wrong, a PO box
reported on the line it is on with the way out, and postcodes checked for each address's country."""

import pytest
from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import sign_in


def error_of(page, field_id):
    return page.locator(f"#{field_id}-error")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_business_number_po_box_and_postcodes_say_what_is_wrong_where(browser, base_url, javascript):
    page = browser.new_context(java_script_enabled=javascript, base_url=base_url).new_page()
    sign_in(page, *ADMIN)
    page.goto("/customers/new/")
    page.get_by_label("Me, the white-label administrator").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Authorized contact and business information")).to_be_visible()

    expect(page.locator("#business_number-hint")).to_contain_text("NZBN")
    expect(page.locator("#business_number-hint")).not_to_contain_text("ABN")
    page.get_by_label("Business name").fill("Matai Joinery Ltd")
    page.get_by_label("Business number").fill("51 824 753 556")  # an Australian ABN
    page.get_by_label("First name").fill("Hana")
    page.get_by_label("Last name").fill("Kereama")
    page.get_by_label("Email").fill("hana@matai-joinery.example.com")
    page.get_by_label("Phone").fill("021 123 4567")
    page.get_by_label("I confirm this person is authorized to act for the business").check()
    page.get_by_role("button", name="Continue").click()
    expect(error_of(page, "business_number")).to_contain_text("An NZBN has 13 digits; this has 11.")
    page.get_by_label("Business number").fill("9429041535838")
    page.get_by_role("button", name="Continue").click()
    expect(error_of(page, "business_number")).to_contain_text("The check digit does not match")
    page.get_by_label("Business number").fill("9429041535837")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Address details")).to_be_visible()

    page.get_by_label("Address line 1", exact=True).fill("Level 2, Totara House")
    page.locator("#address_line2").fill("PO Box 4123")
    page.get_by_label("City", exact=True).fill("Wellington")
    page.get_by_label("Postcode", exact=True).fill("60111")
    page.get_by_role("button", name="Continue").click()
    expect(error_of(page, "address_line2")).to_contain_text("untick")
    expect(error_of(page, "address_line1")).to_have_count(0)
    expect(error_of(page, "postcode")).to_contain_text("60111 is not a postcode in New Zealand")
    expect(page.locator("#address_line2")).to_have_value("PO Box 4123")  # nothing typed is lost

    # The way out: the PO box stays the postal address, and the service address is a street.
    page.get_by_label("Postcode", exact=True).fill("6011")
    page.get_by_label("The service address is the same as the address above").uncheck()
    page.get_by_label("Service address line 1").fill("5 Pobox Lane")
    page.get_by_label("Service city").fill("Sydney")
    page.get_by_label("Service postcode").fill("20000")
    page.get_by_label("Service country").select_option("AU")
    page.get_by_role("button", name="Continue").click()
    expect(error_of(page, "service_postcode")).to_contain_text("20000 is not a postcode in Australia")
    expect(error_of(page, "service_line1")).to_have_count(0)  # "5 Pobox Lane" is a street
    page.get_by_label("Service postcode").fill("2000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name="Plan and payment")).to_be_visible()
