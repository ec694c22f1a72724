"""Screenshots of the key screens, for the README.

`make screenshots` (SCREENSHOTS=1) writes them to docs/screenshots/; an ordinary test run
takes the same pictures into a temporary folder, so the walk through the screens stays working.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from conftest import ADMIN
from e2e.conftest import follow, sign_in
from e2e.test_activation import PASSWORD, activation_link
from e2e.test_wizard import continue_to, fill_address, fill_contact
from webapp.config import PROJECT_ROOT

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def shots(tmp_path):
    folder = PROJECT_ROOT / "docs" / "screenshots" if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    taken = []

    def shoot(page: Page, name: str) -> None:
        page.wait_for_load_state()
        page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring
        page.wait_for_load_state("networkidle")  # leaving a field may check it on the server
        page.mouse.move(0, 0)  # no hover effects in the picture
        path = Path(folder) / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        taken.append(path)

    yield shoot
    assert taken and all(p.stat().st_size > 5_000 for p in taken)


def test_screenshots_of_the_key_screens(browser, base_url, smtp, shots):
    context = browser.new_context(base_url=base_url, viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, *ADMIN)
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    shots(page, "01-customers")
    # The list narrowed and sorted (issue 15): the customers who administer their own account,
    # by name.
    page.get_by_label("Administered by").select_option(label="The customer")
    page.get_by_label("Sort by").select_option(label="Name, A to Z")
    expect(page.locator("#results tbody tr")).to_have_count(4)
    shots(page, "18-customers-with-filters")
    page.goto("/customers/")

    # The first option: the new customer administers the account.
    follow(page, "Create new customer")
    page.get_by_label("The new customer").check()
    shots(page, "02-wizard-who-administers")
    continue_to(page, "Contact and business information")
    fill_contact(page, email="not-an-email")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".error-summary")).to_be_focused()
    shots(page, "03-customer-contact-with-errors")
    page.get_by_label("Email").fill("hana@matai-joinery.example.com")
    continue_to(page, "Address details")
    fill_address(page)
    shots(page, "04-customer-address")
    continue_to(page, "Plan and payment")
    page.get_by_label(re.compile(r"^Business")).check()
    shots(page, "05-customer-plan")
    continue_to(page, "Check your answers")
    shots(page, "06-customer-check-your-answers")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name="Your new customer has been successfully created!")).to_be_visible()
    shots(page, "07-customer-created")

    # The second option: the white-label administrator runs the account.
    page.goto("/customers/new/")
    page.get_by_label("Me, the white-label administrator").check()
    continue_to(page, "Authorized contact and business information")
    fill_contact(page, authorized=True, email="accounts@kowhai-bakery.example.com")
    page.get_by_label("Business name").fill("Kōwhai Bakery")
    shots(page, "08-white-label-contact")
    continue_to(page, "Address details")
    fill_address(page)
    continue_to(page, "Plan and payment")
    page.get_by_label(re.compile(r"^Business")).check()
    shots(page, "09-white-label-plan")
    continue_to(page, "Phone numbers")
    page.get_by_label("09 555 0112").check()
    page.get_by_label("09 555 0113").check()
    shots(page, "10-white-label-numbers")
    continue_to(page, "PBX settings")
    page.get_by_label("Default caller ID").select_option("+6495550112")
    shots(page, "11-white-label-pbx")
    continue_to(page, "Check your answers")
    shots(page, "12-white-label-check-your-answers")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name="Your new customer has been successfully created!")).to_be_visible()
    shots(page, "13-white-label-created")

    # The customer's activation page, on a phone and on a desktop, then their account.
    link = activation_link(smtp)
    phone = browser.new_context(
        base_url=base_url, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    customer = phone.new_page()
    customer.goto(link)
    shots(customer, "14-activation-phone")
    phone.close()
    desktop = browser.new_context(base_url=base_url, viewport=DESKTOP)
    customer = desktop.new_page()
    customer.goto(link)
    shots(customer, "15-activation")
    customer.get_by_label("Password", exact=True).fill(PASSWORD)
    customer.get_by_label("Confirm password").fill(PASSWORD)
    customer.get_by_label("Opening balance").fill("75.00")
    customer.get_by_label("Name on card").fill("Hana Kereama")
    customer.get_by_label("Card number").fill("4242 4242 4242 4242")
    customer.get_by_label("Expiry (MM/YY)").fill("12/34")
    customer.get_by_label("Security code").fill("737")
    customer.get_by_label("I accept the terms of service").check()
    customer.get_by_role("button", name="Activate account").click()
    expect(customer.get_by_role("heading", name="Matai Joinery Ltd")).to_be_visible()
    shots(customer, "16-account-home")
    # The customer, who administers the account, chooses a number with the wizard's picker.
    customer.get_by_role("link", name="Choose numbers for Matai Joinery Ltd").click()
    customer.get_by_label("Filter numbers").fill("011")
    expect(customer.get_by_label("09 555 0120")).to_have_count(0)
    customer.get_by_label("09 555 0114").check()
    shots(customer, "17-customer-choose-numbers")
    desktop.close()
    context.close()
