"""Headers, cookies, escaping (issue 6, check 9) and branded error pages (check 10)."""

from __future__ import annotations

import json
import re

import pytest
from peewee import OperationalError

from conftest import ADMIN, STAFF, csrf_token, sign_in
from testkit.url_map_walk import build_targets, call, post_data, routes, token_for
from testkit.wizard import (
    complete_customer_option,
    complete_white_label_option,
    post,
    start,
)
from webapp import create_app

LEAKS = [
    "Traceback",
    'File "',
    "sqlite",
    "psycopg",
    "peewee",
    "SELECT",
    "no_such_table",
    "secret-detail-4711",
    "werkzeug",
]


def directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    parsed = {}
    for part in policy.split(";"):
        if part.strip():
            name, *values = part.split()
            parsed[name] = values
    return parsed


# Long-cached on purpose (their URLs change with their content): never no-store.
LONG_CACHED_ENDPOINTS = {"static", "branding.css"}


def caching_problems(response, where: str, endpoint: str | None) -> list[str]:
    """A signed-in person's responses are never stored by the browser or a proxy (pages,
    partials, redirects, the CSV export, error pages); static files and brand CSS keep a year."""
    cache_control = response.headers.get("Cache-Control", "")
    if endpoint in LONG_CACHED_ENDPOINTS:
        if response.status_code == 200 and "max-age=31536000" not in cache_control:
            return [f"{where}: {endpoint} lost its long caching ({cache_control!r})"]
        return []
    if "no-store" not in [d.strip() for d in cache_control.split(",")]:
        return [f"{where}: signed in, but Cache-Control is {cache_control!r}, not no-store"]
    return []


def header_problems(response, where: str, production: bool = False) -> list[str]:
    problems = []
    csp = directives(response)
    if not csp:
        return [f"{where}: no Content-Security-Policy"]
    if (
        "'unsafe-inline'" in response.headers["Content-Security-Policy"]
        or "'unsafe-eval'" in response.headers["Content-Security-Policy"]
    ):
        problems.append(f"{where}: CSP allows inline script or eval")
    for name, value in [("object-src", ["'none'"]), ("base-uri", ["'none'"]), ("frame-ancestors", ["'none'"])]:
        if csp.get(name) != value:
            problems.append(f"{where}: {name} is {csp.get(name)}")
    if csp.get("script-src", csp.get("default-src")) != ["'self'"]:
        problems.append(f"{where}: script-src is {csp.get('script-src')}")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{where}: no nosniff")
    if response.headers.get("Referrer-Policy") not in {
        "same-origin",
        "no-referrer",
        "strict-origin-when-cross-origin",
        "strict-origin",
    }:
        problems.append(f"{where}: Referrer-Policy {response.headers.get('Referrer-Policy')}")
    hsts = response.headers.get("Strict-Transport-Security")
    if production and not (hsts and "max-age=31536000" in hsts):
        problems.append(f"{where}: no HSTS in production")
    if not production and hsts:
        problems.append(f"{where}: HSTS in development (it would pin http://127.0.0.1 to https)")
    return problems


@pytest.fixture
def test_routes(app):
    """Routes that fail on purpose, on this test's app instance only (never in the product)."""
    from flask import abort

    from webapp.extensions import db

    @app.get("/test-only/gone")
    def test_only_gone():
        abort(410)

    @app.get("/test-only/boom")
    def test_only_boom():
        raise RuntimeError("secret-detail-4711 in the exception message")

    @app.route("/test-only/sql", methods=["GET", "POST"])
    def test_only_sql():
        db.execute_sql("SELECT secret FROM no_such_table")

    return app


# --- Headers and cookies ---------------------------------------------------------------------


