"""Accessibility of every page, generated from the URL map (see e2e/site_pages.py).

Each page state is opened in Chromium as the person who would see it and checked with axe-core
(WCAG 2.0-2.2 A and AA plus axe's best practices): no serious or critical violation anywhere.
Then the window is narrowed to a 375 px phone, where nothing may scroll sideways. Every htmx
request a page can make must show a loading indicator, and every button of a form that posts
must be disabled while its request is in flight.

Further down: focus after swaps and what the live region (#status) announces.
"""

from __future__ import annotations

import re
from collections import Counter

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from conftest import ADMIN
from e2e.conftest import sign_in
from e2e.site_pages import actor_sign_in, build_site, check_tables, visits, wait_for_outbox
from e2e.test_activation import fill_activation
from e2e.test_wizard import continue_to, fill_address, fill_contact

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}
BLOCKING = {"serious", "critical"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}

# Every element that makes an htmx request must name a loading indicator that exists (resolved
# the way htmx resolves it: inherited from an ancestor, "this", "closest …", "find …" or a CSS
# selector), and every form or button that posts must name elements to disable while it runs.
# Requests fired on page load (hx-trigger="load") tidy the page up and have nothing to show.
HTMX_FEEDBACK = """() => {
  const resolve = (el, attr) => {
    const owner = el.closest('[' + attr + ']');
    if (!owner) return [];
    const disinherit = (owner.getAttribute('hx-disinherit') || '').split(/\\s+/);
    if (owner !== el && (disinherit.includes(attr) || disinherit.includes('*'))) return [];
    return owner.getAttribute(attr).split(',').map(s => s.trim()).flatMap(value => {
      if (value === 'this') return [owner];
      if (value.startsWith('closest ')) return [el.closest(value.slice(8))].filter(Boolean);
      if (value.startsWith('find ')) return [el.querySelector(value.slice(5))].filter(Boolean);
      return [...document.querySelectorAll(value)];
    });
  };
  const problems = [];
  for (const el of document.querySelectorAll('[hx-get], [hx-post], [hx-put], [hx-patch], [hx-delete]')) {
    if ((el.getAttribute('hx-trigger') || '').includes('load')) continue;
    const what = el.outerHTML.slice(0, 120);
    if (!resolve(el, 'hx-indicator').length) problems.push('no loading indicator (hx-indicator): ' + what);
    const posts = !el.hasAttribute('hx-get');
    if (posts && (el.tagName === 'FORM' || el.tagName === 'BUTTON')) {
      const disabled = resolve(el, 'hx-disabled-elt');
      const buttons = el.tagName === 'FORM' ? [...el.querySelectorAll('button:not([type=button])')] : [el];
      for (const b of buttons.filter(b => !disabled.includes(b))) {
        problems.push('not disabled while its form posts (hx-disabled-elt): ' + b.outerHTML.slice(0, 100) + ' in ' + what);
      }
    }
  }
  return problems;
}"""


def test_every_get_rule_is_reachable_by_the_page_walk(app):
    """A new page fails here until e2e/site_pages.py says how to open it."""
    problems = check_tables(app)
    assert not problems, "\n".join(problems)


def test_every_page_state_passes_axe_and_fits_a_phone(browser, base_url, app, smtp, record_figure):
    """Each state is checked at desktop width (axe, htmx feedback), then narrowed to 375 px."""
    app.config["CUSTOMERS_PER_PAGE"] = 5  # so the list has a second page
    site = build_site(app, smtp, mail_dir=app.config["MAIL_CATCHER_DIR"])
    axe = Axe()
    contexts, pages = [], {}
    problems: list[str] = []
    impacts: Counter = Counter()
    routes, states = set(), 0
    try:
        for visit in visits(site):
            page = pages.get(visit.actor)
            if page is None:
                context = browser.new_context(base_url=base_url, viewport=DESKTOP)
                contexts.append(context)
                page = pages[visit.actor] = context.new_page()
                actor_sign_in(page, visit.actor, site)
            where = f"{visit.name} [{visit.endpoint} {visit.url}]"
            page.set_viewport_size(DESKTOP)
            response = page.goto(visit.url)
            if response is None or response.status != visit.status:
                problems.append(f"{where}: status {response and response.status}, expected {visit.status}")
                continue
            if visit.act:
                visit.act(page)
            # A page may start an htmx request as it loads (the address step hides the service
            # address fields that a page without JavaScript shows); its content is dimmed while
            # the request runs, so check the page once htmx is done, as a person would see it.
            page.wait_for_function(HTMX_IDLE)
            routes.add(visit.endpoint)
            states += 1
            for violation in axe.run(page, options=AXE_OPTIONS).response["violations"]:
                impacts[violation["impact"]] += 1
                nodes = "; ".join(" ".join(n["target"]) for n in violation["nodes"][:5])
                line = f"{where}: {violation['impact']} {violation['id']}: {violation['help']} ({nodes})"
                if violation["impact"] in BLOCKING:
                    problems.append(line)
                else:
                    print(line)  # shown with -rP or on failure; moderate and minor do not fail the run
            problems += [f"{where}: {p}" for p in page.evaluate(HTMX_FEEDBACK)]
            page.set_viewport_size(PHONE)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(
                    f"{where}: scrolls sideways at {PHONE['width']} px (page is {width} px; "
                    f"furthest right: {page.evaluate(_WIDEST)})"
                )
    finally:
        for context in contexts:
            context.close()
    summary = ", ".join(f"{count} {impact}" for impact, count in sorted(impacts.items())) or "none"
    pages_of_rules = len(routes - {"(error page)"})
    record_figure(
        "accessibility walk",
        f"{states} page states ({pages_of_rules} GET routes, plus error pages) checked "
        f"with axe and at 375 px; axe violations: {summary}; problems: {len(problems)}",
    )
    assert not problems, "\n".join(problems)


