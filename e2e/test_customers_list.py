"""Finding customers in the browser (issue 15): filters, sorting, phone search and the export,
with JavaScript on (htmx swaps the results as choices change) and off (the Apply button)."""

import pytest
from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import sign_in


def rows(page):
    return page.locator("#results tbody tr")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_filter_sort_and_export_the_customers_list(browser, base_url, javascript):
    context = browser.new_context(java_script_enabled=javascript, base_url=base_url, accept_downloads=True)
    page = context.new_page()
    sign_in(page, *ADMIN)
    expect(rows(page)).to_have_count(6)

    def apply():
        if not javascript:
            page.get_by_role("button", name="Apply").click()

    page.get_by_label("Status").select_option(label="Active")
    apply()
    expect(rows(page)).to_have_count(3)
    page.get_by_label("Administered by").select_option(label="White-label")
    apply()
    expect(rows(page)).to_have_count(2)
    page.get_by_label("Sort by").select_option(label="Name, A to Z")
    apply()
    expect(rows(page).first).to_contain_text("Harbour Plumbing Ltd")
    expect(rows(page).last).to_contain_text("Pohutukawa Motors")
    # The address says what was chosen, so a reload or a shared link shows the same list.
    assert "status=active" in page.url and "sort=name" in page.url
    page.reload()
    expect(page.get_by_label("Status")).to_have_value("active")
    expect(rows(page)).to_have_count(2)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export these customers (CSV)").click()
    text = download.value.path().read_text(encoding="utf-8")
    assert text.splitlines()[1].startswith("Harbour Plumbing Ltd")
    assert "Kauri Dental" not in text

    page.get_by_label("Status").select_option(label="Suspended")
    apply()
    expect(page.locator("#results")).to_contain_text("No customers match these filters.")
    context.close()


def test_search_by_phone_number_as_typed(app, page):
    from webapp.models import Customer

    with app.app_context():
        Customer.update(contact_phone="+6495550177").where(Customer.business_name == "Tui Cafe").execute()
    sign_in(page, *ADMIN)
    page.get_by_label("Search customers").fill("(09) 555-0177")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Tui Cafe")
