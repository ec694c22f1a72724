"""Settings > API keys in a real browser: create a key, see it once, use it, revoke it; staff
see the list only. axe checks the page through the accessibility walk (e2e/site_pages.py)."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from conftest import ADMIN, STAFF
from e2e.conftest import sign_in

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}


def _blocking(page) -> list[str]:
    results = Axe().run(page, options=AXE_OPTIONS)
    return [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_create_a_key_see_it_once_use_it_and_revoke_it(page, browser, base_url):
    sign_in(page, *ADMIN)
    page.goto("/settings/")
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", level=1, name="API keys")).to_be_visible()
    page.get_by_role("button", name="Create API key").click()
    expect(page.locator(".error-summary")).to_contain_text("Enter a name for the key")
    assert _blocking(page) == []

    page.get_by_label("Name").fill("Web shop")
    page.get_by_label(re.compile(r"^Read and write")).check()
    page.get_by_role("button", name="Create API key").click()
    expect(page.get_by_role("heading", name="Copy your new key now")).to_be_visible()
    secret = page.get_by_label(re.compile(r"Key “Web shop”")).input_value()
    assert re.fullmatch(r"pbx_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", secret)
    assert _blocking(page) == []

    # The key works from anywhere, without the browser's session.
    answer = page.request.get(f"{base_url}/api/v1/plans", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200 and answer.json()["data"][0]["name"] == "Starter"

    page.goto("/settings/api-keys/")  # shown once: never again
    expect(page.get_by_role("heading", name="Copy your new key now")).to_have_count(0)
    assert secret not in page.content()
    row = page.get_by_role("row", name=re.compile("Web shop"))
    expect(row).to_contain_text(secret[:12] + "_…")
    expect(row).to_contain_text("Read and write")

    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(page.get_by_role("row", name=re.compile("Web shop"))).to_contain_text("Revoked")
    answer = page.request.get(f"{base_url}/api/v1/plans", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 401 and answer.headers["content-type"] == "application/problem+json"


def test_staff_see_the_keys_but_no_controls(page, base_url, app):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from testkit.api import make_key

    make_key(app, name="Shop key")
    sign_in(page, *STAFF)
    page.goto("/settings/api-keys/")
    expect(page.get_by_role("row", name=re.compile("Shop key"))).to_be_visible()
    expect(page.get_by_role("button", name="Create API key")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Revoke"))).to_have_count(0)
    expect(page.get_by_text("Only your white-label's administrators can create or revoke keys.")).to_be_visible()
