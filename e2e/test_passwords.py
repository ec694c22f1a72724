"""Accounts and passwords in the browser (issue 15, item 4): "Forgot your password?" from the
sign-in page to a new password, and the profile's name and email, with JavaScript on and off."""

import pytest
from playwright.sync_api import expect

from conftest import ADMIN, STAFF
from e2e.conftest import sign_in
from testkit.mail import emailed_link, path_of

NEW_PASSWORD = "harakeke-tuatara-lighthouse-42"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_forgot_your_password_from_sign_in_to_a_new_password(browser, base_url, app, smtp, javascript):
    page = browser.new_context(java_script_enabled=javascript, base_url=base_url).new_page()
    elsewhere = browser.new_context(base_url=base_url).new_page()
    sign_in(elsewhere, *STAFF)

    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1, name="Forgot your password?")).to_be_visible()
    page.get_by_role("button", name="Email me a link").click()
    expect(page.locator(".error-summary")).to_contain_text("Enter the email address you sign in with.")
    page.get_by_label("Email").fill(STAFF[0])
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", level=1, name="Check your email")).to_be_visible()
    expect(page.get_by_text("The link works once, for 1 hour.")).to_be_visible()

    link = path_of(emailed_link(app, smtp, STAFF[0], "/password/reset/"))
    page.goto(link)
    expect(page.get_by_role("heading", level=1, name="Choose a new password")).to_be_visible()
    expect(page.get_by_text(STAFF[0])).to_be_visible()
    page.get_by_label("New password", exact=True).fill("too-short")
    page.get_by_label("Confirm new password").fill("too-short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".error-summary")).to_contain_text("at least 15 characters")
    expect(page.get_by_label("New password", exact=True)).to_have_value("")  # never sent back
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()

    elsewhere.goto("/customers/")
    expect(elsewhere.get_by_role("button", name="Sign in")).to_be_visible()  # that session ended
    sign_in(page, STAFF[0], NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    page.goto(link)
    expect(page.get_by_role("heading", name="This link has already been used")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_profile_changes_name_and_email_from_the_header(browser, base_url, javascript):
    page = browser.new_context(java_script_enabled=javascript, base_url=base_url).new_page()
    sign_in(page, *ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", level=1, name="Your profile")).to_be_visible()

    page.get_by_label("First name").fill("Aroha")
    page.get_by_label("Last name").fill("Ngata")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("status")).to_contain_text("Your name has been saved.")
    expect(page.locator("#details")).to_contain_text("Aroha Ngata")

    page.get_by_label("New email address").fill("aroha@demo.example.com")
    page.get_by_label("Your password, to confirm it is you").fill("not-the-password-at-all")
    page.get_by_role("button", name="Change email address").click()
    expect(page.locator(".error-summary")).to_contain_text("Your current password is not right")
    assert page.title().startswith("Error: ")
    expect(page.get_by_label("New email address")).to_have_value("aroha@demo.example.com")
    page.get_by_label("Your password, to confirm it is you").fill(ADMIN[1])
    page.get_by_role("button", name="Change email address").click()
    expect(page.get_by_role("status")).to_contain_text("You now sign in with aroha@demo.example.com")
    expect(page.locator("#details")).to_contain_text("aroha@demo.example.com")

    page.get_by_role("button", name="Sign out", exact=True).click()
    sign_in(page, "aroha@demo.example.com", ADMIN[1])
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
