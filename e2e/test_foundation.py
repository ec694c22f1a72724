from playwright.sync_api import expect

from conftest import ADMIN, STAFF
from e2e.conftest import sign_in


def test_administrator_signs_in_and_search_narrows_without_reload(page):
    sign_in(page, *ADMIN)
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    expect(page.get_by_role("link", name="Harbour Plumbing Ltd")).to_be_visible()
    expect(page.get_by_role("link", name="Create new customer")).to_be_visible()

    # A marker on window survives only if the page is not reloaded.
    page.evaluate("window.__noReload = true")
    page.get_by_label("Search customers").fill("kauri")
    expect(page.get_by_role("link", name="Harbour Plumbing Ltd")).to_have_count(0)
    expect(page.get_by_role("link", name="Kauri Dental")).to_be_visible()
    assert page.evaluate("window.__noReload") is True
    assert "q=kauri" in page.url
    # Focus stays in the search box while typing.
    assert page.evaluate("document.activeElement.id") == "q"


def test_staff_sees_no_create_button(page):
    sign_in(page, *STAFF)
    expect(page.get_by_role("link", name="Harbour Plumbing Ltd")).to_be_visible()
    expect(page.get_by_role("link", name="Create new customer")).to_have_count(0)


def test_wrong_password_shows_error_summary(page):
    sign_in(page, ADMIN[0], "definitely-wrong")
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_text("The email or password is incorrect.").first).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(ADMIN[0])


def test_search_works_without_javascript(browser, base_url):
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    page = context.new_page()
    sign_in(page, *ADMIN)
    page.get_by_label("Search customers").fill("tui")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Tui Cafe")).to_be_visible()
    expect(page.get_by_role("link", name="Harbour Plumbing Ltd")).to_have_count(0)
    context.close()


def test_pagination_works_without_javascript(browser, base_url, app):
    app.config["CUSTOMERS_PER_PAGE"] = 4  # the six demo customers make two pages
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    page = context.new_page()
    sign_in(page, *ADMIN)
    first = page.locator("#results tbody tr")
    expect(first).to_have_count(4)
    on_first = first.locator("td:first-child").all_inner_texts()
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()
    on_second = page.locator("#results tbody tr td:first-child").all_inner_texts()
    assert len(on_second) == 2 and not set(on_first) & set(on_second)
    page.get_by_role("link", name="Previous page").click()
    expect(page.locator("#results tbody tr td:first-child")).to_have_text(on_first)
    context.close()
