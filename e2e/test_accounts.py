import re

from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import sign_in
from e2e.test_activation import PASSWORD, activation_link, create_customer_for_activation, fill_activation
from e2e.test_wizard import continue_to, fill_address, fill_contact


def create_managed_customer(page):
    sign_in(page, *ADMIN)
    page.goto("/customers/new/")
    page.get_by_label("Me, the white-label administrator").check()
    continue_to(page, "Authorized contact and business information")
    fill_contact(page, authorized=True)
    continue_to(page, "Address details")
    fill_address(page)
    continue_to(page, "Plan and payment")
    page.get_by_label(re.compile(r"^Business")).check()
    continue_to(page, "Phone numbers")
    continue_to(page, "PBX settings")
    continue_to(page, "Check your answers")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name="Your new customer has been successfully created!")).to_be_visible()


def test_invite_a_user_who_sets_a_password_and_signs_in(page, browser, base_url, smtp):
    create_managed_customer(page)
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("First name").fill("Tama")
    page.get_by_label("Last name").fill("Rangi")
    page.get_by_label("Email").fill("tama@matai-joinery.example.com")
    page.get_by_label("Extension").fill("201")
    page.get_by_label("Send an invitation").check()
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_contain_text("Tama Rangi has been invited")
    expect(page.get_by_role("cell", name="tama@matai-joinery.example.com")).to_be_visible()

    message = smtp.wait_for(1)[-1]
    link = re.search(r"(http://127\.0\.0\.1:\d+/invite/[A-Za-z0-9_-]+)", smtp.text(message)).group(1)
    invitee = browser.new_context(base_url=base_url).new_page()
    invitee.goto(link)
    invitee.get_by_label("New password", exact=True).fill(PASSWORD)
    invitee.get_by_label("Confirm new password").fill(PASSWORD)
    invitee.get_by_role("button", name="Set password and join").click()
    expect(invitee.get_by_role("heading", name="Matai Joinery Ltd")).to_be_visible()
    invitee.get_by_role("button", name="Sign out").click()
    sign_in(invitee, "tama@matai-joinery.example.com", PASSWORD)
    expect(invitee.get_by_text("201")).to_be_visible()


def top_up_journey(customer) -> None:
    """The amount first; the payment step says it on the button; a slip is changed before paying."""
    customer.get_by_role("link", name="Top up Matai Joinery Ltd").click()
    customer.get_by_label("Amount").fill("2050")  # meant 20.50
    customer.get_by_role("button", name="Continue").click()
    expect(customer.get_by_role("button", name="Pay NZ$2,050.00")).to_be_visible()
    expect(customer.get_by_text("You are adding NZ$2,050.00 to the balance of Matai Joinery Ltd.")).to_be_visible()
    # The slip is seen before any money moves: back to the amount, which is kept.
    customer.get_by_role("link", name="Change amount").click()
    expect(customer.get_by_label("Amount")).to_have_value("2050.00")
    customer.get_by_label("Amount").fill("20.50")
    customer.get_by_role("button", name="Continue").click()
    pay = customer.get_by_role("button", name="Pay NZ$20.50")
    expect(pay).to_be_visible()
    expect(customer).to_have_url(re.compile(r"/top-up/pay\?amount=2050$"))
    expect(customer).to_have_title(re.compile(r"^Pay NZ\$20\.50"))
    # A declined card comes back on the payment step, the amount still on the button.
    customer.get_by_label("Name on card").fill("Hana Kereama")
    customer.get_by_label("Card number").fill("4000 0000 0000 0002")
    customer.get_by_label("Expiry (MM/YY)").fill("11/33")
    customer.get_by_label("Security code").fill("123")
    pay.click()
    expect(customer.get_by_text("Your card was declined.").first).to_be_visible()
    expect(customer.get_by_label("Card number")).to_have_value("")
    customer.get_by_label("Card number").fill("4242 4242 4242 4242")
    customer.get_by_label("Security code").fill("123")
    customer.get_by_role("button", name="Pay NZ$20.50").click()
    expect(customer.get_by_role("status")).to_contain_text("NZ$20.50 has been added")
    expect(customer.locator(".balance").first).to_have_text("NZ$95.50")


def test_account_administrator_tops_up_by_card(page, browser, base_url, smtp):
    create_customer_for_activation(page)
    customer = browser.new_context(base_url=base_url).new_page()
    customer.goto(activation_link(smtp))
    fill_activation(customer, "4242 4242 4242 4242")
    customer.get_by_role("button", name="Activate account").click()
    expect(customer.get_by_text("NZ$75.00", exact=True)).to_be_visible()
    # With JavaScript each step swaps in place (htmx) and the address bar follows.
    top_up_journey(customer)


def test_top_up_without_javascript(page, browser, base_url, smtp):
    create_customer_for_activation(page)
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    customer = context.new_page()
    customer.goto(activation_link(smtp))
    fill_activation(customer, "4242 4242 4242 4242")
    customer.get_by_role("button", name="Activate account").click()
    expect(customer.get_by_text("NZ$75.00", exact=True)).to_be_visible()
    top_up_journey(customer)
    context.close()


def test_hand_over_ends_the_administrators_role(page, browser, base_url, smtp):
    create_managed_customer(page)
    page.get_by_role("link", name="View Matai Joinery Ltd").click()
    page.get_by_role("link", name="Hand over to the customer").click()
    page.get_by_role("button", name="Send the activation email").click()
    expect(page.get_by_role("status")).to_contain_text("An activation email is on its way")
    customer = browser.new_context(base_url=base_url).new_page()
    customer.goto(activation_link(smtp))
    fill_activation(customer, "4242 4242 4242 4242")
    customer.get_by_role("button", name="Activate account").click()
    expect(customer.get_by_text("NZ$75.00", exact=True)).to_be_visible()
    page.reload()
    expect(page.get_by_text("The customer administers this account")).to_be_visible()
    expect(page.get_by_role("link", name="Add a user")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("Dana Admin"))).to_have_count(0)


def test_create_a_user_without_javascript(browser, base_url, page):
    create_managed_customer(page)  # with JavaScript, to get an account to work in
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    plain = context.new_page()
    sign_in(plain, *ADMIN)
    plain.get_by_role("link", name="Matai Joinery Ltd").click()
    plain.get_by_role("link", name="Add a user").click()
    plain.get_by_label("First name").fill("Tama")
    plain.get_by_label("Last name").fill("Rangi")
    plain.get_by_label("Email").fill("tama@matai-joinery.example.com")
    plain.get_by_label("Extension").fill("20")  # one digit short: the error, then the fix
    plain.get_by_label("Set a password now").check()
    plain.get_by_label("Temporary password").fill("temporary-harbour-kauri-51")
    plain.get_by_role("button", name="Add user").click()
    expect(plain.get_by_text("Enter an extension of exactly 3 digits.").first).to_be_visible()
    expect(plain.get_by_label("First name")).to_have_value("Tama")
    plain.get_by_label("Extension").fill("201")
    plain.get_by_label("Temporary password").fill("temporary-harbour-kauri-51")
    plain.get_by_role("button", name="Add user").click()
    expect(plain.get_by_role("cell", name="tama@matai-joinery.example.com")).to_be_visible()
    context.close()
