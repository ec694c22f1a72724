"""Target 5: what a page costs to load: bytes, compression, caching, other origins.

The activation page (sandbox mode) is the page the target names; until it exists the sign-in
page stands in, clearly labelled. Adding a page is one entry in PAGES.
"""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .harness import (
    BROWSER,
    HTMX,
    Row,
    build_app,
    decoded,
    expect,
    log,
    sign_in,
    throwaway_database,
)

BUDGET_BYTES = 30_000  # "30 KB" read strictly
YEAR = 365 * 24 * 3600
TEXT_TYPES = ("text/html", "text/css", "text/javascript", "application/javascript")


def sign_in_page(app, client) -> str:
    return "/login"


def activation_page(app, client) -> str:
    """A pending customer of the sandbox white-label, and its activation link."""
    import secrets

    from webapp.extensions import db
    from webapp.models import Customer, Plan, WhiteLabel
    from webapp.onboarding.options import CUSTOMER
    from webapp.tokens import issue_token

    with app.app_context(), db.connection_context(), db.atomic():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        customer = Customer.create(
            white_label=label,
            business_name="Bench Activation Ltd",
            contact_first_name="Bea",
            contact_email=f"bench-{secrets.token_hex(4)}@example.com",
            plan=Plan.get((Plan.white_label == label) & (Plan.name == "Business")),
            administered_by=CUSTOMER.key,
            status=Customer.PENDING,
        )
        raw, _ = issue_token(customer, "activation", 3600)
    return f"/activate/{raw}"


# (label, function(app, client) -> URL of the page).
PAGES = [
    ("activation page, sandbox", activation_page),
    ("sign-in page", sign_in_page),
]


SOURCE_ATTRIBUTES = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "audio": "src",
    "video": "src",
    "embed": "src",
    "object": "data",
}


class _Resources(HTMLParser):
    """Every URL the browser would fetch while loading the document."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("href"):
            rel = (attrs.get("rel") or "").lower()
            if any(word in rel for word in ("stylesheet", "icon", "preload", "modulepreload", "manifest")):
                self.urls.append(attrs["href"])
        elif tag in SOURCE_ATTRIBUTES and attrs.get(SOURCE_ATTRIBUTES[tag]):
            self.urls.append(attrs[SOURCE_ATTRIBUTES[tag]])


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


def _is_other_origin(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "data":
        return False
    return bool(parts.netloc) and parts.netloc not in ("localhost", "127.0.0.1")


def _hash_matches(app, url: str) -> bool:
    """The URL's v= is the content hash asset_url puts there (or a version for dynamic CSS)."""
    parts = urlsplit(url)
    version = parse_qs(parts.query).get("v", [""])[0]
    if parts.path.startswith("/static/"):
        path = Path(app.static_folder) / parts.path.removeprefix("/static/")
        return version == hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return bool(version)


def _page_rows(app, client, label: str, url: str, vary: str) -> list[Row]:
    page = expect(client.get(url, headers=BROWSER))
    html = decoded(page)
    parser = _Resources()
    parser.feed(html)
    resources, other_origin = [], []
    queue = list(parser.urls)
    while queue:
        resource = queue.pop(0)
        if _is_other_origin(resource):
            other_origin.append(resource)
            continue
        response = expect(client.get(resource, headers=BROWSER))
        resources.append((resource, response))
        if response.mimetype == "text/css":
            for match in CSS_URL.finditer(decoded(response)):
                queue.append(match.group(1) or match.group(2))

    text = [(url, r) for url, r in [(url, page)] + resources if r.mimetype in TEXT_TYPES]
    sizes = {"HTML": 0, "CSS": 0, "JS": 0}
    for _, response in text:
        kind = {"text/html": "HTML", "text/css": "CSS"}.get(response.mimetype, "JS")
        sizes[kind] += len(response.get_data())
    total = sum(sizes.values())

    # Compression: every text response big enough to be worth it, for a brotli and a gzip client.
    uncompressed = []
    for url_, _response in text:
        for accept, wanted in (("gzip, deflate, br, zstd", "br"), ("gzip", "gzip")):
            again = client.get(url_, headers={"Accept-Encoding": accept})
            if len(again.get_data()) >= 500 and again.headers.get("Content-Encoding") != wanted:
                uncompressed.append(f"{url_} ({accept})")
    vary_ok = "HX-Request" in vary and "Accept-Encoding" in vary

    cache_bad = []
    for url_, response in resources:
        max_age = response.cache_control.max_age or 0
        if max_age < YEAR or not _hash_matches(app, url_):
            cache_bad.append(url_)

    return [
        Row(
            f"5 compression for HTML/CSS/JS, {label}",
            f"{len(text)} text responses, {len(uncompressed)} uncompressed for br and gzip-only clients; "
            f"Vary of a page-or-partial view: {vary}",
            None,
            "br & gzip; Vary",
            not uncompressed and vary_ok,
        ),
        Row(
            f"5 static caching + content hash, {label}",
            f"{len(resources) - len(cache_bad)}/{len(resources)} resources with max-age >= 1 year and a content "
            f"hash or version in the URL" + (f"; not: {', '.join(cache_bad)}" if cache_bad else ""),
            None,
            "all",
            not cache_bad,
        ),
        Row(
            f"5 requests to another origin, {label}",
            f"{len(other_origin)} of {len(parser.urls)} resources; CSP: "
            f"{page.headers.get('Content-Security-Policy', '').split(';')[0]}",
            None,
            "== 0",
            not other_origin,
        ),
        Row(
            f"5 bytes HTML+CSS+JS (brotli), {label}",
            f"{total / 1000:.1f} KB = HTML {sizes['HTML'] / 1000:.1f} + CSS {sizes['CSS'] / 1000:.1f} "
            f"+ JS {sizes['JS'] / 1000:.1f} KB, of a {BUDGET_BYTES / 1000:.0f} KB budget",
            total / BUDGET_BYTES,
            "<= 1.00",
            total <= BUDGET_BYTES,
        ),
    ]


def run() -> list[Row]:
    log("target 5: page weight, compression, caching")
    rows = []
    with throwaway_database("sqlite") as url:
        app = build_app(url)
        # A view that answers a page or an htmx partial must vary on both headers.
        admin = app.test_client()
        sign_in(admin)
        vary = ", ".join(admin.get("/customers/", headers=HTMX).headers.get_all("Vary"))
        for label, page_url in PAGES:
            visitor = app.test_client()  # the pages are for people who are not signed in yet
            rows += _page_rows(app, visitor, label, page_url(app, visitor), vary)
    return rows
