"""Whose brand a page wears, and each white-label's accent colour as a tiny stylesheet (no
inline styles under the CSP).

A customer's whole journey is its white-label's: every page a customer or customer user can see
shows the white-label's name, colour and support contact, never the platform's. The brand of a
request is found in this order (request_brand):

1. the white-label's own sign-in address by path, /s/<slug>/sign-in (the `brand_slug` variable);
2. the white-label's own host name (`WhiteLabel.sign_in_host`), where /login and every other page
   wear its brand;
3. the signed-in person's customer account;
4. the brand this browser last signed in under (kept in the session by its sign-in page), so a
   signed-out customer's errors, sign-in redirects and password pages stay branded.

White-label staff see their console under their own white-label (templating.py), not this.
Every email to customers links to the white-label's own sign-in address (external_sign_in_url).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, g, has_request_context, request, session, url_for
from flask_login import current_user

from .models import Customer, CustomerMembership, WhiteLabel
from .urls import external_url

bp = Blueprint("branding", __name__)

HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_text(hex_colour: str) -> str:
    """White or near-black, whichever reads better on the accent colour (WCAG contrast)."""
    lum = _luminance(hex_colour)
    return "#ffffff" if (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) else "#111827"


SESSION_KEY = "brand"


def _host_brand() -> WhiteLabel | None:
    """The white-label whose own host name this request came to (none for the platform's)."""
    host = (request.host or "").rsplit(":", 1)[0].strip().lower()
    if not host or host == (urlsplit(current_app.config.get("APP_BASE_URL") or "").hostname or ""):
        return None
    return WhiteLabel.get_or_none(WhiteLabel.sign_in_host == host)


def customer_brand(user_id: int) -> WhiteLabel | None:
    """For a person in customer accounts (active, or invited with a temporary password to
    change): the white-label whose brand their pages wear."""
    return (
        WhiteLabel.select()
        .join(Customer)
        .join(CustomerMembership)
        .where(
            (CustomerMembership.user == user_id)
            & CustomerMembership.status.in_([CustomerMembership.ACTIVE, CustomerMembership.INVITED])
        )
        .order_by(CustomerMembership.active.desc(), CustomerMembership.id)
        .first()
    )


def request_brand() -> WhiteLabel | None:
    """The white-label whose brand this request's pages wear for a customer or a visitor (see the
    module's docstring for the order), or None for the platform's own pages."""
    if not has_request_context():
        return None
    if "brand" in g:
        return g.brand
    brand = None
    slug = (request.view_args or {}).get("brand_slug")
    if isinstance(slug, str) and len(slug) <= 60:
        brand = WhiteLabel.get_or_none(WhiteLabel.slug == slug)
    if brand is None:
        brand = _host_brand()
    if brand is None and current_user.is_authenticated:
        brand = customer_brand(current_user.id)
    if brand is None and isinstance(session.get(SESSION_KEY), int):
        brand = WhiteLabel.get_or_none(WhiteLabel.id == session[SESSION_KEY])
    g.brand = brand
    return brand


def remember_brand(white_label: WhiteLabel) -> None:
    """Keep the brand for this browser's later signed-out pages (errors, sign-in redirects)."""
    session[SESSION_KEY] = white_label.id
    g.brand = white_label


def sign_in_path(brand: WhiteLabel | None = None, **values) -> str:
    """The sign-in page under `brand` (its own address by path), or the platform's."""
    if brand is not None:
        return url_for("auth.login", brand_slug=brand.slug, **values)
    return url_for("auth.login", **values)


def external_sign_in_url(white_label: WhiteLabel) -> str:
    """The white-label's own sign-in address for emails: on its host name when it has one (with
    APP_BASE_URL's scheme and path), else /s/<slug>/sign-in under APP_BASE_URL."""
    if white_label.sign_in_host:
        base = urlsplit(current_app.config["APP_BASE_URL"])
        adapter = current_app.url_map.bind(
            white_label.sign_in_host, script_name=base.path or "/", url_scheme=base.scheme or "https"
        )
        return adapter.build("auth.login", {}, force_external=True)
    return external_url("auth.login", brand_slug=white_label.slug)


def brand_css_url(white_label: WhiteLabel) -> str:
    return url_for("branding.css", white_label_id=white_label.id, v=white_label.accent_colour.lstrip("#"))


@bp.get("/brand/<int:white_label_id>.css")
def css(white_label_id: int):
    """The white-label's accent colour; cacheable because the URL carries the colour."""
    label = WhiteLabel.get_or_none(WhiteLabel.id == white_label_id)
    if label is None:
        abort(404)
    colour = label.accent_colour if HEX.fullmatch(label.accent_colour or "") else "#1d4ed8"
    body = f":root {{ --accent: {colour}; --accent-contrast: {contrast_text(colour)}; }}\n"
    response = Response(body, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
