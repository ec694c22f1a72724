import datetime as dt
import re

from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import follow, sign_in
from e2e.test_wizard import continue_to, fill_address, fill_contact

PASSWORD = "kowhai-harbour-lantern-88"


def create_customer_for_activation(page) -> None:
    sign_in(page, *ADMIN)
    follow(page, "Create new customer")
    page.get_by_label("The new customer").check()
    continue_to(page, "Contact and business information")
    fill_contact(page)
    continue_to(page, "Address details")
    fill_address(page)
    continue_to(page, "Plan and payment")
    page.get_by_label(re.compile(r"^Business")).check()
    continue_to(page, "Check your answers")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name="Your new customer has been successfully created!")).to_be_visible()


def activation_link(smtp) -> str:
    text = smtp.text(smtp.wait_for(1)[0])
    return re.search(r"(http://127\.0\.0\.1:\d+/activate/[A-Za-z0-9_-]+)", text).group(1)


def fill_activation(page, card: str) -> None:
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_label("Opening balance").fill("75.00")
    page.get_by_label("Name on card").fill("Hana Kereama")
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("Security code").fill("737")
    page.get_by_label("I accept the terms of service").check()


def test_customer_activates_from_the_email_and_admin_sees_it_active(page, browser, base_url, smtp):
    create_customer_for_activation(page)
    link = activation_link(smtp)

    customer = browser.new_context(base_url=base_url).new_page()
    customer.goto(link)
    expect(customer.get_by_role("heading", name="Activate your Demo Telecom account")).to_be_visible()
    # A declined card shows its error and keeps everything but the card and the passwords.
    fill_activation(customer, "4000 0000 0000 0002")
    customer.get_by_role("button", name="Activate account").click()
    expect(customer.get_by_text("Your card was declined.").first).to_be_visible()
    expect(customer.get_by_label("Name on card")).to_have_value("Hana Kereama")
    expect(customer.get_by_label("Card number")).to_have_value("")
    expect(customer.get_by_label("Password", exact=True)).to_have_value("")  # never sent back
    # A second try with a good card succeeds.
    customer.get_by_label("Password", exact=True).fill(PASSWORD)
    customer.get_by_label("Confirm password").fill(PASSWORD)
    customer.get_by_label("Card number").fill("4242 4242 4242 4242")
    customer.get_by_label("Security code").fill("737")
    customer.get_by_role("button", name="Activate account").click()
    expect(customer.get_by_role("heading", name="Matai Joinery Ltd")).to_be_visible()
    expect(customer.get_by_text("NZ$75.00", exact=True)).to_be_visible()
    expect(customer.get_by_role("status")).to_contain_text("is active")
    assert customer.url.endswith("/account/")

    page.goto("/customers/")
    page.get_by_role("link", name="Matai Joinery Ltd").click()
    expect(page.locator(".page-header .badge")).to_have_text("Active")


def test_expired_link_shows_the_expired_page(page, browser, base_url, smtp, app):
    from webapp.models import ActivationToken, utcnow

    create_customer_for_activation(page)
    link = activation_link(smtp)
    with app.app_context():
        ActivationToken.update(expires_at=utcnow() - dt.timedelta(minutes=1)).execute()
    customer = browser.new_context(base_url=base_url).new_page()
    customer.goto(link)
    expect(customer.get_by_role("heading", name="This activation link has expired")).to_be_visible()
    expect(customer.get_by_text("support@demo.example.com").first).to_be_visible()


def test_activation_without_javascript(page, browser, base_url, smtp):
    create_customer_for_activation(page)
    link = activation_link(smtp)
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    customer = context.new_page()
    customer.goto(link)
    fill_activation(customer, "4242 4242 4242 4242")
    customer.get_by_role("button", name="Activate account").click()
    expect(customer.get_by_text("NZ$75.00", exact=True)).to_be_visible()
    context.close()
