"""View as the customer in a browser, JavaScript on and off: a reason first, the account as its
Account Administrator sees it under a read-only banner, a change attempted and refused by the
server, then Stop viewing and the visit in the customer's history."""

import pytest
from playwright.sync_api import expect

from conftest import ADMIN
from conftest import sign_in as client_sign_in
from e2e.conftest import follow, sign_in
from e2e.site_pages import wait_for_outbox
from testkit.activation import create_pending_customer, submit_activation

REASON = "Ticket 4312: cannot find the voicemail setting"


@pytest.fixture
def activated_customer(app, smtp):
    """A customer-administered account its contact has activated; returns its id."""
    admin = app.test_client()
    client_sign_in(admin, *ADMIN)
    customer_id, token = create_pending_customer(
        app, admin, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    assert submit_activation(app.test_client(), token).status_code == 303
    wait_for_outbox(app)
    return customer_id


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_view_as_the_customer_refuses_a_change(browser, base_url, app, activated_customer, javascript):
    from webapp.models import PbxSettings

    context = browser.new_context(java_script_enabled=javascript, base_url=base_url)
    page = context.new_page()
    sign_in(page, *ADMIN)
    page.goto(f"/customers/{activated_customer}")
    follow(page, "View as the customer")
    expect(page.get_by_role("heading", level=1)).to_have_text("View Kowhai Bakery’s account as the customer")

    page.get_by_role("button", name="Start viewing").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    page.get_by_label("Why are you viewing this account?").fill(REASON)
    page.get_by_role("button", name="Start viewing").click()

    banner = page.get_by_role("region", name="Viewing as the customer")
    expect(banner).to_contain_text("Read-only view")
    expect(banner).to_contain_text("Kowhai Bakery’s account as its Account Administrator, Hana Kereama, sees it")
    expect(banner).to_contain_text("Nothing can be changed")
    expect(page.get_by_role("heading", level=1, name="Kowhai Bakery")).to_be_visible()
    expect(page.get_by_text("NZ$75.00", exact=True)).to_be_visible()

    # A change, attempted as the customer's administrator would make it: the server refuses it.
    follow(page, "Edit PBX settings")
    page.get_by_label("Extension length").select_option("5")
    page.get_by_role("button", name="Save PBX settings").click()
    expect(page.get_by_role("heading", name="Nothing can be changed while you view as the customer")).to_be_visible()
    with app.app_context():
        assert PbxSettings.get_or_none(PbxSettings.customer == activated_customer) is None

    page.goto("/account/")
    with page.expect_navigation(wait_until="load"):
        banner.get_by_role("button", name="Stop viewing").click()
    expect(page.get_by_text("You stopped viewing Kowhai Bakery’s account.")).to_be_visible()
    expect(page.get_by_role("region", name="Viewing as the customer")).to_have_count(0)
    history = page.locator("#timeline")
    expect(history).to_contain_text("Viewed as customer by Dana Admin")
    expect(history).to_contain_text(REASON)
    expect(history).to_contain_text("Stopped viewing as customer by Dana Admin (stopped)")
    context.close()
