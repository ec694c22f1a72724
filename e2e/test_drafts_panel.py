"""The unfinished-drafts panel and the wizard's first step in the browser (issue 15): the panel
collapses to a count above three drafts (a <details>, so it opens without JavaScript too), and the
browser's Back to the first step, then another choice, keeps the same draft."""

import pytest
from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import sign_in


def continue_to(page, heading):
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()


def _start_draft(page, email: str) -> None:
    page.goto("/customers/new/")
    page.get_by_label("The new customer").check()
    continue_to(page, "Contact and business information")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("heading", name="Who will administer this account?")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_many_drafts_collapse_to_a_count_that_opens(browser, base_url, javascript):
    context = browser.new_context(java_script_enabled=javascript, base_url=base_url)
    page = context.new_page()
    sign_in(page, *ADMIN)
    for n in range(4):
        _start_draft(page, f"owner{n}@matai.example.com")
    page.goto("/customers/")
    panel = page.locator(".drafts")
    expect(panel.get_by_role("heading")).to_contain_text("Your unfinished customers (4)")
    expect(panel.get_by_text("owner3@matai.example.com", exact=True)).to_be_hidden()
    panel.get_by_text("Show all 4 unfinished customers").click()
    expect(panel.get_by_text("owner3@matai.example.com", exact=True)).to_be_visible()
    expect(panel.get_by_role("link", name="Resume Untitled customer, owner0@matai.example.com")).to_be_visible()
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_browser_back_to_the_first_step_then_another_choice_keeps_the_draft(app, browser, base_url, javascript):
    from webapp.models import CustomerDraft

    context = browser.new_context(java_script_enabled=javascript, base_url=base_url)
    page = context.new_page()
    sign_in(page, *ADMIN)
    page.goto("/customers/new/")
    page.get_by_label("The new customer").check()
    continue_to(page, "Contact and business information")
    page.go_back()
    expect(page.get_by_role("heading", name="Who will administer this account?")).to_be_visible()
    page.get_by_label("Me, the white-label administrator").check()
    continue_to(page, "Authorized contact and business information")
    with app.app_context():
        drafts = list(CustomerDraft.select())
    assert len(drafts) == 1
    assert drafts[0].administered_by == "white_label"
    context.close()
