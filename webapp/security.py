"""Response headers every page carries, and the role checks views declare."""

from __future__ import annotations

from functools import wraps

from flask import Flask, abort, g, has_request_context, request, session
from flask_login import current_user, login_required

from .models import WhiteLabel, WhiteLabelMembership

# No inline script or style anywhere: htmx is configured by a <meta> tag and the brand colour
# comes from a stylesheet URL, so the policy can stay this strict.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


HTTPS_EXPECTED = (
    "This server expects HTTPS: over plain HTTP your browser does not send the secure session cookie "
    "back, so signing in cannot work. Open this page with https:// instead. If you run this server, see "
    '"Production" in the README (a TLS proxy, PROXY_COUNT and X-Forwarded-Proto).'
)


def https_expected() -> bool:
    """Whether this request came over plain HTTP to a server whose cookies are Secure (production):
    the browser will not send the session back, so forms and sign-in cannot work from here."""
    from flask import current_app

    return bool(current_app.config.get("SESSION_COOKIE_SECURE")) and not request.is_secure


def init_app(app: Flask) -> None:
    """Answer HEAD exactly as GET, refuse NUL characters, and add the security headers to every response."""
    app.jinja_env.globals.update(https_expected=https_expected, HTTPS_EXPECTED=HTTPS_EXPECTED)

    @app.before_request
    def _head_is_get():
        # A view that branches on `request.method == "GET"` would take a HEAD for a form post,
        # and CSRF protection does not look at HEAD (a safe method): a HEAD of a wizard's
        # review URL would create the customer. The view sees GET; the server still sends no
        # body, because it reads the method from the WSGI environ, which is left alone.
        if request.method == "HEAD":
            request.method = "GET"

    @app.before_request
    def _refuse_nul_characters():
        # No URL or form field here can hold a NUL character, and PostgreSQL cannot store or
        # compare one (the driver refuses the whole query), so such a request is a 400 before
        # any view builds a query from it.
        if "\x00" in request.path:
            abort(400)
        for values in (request.args, request.form):
            for key, value in values.items(multi=True):
                if "\x00" in key or "\x00" in value:
                    abort(400)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.status_code == 304 and response.direct_passthrough:
            # Werkzeug answers a revalidated static file with 304 and never iterates or closes
            # the file it opened, leaking a file handle per request; close it here.
            response.response.close()
        if app.config["APP_ENV"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint not in LONG_CACHED_ENDPOINTS and _signed_in():
            # What a signed-in person sees (pages, partials, redirects, the CSV export, errors)
            # must not stay in a shared computer's browser cache or a proxy after sign-out.
            response.headers["Cache-Control"] = "no-store"
        return response


# Content-addressed URLs that are the same for everyone: they keep their year-long caching.
LONG_CACHED_ENDPOINTS = {"static", "branding.css"}


def _signed_in() -> bool:
    """Whether this response goes to a signed-in person (including one who signed in just now)."""
    if session.get("_user_id"):
        return True
    return "_login_user" in g and current_user.is_authenticated


def acting_user():
    """The signed-in person as a User row (not Flask-Login's proxy), to record as who acted."""
    return current_user._get_current_object()


def current_membership() -> WhiteLabelMembership | None:
    """The signed-in user's white-label membership (cached for the request)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None  # e.g. an email rendered by a CLI command or the outbox worker
    if "membership" not in g:
        g.membership = (
            WhiteLabelMembership.select(WhiteLabelMembership, WhiteLabel)
            .join(WhiteLabel)
            .where(WhiteLabelMembership.user == current_user.id)
            .first()
        )
    return g.membership


def white_label_required(view):
    """Signed in and a member of a white-label; anyone else is refused with 403."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_membership() is None:
            abort(403)
        return view(*args, **kwargs)

    # The least role the view accepts, declared where the route is; the isolation tests
    # generated from the URL map read it to know whom to expect a 403 for.
    wrapped.required_role = WhiteLabelMembership.STAFF
    return wrapped


def admin_required(view):
    """Signed in as an administrator of a white-label; staff and others get 403."""

    @wraps(view)
    @white_label_required
    def wrapped(*args, **kwargs):
        if current_membership().role != WhiteLabelMembership.ADMINISTRATOR:
            abort(403)
        return view(*args, **kwargs)

    wrapped.required_role = WhiteLabelMembership.ADMINISTRATOR
    return wrapped


def home_url() -> str:
    """Where a signed-in person starts: the console for white-label staff, else their account."""
    from flask import url_for

    if current_membership() is not None:
        return url_for("customers.index")
    return url_for("accounts.home")


def is_admin() -> bool:
    membership = current_membership()
    return membership is not None and membership.role == WhiteLabelMembership.ADMINISTRATOR
