"""People in the browser (issue 12): the profile page and sessions that end."""
from playwright.sync_api import expect

from conftest import STAFF
from e2e.conftest import sign_in

NEW_PASSWORD = "lantern-kereru-pohutukawa-19"


def test_a_password_change_on_the_profile_signs_out_the_other_browser(page, browser, base_url):
    sign_in(page, *STAFF)
    other = browser.new_context(base_url=base_url).new_page()
    sign_in(other, *STAFF)
    expect(other.get_by_role("heading", name="Customers")).to_be_visible()

    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", level=1, name="Your profile")).to_be_visible()
    expect(page.get_by_text(STAFF[0])).to_be_visible()
    # Without the current password nothing changes, and the error says what to do.
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".error-summary")).to_contain_text("Enter your current password.")
    expect(page.get_by_label("New password", exact=True)).to_have_value("")  # passwords are never sent back
    page.get_by_label("Your current password").fill(STAFF[1])
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed")

    other.reload()
    expect(other.get_by_role("button", name="Sign in")).to_be_visible()  # that session has ended
    page.get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()  # this one has not


def test_sign_out_everywhere_else_without_javascript(browser, base_url):
    plain = browser.new_context(java_script_enabled=False, base_url=base_url).new_page()
    other = browser.new_context(base_url=base_url).new_page()
    sign_in(plain, *STAFF)
    sign_in(other, *STAFF)
    plain.goto("/profile")
    plain.get_by_role("button", name="Sign out everywhere else").click()
    expect(plain.get_by_role("status")).to_contain_text("signed out everywhere else")
    other.goto("/customers/")
    expect(other.get_by_role("button", name="Sign in")).to_be_visible()
    plain.goto("/customers/")
    expect(plain.get_by_role("heading", name="Customers")).to_be_visible()