def test_every_response_has_the_security_headers(test_routes, record_figure):
    app = test_routes
    admin = app.test_client()
    assert sign_in(admin, *ADMIN).status_code == 303
    targets = build_targets(app, admin)
    problems, count, signed_in_count = [], 0, 0
    for who, client in [("administrator", admin), ("anonymous", app.test_client())]:
        signed_in = who != "anonymous"
        token = token_for(client)
        for rule, method, url, values in routes(app, targets):
            if rule.endpoint == "auth.logout" or (method == "POST" and rule.endpoint == "onboarding.discard"):
                continue  # keep the session and the draft for the other routes
            for htmx in (False, True):
                response = call(client, method, url, post_data(rule, values), token=token, htmx=htmx)
                count += 1
                where = f"{method} {url} as {who} ({response.status_code})"
                problems += header_problems(response, where)
                if signed_in:
                    signed_in_count += 1
                    problems += caching_problems(response, where, rule.endpoint)
        for url in ["/no-such-page", "/test-only/gone", "/test-only/boom", "/test-only/sql"]:
            response = client.get(url)
            count += 1
            problems += header_problems(response, f"GET {url} as {who} ({response.status_code})")
            if signed_in:
                signed_in_count += 1
                problems += caching_problems(response, f"GET {url} as {who} ({response.status_code})", None)
        response = client.post("/logout")  # 400 without a token
        problems += header_problems(response, "POST /logout without a token")
    assert not problems, "\n".join(problems)
    record_figure(
        "headers",
        f"{count} responses (pages, partials, redirects, files, errors): CSP, nosniff, Referrer-Policy on all; "
        f"the {signed_in_count} signed in: Cache-Control no-store (static files and brand CSS: a year)",
    )


def test_a_customer_account_users_pages_are_not_stored(app):
    """The customer's side: /account and its partials and redirects, as its Account Administrator."""
    from testkit.url_map_walk import customer_user_client

    client = customer_user_client(app)
    token = token_for(client)
    problems = []
    with app.app_context():
        from webapp.models import Customer

        wattle = Customer.get(Customer.business_name == "Wattle Legal").id
    for method, url in [
        ("GET", "/account/"),
        ("GET", f"/account/{wattle}/top-up"),
        ("GET", f"/account/{wattle}/pbx"),
        ("GET", f"/account/{wattle}/users/new"),
        ("POST", f"/account/{wattle}/pbx"),
        ("GET", "/account/password"),
        ("GET", "/"),
        ("GET", "/customers/"),
    ]:
        for htmx in (False, True):
            response = call(client, method, url, {}, token=token, htmx=htmx)
            problems += caching_problems(response, f"{method} {url} ({response.status_code})", None)
    assert not problems, "\n".join(problems)


def test_the_billing_export_is_not_stored(admin_client):
    response = admin_client.get("/settings/billing.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "no-store" in response.headers["Cache-Control"]


def test_production_adds_hsts_and_secure_cookies(app, monkeypatch, database_url):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    production = create_app({"DATABASE_URL": database_url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    client = production.test_client()
    https = {"base_url": "https://onboarding.example.com"}
    page = client.get("/login", **https)
    assert not header_problems(page, "GET /login", production=True)
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login",
        data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token},
        headers={"Referer": "https://onboarding.example.com/login"},
        **https,
    )
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The __Host- prefix: browsers take the cookie only if it is Secure, Path=/ and has no Domain,
    # so no sibling subdomain or plain-http page can set or overwrite it.
    assert cookie.startswith("__Host-session="), cookie
    attributes = [part.strip() for part in cookie.split(";")[1:]]
    assert "Path=/" in attributes and not any(a.lower().startswith("domain=") for a in attributes), cookie
    customers = client.get("/customers/", **https)
    assert customers.status_code == 200  # the prefixed cookie is the session
    assert not header_problems(customers, "GET /customers/", production=True)


def test_development_session_cookie_is_httponly_lax_and_not_secure(client):
    response = sign_in(client, *ADMIN)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http://127.0.0.1 in development
    assert "Strict-Transport-Security" not in response.headers


def test_htmx_is_configured_to_stay_on_this_site_without_eval_or_scripts(client):
    html = client.get("/login").get_data(as_text=True)
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html).group(1))
    assert config["selfRequestsOnly"] is True
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False  # no <style> element under the CSP
    for tag in re.findall(r"<script[^>]*>", html):
        assert " src=" in tag, tag  # no inline script: htmx reads its configuration from the meta tag


