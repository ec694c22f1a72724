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