# No htmx request in flight and no swap settling.
HTMX_IDLE = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"


# The elements sticking out furthest to the right, to say what to fix.
_WIDEST = """() => {
  const limit = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > limit + 0.5)
    .sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right)
    .slice(0, 3)
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + String(el.className).trim().replace(/\\s+/g, '.') : '')
               + ' ' + Math.round(el.getBoundingClientRect().right) + 'px')
    .join(', ');
}"""


# --- Focus and announcements ------------------------------------------------------------------

# Records every node added to the live region (#status) from the moment the page is parsed:
# what a screen reader is told. An init script, so it is there before the page's own scripts.
LISTEN = """document.addEventListener('readystatechange', () => {
  const region = document.getElementById('status');
  if (!region || window.__announced) return;
  window.__announced = [];
  new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
    const text = (n.textContent || '').trim();
    if (text) window.__announced.push(text);
  }))).observe(region, {childList: true, subtree: true, characterData: true});
});"""


def announced(page: Page) -> list[str]:
    return page.evaluate("window.__announced || []")


def expect_announced(page: Page, pattern: str) -> None:
    for _ in range(50):
        if any(re.search(pattern, text) for text in announced(page)):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never announced {pattern!r}; announced: {announced(page)}")


def test_status_changes_are_announced_in_the_live_region(page, browser, base_url, smtp, app):
    page.context.add_init_script(LISTEN)
    sign_in(page, *ADMIN)
    page.wait_for_load_state()  # htmx has set the page up
    # Searching says how much it found (the table itself is not read out).
    page.get_by_label("Search customers").fill("kauri")
    expect_announced(page, r"^1 customer shown matching “kauri”\.$")
    # A wizard step answered in place: "Saved" and where the person is now.
    page.goto("/customers/new/")
    page.get_by_label("The new customer").check()
    continue_to(page, "Contact and business information")
    expect_announced(page, r"^Saved\. Contact and business, 2 of 5\.$")
    fill_contact(page)
    continue_to(page, "Address details")
    expect_announced(page, r"^Saved\. Address, 3 of 5\.$")
    fill_address(page)
    continue_to(page, "Plan and payment")
    page.get_by_label(re.compile(r"^Business")).check()
    continue_to(page, "Check your answers")
    page.get_by_role("button", name="Create customer").click()

    # The customer created, and its activation email on its way.
    expect_announced(page, r"activation email is on its way to hana@matai-joinery\.example\.com")
    # Resending the email (a full page after a redirect): the flashed message is announced too.
    wait_for_outbox(app)  # (SQLite: see wait_for_outbox)
    page.get_by_role("link", name="View Matai Joinery Ltd").click()
    page.get_by_role("button", name="Resend activation email").click()
    expect_announced(page, r"new activation email is on its way")

    # The activation done, on the customer's side.
    customer = browser.new_context(base_url=base_url).new_page()
    customer.context.add_init_script(LISTEN)
    newest = smtp.text(smtp.wait_for(2)[-1])  # the resent email: the first link no longer works
    customer.goto(re.search(r"http://127\.0\.0\.1:\d+/activate/[A-Za-z0-9_-]+", newest).group(0))
    fill_activation(customer, "4242 4242 4242 4242")
    customer.get_by_role("button", name="Activate account").click()
    expect_announced(customer, r"Matai Joinery Ltd is active")
    customer.context.close()


def test_pagination_moves_focus_to_the_new_results_and_search_keeps_it(page, app):
    app.config["CUSTOMERS_PER_PAGE"] = 4
    sign_in(page, *ADMIN)
    page.wait_for_load_state()  # htmx has set the page up
    page.evaluate("window.__noReload = true")
    page.get_by_role("link", name="Next page").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()
    # The link that was pressed is gone with the old results: focus goes to the new ones.
    expect(page.locator("#results")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#results a").first).to_be_focused()
    # Typing a search swaps the same results but leaves focus in the box.
    page.get_by_label("Search customers").fill("tui")
    expect(page.get_by_role("link", name="Tui Cafe")).to_be_visible()
    expect(page.get_by_label("Search customers")).to_be_focused()
    assert page.evaluate("window.__noReload") is True


def test_errors_after_a_full_page_load_take_focus(page):
    """Without htmx (sign-in, activation), a page that comes back with errors focuses its summary."""
    page.goto("/login")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error-summary")).to_be_focused()
    assert page.title().startswith("Error: ")
