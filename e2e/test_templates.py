"""Customer templates in a browser, JavaScript on and off: an administrator adds one in Settings,
starts a customer from it on the wizard's first step, and changes answers it filled in."""

import re

import pytest
from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import follow, sign_in
from e2e.test_wizard import continue_to, fill_address, fill_contact, submit_to


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_customer_started_from_a_template_keeps_every_answer_changeable(browser, base_url, app, javascript):
    context = browser.new_context(java_script_enabled=javascript, base_url=base_url)
    page = context.new_page()
    step = continue_to if javascript else submit_to
    sign_in(page, *ADMIN)

    follow(page, "Settings")
    follow(page, "Customer templates")
    expect(page.get_by_text("No templates yet.")).to_be_visible()
    follow(page, "Add a template")
    page.get_by_label("Name").fill("Small office")
    page.get_by_label("Me, the white-label administrator").check()
    page.get_by_label("Plan").select_option(label="Business")
    page.get_by_label("Phone numbers").fill("2")
    page.get_by_label("Call recording").check()
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Template “Small office” saved.")).to_be_visible()
    expect(page.get_by_role("cell", name="Small office", exact=True)).to_be_visible()

    page.goto("/customers/")
    follow(page, "Create new customer")
    page.get_by_label("Start from a template (optional)").focus()
    page.get_by_label("Start from a template (optional)").select_option(label="Small office")
    if javascript:
        # The template's choice of who administers is made at once; focus stays on the list.
        expect(page.get_by_label("Me, the white-label administrator")).to_be_checked()
        expect(page.get_by_label("Start from a template (optional)")).to_be_focused()
    else:
        # Without JavaScript nothing changes until Continue, which uses the template's choice.
        expect(page.get_by_label("Me, the white-label administrator")).not_to_be_checked()
    step(page, "Authorized contact and business information")
    fill_contact(page, authorized=True)
    step(page, "Address details")
    fill_address(page)
    step(page, "Plan and payment")
    expect(page.get_by_label(re.compile(r"^Business"))).to_be_checked()
    step(page, "Phone numbers")
    expect(page.get_by_label("09 555 0100")).to_be_checked()
    expect(page.get_by_label("09 555 0101")).to_be_checked()
    page.get_by_label("09 555 0101").uncheck()  # an answer the template gave, changed
    step(page, "PBX settings")
    expect(page.get_by_label("Call recording")).to_be_checked()
    page.get_by_label("Call recording").uncheck()
    step(page, "Check your answers")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name="Your new customer has been successfully created!")).to_be_visible()

    from webapp.models import Customer, PbxSettings, PhoneNumber

    with app.app_context():
        customer = Customer.get(Customer.contact_email == "hana@matai-joinery.example.com")
        assert customer.plan.name == "Business" and customer.administered_by == "white_label"
        assert [n.number for n in PhoneNumber.select().where(PhoneNumber.customer == customer)] == ["+6495550100"]
        assert PbxSettings.get(PbxSettings.customer == customer).call_recording is False
    context.close()
