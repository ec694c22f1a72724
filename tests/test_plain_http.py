"""Production over plain HTTP (issue 18, item 3): say why signing in cannot work.

In production the session cookie is Secure (`__Host-session`): a browser keeps it for HTTPS only,
so over plain HTTP the sign-in form's session never comes back, and the post failed with a bare
"Your session expired" 400 that sent people reloading in circles. The page now says that this
server expects HTTPS and where the README explains it; behind a TLS proxy that says so
(X-Forwarded-Proto with PROXY_COUNT) nothing changes.
"""

from __future__ import annotations

import re

import pytest

from webapp import create_app

NOTICE = "This server expects HTTPS"
SECURE = {
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_NAME": "__Host-session",
    "REMEMBER_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_NAME": "__Host-remember_token",
}


@pytest.fixture
def production_cookies(config):
    config.update(SECURE)
    return config


def test_the_sign_in_page_over_plain_http_says_the_server_expects_https(production_cookies, app):
    page = app.test_client().get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert NOTICE in html and "README" in html
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie  # a browser keeps it for https only


def test_a_sign_in_posted_over_plain_http_without_the_cookie_says_why(production_cookies, app):
    """What a browser does over http: it got the form, but not the Secure cookie back."""
    from conftest import ADMIN

    form = app.test_client().get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    browser = app.test_client()  # no cookie: the browser dropped the Secure one
    response = browser.post("/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert NOTICE in html and "https://" in html and "README" in html


@pytest.mark.parametrize("how", ["https", "proxy"])
def test_over_https_or_behind_a_tls_proxy_nothing_is_said(production_cookies, how):
    if how == "proxy":
        app = create_app({**production_cookies, "PROXY_COUNT": 1})
        page = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.1"})
    else:
        app = create_app(production_cookies)
        page = app.test_client().get("/login", base_url="https://onboarding.example.com")
    assert page.status_code == 200 and NOTICE not in page.get_data(as_text=True)


def test_development_over_http_says_nothing(app):
    assert NOTICE not in app.test_client().get("/login").get_data(as_text=True)
