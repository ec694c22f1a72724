"""Keyboard only: both wizard options and the sandbox activation with Tab, Shift+Tab, Space,
Enter and the arrow keys (page.keyboard), never the mouse. Before and after every key press and
after typing, once htmx has finished (no request in flight, nothing swapping or settling), focus
must be on an element, never fallen to <body> (only a page no key has been pressed in yet may
have nothing focused), and that element must show a visible focus indicator (a computed outline
or box-shadow). After every htmx swap focus must be on the new step's heading, or on the error
summary when there are errors.
"""

from __future__ import annotations

import re

from playwright.sync_api import Error, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from conftest import ADMIN
from e2e.test_activation import PASSWORD, activation_link

# htmx has nothing in flight and nothing left to swap or settle (app.js moves focus on settle).
SETTLED = """() => document.readyState === 'complete'
  && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"""

# Where focus is. A document in which focus has been on an element is marked, so that <body>
# there is focus lost; in a freshly loaded one nothing is focused until the first Tab.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {body: true, fresh: !window.__keyboardHadFocus};
  window.__keyboardHadFocus = true;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none';
  const name = (el.getAttribute('aria-label') || el.labels?.[0]?.textContent || el.textContent || el.value || '')
    .trim().replace(/\\s+/g, ' ').slice(0, 60);
  return {body: false, visible: outline || shadow, what: `<${el.tagName.toLowerCase()}> ${name}`};
}"""


class Keyboard:
    """page.keyboard, checking before and after every key that focus is on something visible."""

    def __init__(self, page: Page):
        self.page = page
        self.presses = 0
        self.checks = 0

    def press(self, key: str) -> None:
        self.assert_focus_visible(f"before {key}")
        self.page.keyboard.press(key)
        self.presses += 1
        self.assert_focus_visible(f"after {key}")

    def _settled_focus(self) -> dict:
        for _ in range(3):
            try:
                self.page.wait_for_function(SETTLED, timeout=10_000)
                return self.page.evaluate(FOCUS)
            except PlaywrightTimeout:
                raise
            except Error:  # the key started a page load: check the new page once it is there
                self.page.wait_for_load_state()
        raise AssertionError("the page kept navigating")

    def assert_focus_visible(self, when: str) -> None:
        focus = self._settled_focus()
        self.checks += 1
        if focus["body"]:
            assert focus["fresh"], f"focus fell to <body> {when} on {self.page.url}"
            return  # a freshly loaded page: nothing focused until the first Tab
        assert focus["visible"], f"focus is not visible {when}: {focus['what']}"

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.assert_focus_visible(f"after typing {text!r}")

    def replace(self, text: str) -> None:
        """Select what the focused box holds and type over it."""
        self.page.keyboard.press("Control+A")
        self.type(text)

    def tab_to(self, target: Locator, backwards: bool = False, limit: int = 60) -> None:
        """Press Tab (Shift+Tab backwards) until `target` has focus."""
        self.page.wait_for_load_state()  # after a page load, let htmx set the page up first
        for _ in range(limit):
            self.press("Shift+Tab" if backwards else "Tab")
            if target.evaluate("el => el === document.activeElement"):
                return
        raise AssertionError(f"{limit} presses of Tab never reached {target}")

    def fill(self, label: str, text: str, exact: bool = False) -> None:
        self.tab_to(self.page.get_by_label(label, exact=exact))
        self.replace(text)

    def activate(self, target: Locator, key: str = "Enter") -> None:
        self.tab_to(target)
        self.press(key)


def expect_step(keys: Keyboard, heading: str, number: int | None = None) -> None:
    """The swap brought the next step, focus is on its heading (visibly), and the change was announced."""
    page = keys.page
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_focused()
    keys.assert_focus_visible(f"on the heading {heading!r} after the swap")
    if number is not None:
        expect(page.locator("#status")).to_contain_text("Saved. ")
        expect(page.locator("#status")).to_contain_text(f", {number} of ")


def sign_in_by_keyboard(page: Page, keys: Keyboard) -> None:
    page.goto("/login")
    keys.fill("Email", ADMIN[0])
    keys.fill("Password", ADMIN[1])
    keys.press("Enter")  # submits the form from the password box
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()


def contact_by_keyboard(page: Page, keys: Keyboard, authorized: bool = False) -> None:
    keys.fill("Business name", "Matai Joinery Ltd")
    keys.fill("First name", "Hana")
    keys.fill("Last name", "Kereama")
    keys.fill("Email", "hana@matai-joinery.example.com")
    keys.fill("Phone", "021 123 4567")
    if authorized:
        keys.tab_to(page.get_by_label("I confirm this person is authorized to act for the business"))
        keys.press("Space")
        expect(page.get_by_label("I confirm this person is authorized to act for the business")).to_be_checked()


def address_by_keyboard(page: Page, keys: Keyboard) -> None:
    keys.fill("Address line 1", "12 Totara Street", exact=True)
    keys.fill("City", "Wellington", exact=True)
    keys.fill("Postcode", "6011", exact=True)


def choose_business_plan(page: Page, keys: Keyboard) -> None:
    keys.tab_to(page.get_by_label(re.compile(r"^Starter")))  # no plan chosen yet: Tab lands on the first
    keys.press("ArrowDown")  # moves to, and chooses, the next plan
    expect(page.get_by_label(re.compile(r"^Business"))).to_be_checked()


def test_new_customer_option_and_its_activation_by_keyboard_only(page, browser, base_url, smtp, record_figure):
    keys = Keyboard(page)
    sign_in_by_keyboard(page, keys)
    keys.activate(page.get_by_role("link", name="Create new customer"))
    expect(page.get_by_role("heading", name="Who will administer this account?")).to_be_visible()

    keys.tab_to(page.get_by_label("The new customer"))
    keys.press("Space")
    expect(page.get_by_label("The new customer")).to_be_checked()
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Contact and business information", 2)

    # A mistake: the error summary takes focus; its link leads to the field; fix and go on.
    contact_by_keyboard(page, keys)
    keys.tab_to(page.get_by_label("Email"), backwards=True)
    keys.replace("not-an-email")
    keys.activate(page.get_by_role("button", name="Continue"))
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    keys.assert_focus_visible("on the error summary")
    keys.activate(summary.get_by_role("link", name=re.compile("Enter an email address")))
    expect(page.get_by_label("Email")).to_be_focused()
    keys.replace("hana@matai-joinery.example.com")
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Address details", 3)

    address_by_keyboard(page, keys)
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Plan and payment", 4)
    choose_business_plan(page, keys)
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Check your answers", 5)

    # Tab past "Create customer" to the "Back" link, then Shift+Tab back to it.
    keys.tab_to(page.get_by_role("link", name="Back"))
    keys.tab_to(page.get_by_role("button", name="Create customer"), backwards=True)
    keys.press("Enter")
    expect_step(keys, "Your new customer has been successfully created!")
    expect(page.locator("#status")).to_contain_text(
        "An activation email is on its way to hana@matai-joinery.example.com"
    )

    # The customer activates from the emailed link, by keyboard too.
    customer = browser.new_context(base_url=base_url).new_page()
    admin_keys, keys = keys, Keyboard(customer)
    customer.goto(activation_link(smtp))
    keys.fill("Password", PASSWORD, exact=True)
    keys.fill("Confirm password", PASSWORD)
    keys.fill("Opening balance", "75.00")
    keys.fill("Name on card", "Hana Kereama")
    keys.fill("Card number", "4242 4242 4242 4242")
    keys.fill("Expiry (MM/YY)", "12/34")
    keys.fill("Security code", "737")
    keys.tab_to(customer.get_by_label("I accept the terms of service"))
    keys.press("Space")
    keys.activate(customer.get_by_role("button", name="Activate account"))
    expect(customer.get_by_role("heading", name="Matai Joinery Ltd")).to_be_visible()
    expect(customer.get_by_role("status")).to_contain_text("is active")
    customer.context.close()
    record_figure(
        "keyboard (new customer option and activation)",
        f"{admin_keys.presses + keys.presses} key presses, focus checked {admin_keys.checks + keys.checks} "
        "times once htmx settled: always on a visible element, never <body>",
    )


def test_white_label_option_by_keyboard_only(page, record_figure):
    keys = Keyboard(page)
    sign_in_by_keyboard(page, keys)
    keys.activate(page.get_by_role("link", name="Create new customer"))
    keys.tab_to(page.get_by_label("The new customer"))  # the first option: Tab lands there
    keys.press("ArrowDown")  # the arrow moves to, and chooses, the second option
    expect(page.get_by_label("Me, the white-label administrator")).to_be_checked()
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Authorized contact and business information", 2)

    contact_by_keyboard(page, keys, authorized=True)
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Address details", 3)
    address_by_keyboard(page, keys)
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Plan and payment", 4)
    choose_business_plan(page, keys)
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Phone numbers", 5)

    keys.fill("Filter numbers", "0112")
    expect(page.get_by_label("09 555 0113")).to_have_count(0)
    keys.tab_to(page.get_by_label("09 555 0112"))
    keys.press("Space")
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "PBX settings", 6)

    keys.tab_to(page.get_by_label("Default caller ID"))
    keys.press("ArrowDown")  # from "None" to the chosen number
    expect(page.get_by_label("Default caller ID")).to_have_value("+6495550112")
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Check your answers", 7)
    expect(page.get_by_text("09 555 0112").first).to_be_visible()

    # "Change" from the answers goes back to a step and focus follows.
    keys.activate(page.get_by_role("link", name="Change phone numbers"))
    expect_step(keys, "Phone numbers")
    keys.activate(page.get_by_role("button", name="Continue"))
    expect_step(keys, "Check your answers", 7)

    keys.activate(page.get_by_role("button", name="Create customer"))
    expect_step(keys, "Your new customer has been successfully created!")
    expect(page.locator("#status")).to_contain_text("has been created and is active")
    record_figure(
        "keyboard (white-label option)",
        f"{keys.presses} key presses, focus checked {keys.checks} times once htmx settled: "
        "always on a visible element, never <body>",
    )
