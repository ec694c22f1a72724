"""People in the browser (issue 12): the profile page, sessions that end, and an invitation
accepted by someone who already has an account."""

import re

from playwright.sync_api import expect

from conftest import STAFF
from e2e.conftest import sign_in
from e2e.test_accounts import create_managed_customer

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


def add_user(page, first, last, email, extension):
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Extension").fill(extension)
    page.get_by_role("button", name="Add user").click()


def invitation_link(smtp, recipient):
    for message in reversed(smtp.messages):
        if message["To"] and recipient in message["To"]:
            return re.search(r"(http://127\.0\.0\.1:\d+/invite/[A-Za-z0-9_-]+)", smtp.text(message)).group(1)
    raise AssertionError(f"no invitation to {recipient}")


def test_someone_with_an_account_joins_with_their_own_password(page, browser, base_url, smtp, app):
    from webapp.auth.service import hash_password
    from webapp.models import Customer, CustomerMembership, User

    with app.app_context():
        grace = User.create(
            email="grace@wattlelegal.example.com",
            password_hash=hash_password("wattle-grace-password-77"),
            first_name="Grace",
            last_name="Kelly",
        )
        CustomerMembership.create(
            user=grace,
            customer=Customer.get(Customer.business_name == "Wattle Legal"),
            role=CustomerMembership.ACCOUNT_ADMINISTRATOR,
        )
    create_managed_customer(page)
    add_user(page, "Whoever", "Typed", "grace@wattlelegal.example.com", "201")
    expect(page.get_by_role("status")).to_contain_text("Whoever Typed has been invited")
    row = page.get_by_role("row", name=re.compile("grace@wattlelegal"))
    expect(row).to_contain_text("Whoever Typed")
    expect(row).to_contain_text("Invited")
    expect(row).not_to_contain_text("Grace Kelly")

    smtp.wait_for(1)
    invitee = browser.new_context(base_url=base_url).new_page()
    invitee.goto(invitation_link(smtp, "grace@wattlelegal.example.com"))
    invitee.get_by_label("Your current password").fill("not-graces-password")
    invitee.get_by_role("button", name="Join the account").click()
    expect(invitee.locator(".error-summary")).to_contain_text(
        "That is not the password for grace@wattlelegal.example.com"
    )
    invitee.get_by_label("Your current password").fill("wattle-grace-password-77")
    invitee.get_by_role("button", name="Join the account").click()
    expect(invitee.get_by_role("heading", name="Matai Joinery Ltd")).to_be_visible()
    page.reload()
    expect(page.get_by_role("row", name=re.compile("grace@wattlelegal"))).to_contain_text("Grace Kelly")


def test_white_label_people_cannot_be_customer_users(page, browser, base_url, smtp):
    create_managed_customer(page)
    # Demo Telecom's own staff: the form says so.
    add_user(page, "Sam", "Staff", STAFF[0], "201")
    expect(page.locator(".error-summary")).to_contain_text(
        "White-label staff and administrators cannot be customer users"
    )
    expect(page.get_by_label("First name")).to_have_value("Sam")
    # Another white-label's administrator is added like anyone; the invitation refuses them, plainly.
    page.get_by_label("Email").fill("admin@other.example.com")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_contain_text("Sam Staff has been invited")
    expect(page.get_by_role("row", name=re.compile("admin@other"))).to_contain_text("Sam Staff")
    smtp.wait_for(1)
    olive = browser.new_context(base_url=base_url).new_page()
    olive.goto(invitation_link(smtp, "admin@other.example.com"))
    expect(olive.get_by_text("White-label staff and administrators cannot join customer accounts")).to_be_visible()
    expect(olive.locator("main form")).to_have_count(0)