# --- User-entered text is text ---------------------------------------------------------------

HOSTILE_NAME = '<div hx-get="/x">'
HOSTILE_PERSON = '<img src=x onerror="alert(1)">'


def _shows_as_text(html: str, where: str) -> None:
    assert HOSTILE_NAME not in html, where
    assert 'hx-get="/x"' not in html, where
    assert "&lt;div hx-get=&#34;/x&#34;&gt;" in html or "&lt;div hx-get=&quot;/x&quot;&gt;" in html, where
    assert HOSTILE_PERSON not in html and 'onerror="alert' not in html, where


def test_a_business_name_with_markup_renders_as_text_everywhere(app, admin_client):
    base = complete_customer_option(admin_client, app, business_name=HOSTILE_NAME, first_name=HOSTILE_PERSON)
    # An unfinished draft is listed on the customers page by its business name.
    _, unfinished = start(admin_client, "customer")
    post(admin_client, f"{unfinished}/contact", {"business_name": HOSTILE_NAME})
    _shows_as_text(admin_client.get(f"{base}/review").get_data(as_text=True), "check your answers")
    _shows_as_text(
        admin_client.get(f"{base}/review", headers={"HX-Request": "true"}).get_data(as_text=True), "review partial"
    )
    _shows_as_text(admin_client.get("/customers/").get_data(as_text=True).split("<main", 1)[1], "drafts list")
    assert post(admin_client, f"{base}/review").status_code == 303
    _shows_as_text(admin_client.get(f"{base}/done").get_data(as_text=True), "done page")
    listing = admin_client.get("/customers/").get_data(as_text=True)
    _shows_as_text(listing, "customers list")
    customer_url = re.search(r'href="(/customers/\d+)">&lt;div', listing).group(1)
    page = admin_client.get(customer_url).get_data(as_text=True)
    _shows_as_text(page, "customer page")
    assert "<title>&lt;div hx-get=" in page
    _shows_as_text(
        admin_client.get("/customers/?q=div", headers={"HX-Request": "true"}).get_data(as_text=True), "search partial"
    )


# --- Error pages -------------------------------------------------------------------------------


def _error_responses(app, htmx: bool):
    """One response for each error status a person can meet, made the way they would meet it."""
    headers = {"HX-Request": "true"} if htmx else {}
    admin, staff, visitor = app.test_client(), app.test_client(), app.test_client()
    assert sign_in(admin, *ADMIN).status_code == 303
    assert sign_in(staff, *STAFF).status_code == 303
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "1 per 15 minutes"
    token = csrf_token(visitor)
    visitor.post("/login", data={"email": "someone@example.com", "password": "wrong-password", "csrf_token": token})
    yield 400, admin.post("/logout", headers=headers)
    yield 403, staff.get("/settings/", headers=headers)
    yield 404, admin.get("/no-such-page", headers=headers)
    yield 405, admin.get("/logout", headers=headers)
    yield 410, admin.get("/test-only/gone", headers=headers)
    yield (
        429,
        visitor.post(
            "/login", data={"email": "someone@example.com", "password": "again", "csrf_token": token}, headers=headers
        ),
    )
    yield 500, admin.get("/test-only/boom", headers=headers)
    yield 500, admin.post("/test-only/sql", headers={**headers, "X-CSRFToken": csrf_token(admin)})


