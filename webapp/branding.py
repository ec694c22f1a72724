"""Each white-label's accent colour as a tiny stylesheet (no inline styles under the CSP)."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, url_for

from .models import WhiteLabel

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
