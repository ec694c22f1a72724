"""Customers > Import in a real browser, with JavaScript on and off: upload a file with mistakes,
see them in the preview, upload the corrected file, confirm, watch the progress page update
itself (htmx polling, or the page refreshing itself without JavaScript), download the report.
axe checks the pages here and in the accessibility walk (e2e/site_pages.py)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from conftest import ADMIN
from e2e.conftest import follow, sign_in
from testkit.imports import csv_bytes, good_row

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}
ROWS = 24


def _blocking(page) -> list[str]:
    results = Axe().run(page, options=AXE_OPTIONS)
    return [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def _file(tag: str, broken: bool) -> dict:
    rows = [good_row(i, email=f"{tag}{i}@browser-import.example.com") for i in range(ROWS)]
    if broken:
        rows[1]["email"] = "not-an-email"
        rows[4]["postcode"] = "!!"
    return {"name": "customers.csv", "mimeType": "text/csv", "buffer": csv_bytes(rows)}


def _check(page, tag: str, broken: bool) -> None:
    """Upload the file: its page shows the worker checking the rows (htmx polls, or the page
    refreshes itself without JavaScript) until the preview is there."""
    page.get_by_label("All of them: the new customer").check()
    page.get_by_label("CSV file").set_input_files(_file(tag, broken))
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1, name=re.compile("Checking the file|Check the import"))).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="Check the import")).to_be_visible(timeout=60_000)


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_upload_fix_confirm_watch_and_download_the_report(browser, base_url, app, javascript):
    context = browser.new_context(java_script_enabled=javascript, base_url=base_url, accept_downloads=True)
    page = context.new_page()
    tag = "js" if javascript else "nojs"
    sign_in(page, *ADMIN)
    follow(page, "Import customers")
    expect(page.get_by_role("heading", level=1, name="Import customers")).to_be_visible()
    expect(page.get_by_text("10,000 rows", exact=True)).to_be_visible()
    assert not javascript or _blocking(page) == []  # axe runs in the page: with JavaScript only

    # The file with two mistakes: the preview names each row, column and problem.
    _check(page, tag, broken=True)
    expect(page.get_by_role("heading", level=1, name="Check the import")).to_be_visible()
    expect(page.get_by_text(f"{ROWS - 2} ready to create")).to_be_visible()
    problems = page.get_by_role("table", name="Rows with problems")
    expect(problems.get_by_role("row", name=re.compile("Row 3 email Enter an email address"))).to_be_visible()
    expect(problems.get_by_role("row", name=re.compile("Row 6 postcode"))).to_be_visible()
    assert not javascript or _blocking(page) == []  # axe runs in the page: with JavaScript only

    # Fixed and uploaded again from the preview: every row ready.
    _check(page, tag, broken=False)
    expect(page.get_by_text(f"{ROWS} ready to create")).to_be_visible()
    expect(page.get_by_role("table", name="Rows with problems")).to_have_count(0)

    page.get_by_role("button", name=f"Create {ROWS} customers").click()
    # The page updates itself until the worker is done: htmx polls, or the page refreshes.
    expect(page.get_by_role("heading", level=1, name=re.compile("Creating customers|Import finished"))).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="Import finished")).to_be_visible(timeout=60_000)
    expect(page.get_by_text(f"{ROWS} customers created")).to_be_visible()
    assert not javascript or _blocking(page) == []  # axe runs in the page: with JavaScript only

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report (CSV)").click()
    report = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(report) == ROWS and {line["result"] for line in report} == {"created"}
    assert all(re.search(r"/customers/\d+$", line["customer_link"]) for line in report)
    context.close()