def test_error_pages_are_branded_and_reveal_nothing(test_routes, caplog):
    seen = set()
    for status, response in _error_responses(test_routes, htmx=False):
        html = response.get_data(as_text=True)
        assert response.status_code == status, (status, html[:200])
        assert "<html" in html and 'class="narrow error-page"' in html, status
        assert f"Error {status}" in html and "Go to the start page" in html, status
        assert re.search(r"<title>[^<]+ · (Demo Telecom|PBX onboarding)</title>", html), status
        for leak in LEAKS:
            assert leak not in html, (status, leak)
        seen.add(status)
        if status == 405:
            assert "POST" in response.headers["Allow"]
        if status == 500:
            assert "Nothing you entered was saved half-way" in html
    assert seen == {400, 403, 404, 405, 410, 429, 500}
    # The details go to the log, for the people who run the service.
    assert "secret-detail-4711" in caplog.text and "no_such_table" in caplog.text


def test_failed_htmx_requests_get_the_message_fragment_not_a_page(test_routes):
    seen = set()
    for status, response in _error_responses(test_routes, htmx=True):
        html = response.get_data(as_text=True)
        assert response.status_code == status
        assert html.lstrip().startswith('<div class="notice notice--error">'), (status, html[:200])
        assert "<html" not in html and "<body" not in html, status
        assert '<h2 class="notice__title">' in html
        for leak in LEAKS:
            assert leak not in html, (status, leak)
        seen.add(status)
    assert seen == {400, 403, 404, 405, 410, 429, 500}


def test_too_many_sign_ins_page_says_when_to_try_again(app, client):
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "2 per 15 minutes"
    for _ in range(2):
        assert sign_in(client, ADMIN[0], "wrong-password").status_code == 422
    response = sign_in(client, *ADMIN)
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Too many attempts" in html
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert re.search(r"wait (1[45]|\d) minutes and try again \(after \d\d:\d\d UTC\)", html), html


def test_database_down_still_gives_a_branded_page(app, admin_client, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(app.extensions["database"], "connect", refuse)
    for client, url in [(admin_client, "/customers/"), (app.test_client(), "/login")]:
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 500, url
        assert "Sorry, something went wrong on our side" in html and "<html" in html
        assert "Connection refused" not in html and "Traceback" not in html
        partial = client.get(url, headers={"HX-Request": "true"})
        assert partial.status_code == 500
        assert partial.get_data(as_text=True).lstrip().startswith('<div class="notice notice--error">')
    assert "Connection refused" in caplog.text


def test_nul_characters_are_a_bad_request_not_a_database_error(app, admin_client):
    """PostgreSQL cannot hold a NUL character; anything carrying one is refused up front."""
    _, base = start(admin_client, "white_label")
    token = csrf_token(admin_client)
    requests = [
        ("GET", "/customers/?q=kauri%00", None),
        ("GET", "/customers/new/abc%00def/contact", None),
        ("POST", f"{base}/contact", {"business_name": "Nul\x00Ltd"}),
        ("POST", f"{base}/numbers", {"numbers": "+6495550100\x00"}),
        ("POST", f"{base}/check/email", {"email\x00": "a@example.com"}),
    ]
    for method, url, data in requests:
        response = admin_client.open(url, method=method, data=data, headers={"X-CSRFToken": token})
        assert response.status_code == 400, (url, response.status_code)
        assert "Something was wrong with that request" in response.get_data(as_text=True)


def test_an_oversized_request_is_refused_before_anything_reads_it(app, admin_client):
    """A 40,000-digit number filter used to reach SQLite's LIKE (a 500: pattern too complex)."""
    base = complete_white_label_option(admin_client, app)
    response = post(admin_client, f"{base}/numbers/choices", {"filter": "9" * 40_000}, htmx=True)
    assert response.status_code == 413
    assert "That request was too large" in response.get_data(as_text=True)
    assert post(admin_client, f"{base}/numbers/choices", {"filter": "9" * 1_000}, htmx=True).status_code == 200
