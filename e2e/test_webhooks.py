"""Settings > Webhooks in a browser: add an endpoint, copy the secret shown once, see the event
arrive (signed, at a real receiver) in the delivery log, and send it again."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import Page, expect

from conftest import ADMIN
from e2e.conftest import follow, sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from testkit.webhook_receiver import Receiver  # noqa: E402


def add_endpoint(page: Page, url: str) -> str:
    """Settings > Webhooks > Add endpoint; returns the secret the next page shows."""
    follow(page, "Settings")
    follow(page, "Webhooks")
    follow(page, "Add endpoint")
    page.get_by_label("Endpoint URL").fill(url)
    page.get_by_label("Description").fill("Our shop")
    page.get_by_label("payment.succeeded").uncheck()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("heading", level=1, name="Webhook endpoint")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("shown only this once")
    return page.locator("#signing-secret").inner_text()


def test_add_an_endpoint_see_the_secret_once_and_the_delivery_log(page: Page):
    receiver = Receiver().start()
    try:
        sign_in(page, *ADMIN)
        secret = add_endpoint(page, receiver.url)
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret)
        receiver.secrets = [secret]
        endpoint_url = page.url
        page.reload()
        expect(page.locator("#signing-secret")).to_have_count(0)  # shown once
        expect(
            page.get_by_text(
                "customer.created, customer.activated, customer.activation_expired, customer.status_changed", exact=True
            )
        ).to_be_visible()

        # Suspend a customer: customer.status_changed goes to the shop.
        follow(page, "Customers")
        follow(page, "Kauri Dental")
        follow(page, "Suspend")
        page.get_by_label("Reason").fill("Unpaid invoice")
        page.get_by_role("button", name="Suspend").click()
        expect(page.get_by_role("status")).to_contain_text("has been suspended")
        arrived = receiver.wait_for(1)[0]
        assert arrived.event_type == "customer.status_changed" and arrived.verified_by == [0]
        assert arrived.payload["data"]["customer"]["status"] == "suspended"

        page.goto(endpoint_url)
        log = page.locator("#log")
        expect(log.get_by_text("customer.status_changed", exact=True)).to_be_visible()
        expect(log.get_by_text("Delivered")).to_be_visible()
        expect(log.get_by_text("HTTP 204")).to_be_visible()
        expect(log.get_by_text(re.compile(r"^\d+ ms$"))).to_be_visible()

        log.get_by_role("button", name=re.compile("^Send again")).click()
        expect(page.get_by_role("status")).to_contain_text("queued to be sent again")
        again = receiver.wait_for(2)[1]
        assert again.message_id == arrived.message_id and again.verified_by == [0]
        page.reload()
        expect(page.locator("#log td[data-label=Attempts]")).to_have_text("2")
    finally:
        receiver.stop()


def test_without_javascript_an_endpoint_is_added_and_rotated(browser, base_url):
    context = browser.new_context(base_url=base_url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, *ADMIN)
        page.goto("/settings/webhooks/new")
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.locator(".error-summary")).to_contain_text("Enter the URL your shop receives webhooks at.")
        first = add_endpoint(page, "http://127.0.0.1:9/shop")
        follow(page, "Rotate secret")
        page.get_by_label("Keep signing with the old secret for").select_option("24")
        page.get_by_role("button", name="Make a new secret").click()
        expect(page.get_by_role("status")).to_contain_text("both signatures for 24 hours")
        second = page.locator("#signing-secret").inner_text()
        assert second.startswith("whsec_") and second != first
        expect(page.get_by_text("the previous secret also signs until")).to_be_visible()
    finally:
        context.close()
