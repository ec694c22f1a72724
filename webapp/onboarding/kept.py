"""Signed out mid-wizard (in another tab, or everywhere from the profile page): the step's
Continue must not lose what was typed. The posted answers are kept in this browser's session,
the person signs in, and comes back to the same step with them filled in, told why.

Only what a wizard step's form posted on this site is kept (a post from another site is not:
its Origin says so), only for the step's own path, and only shown, never saved: the person
checks it and presses Continue, now signed in, with a fresh CSRF token. The draft's owner check
(routes._wizard_or_404) still decides who may open the step at all."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import flash, session, url_for
from flask_login import current_user
from htmx_flask import request
from werkzeug.datastructures import MultiDict

from ..http import see_other

SESSION_KEY = "kept_wizard_step"
WIZARD_POSTS = frozenset({"onboarding.step", "onboarding.create_draft"})
NOT_ANSWERS = frozenset({"csrf_token", "action"})
# A step's answers are a few hundred bytes; the session is a cookie, so a pasted essay is not kept.
MAX_BYTES = 2500


def _from_this_site() -> bool:
    """The post came from one of our pages: a browser's Origin (or Referer) names this site."""
    here = urlsplit(request.host_url)
    for header in ("Origin", "Referer"):
        value = request.headers.get(header)
        if value:
            # The host alone: behind a proxy that ends TLS the scheme seen here may differ.
            return urlsplit(value).netloc == here.netloc
    return True  # neither header (an old browser, a test client): CSRF-free, since only shown


def keep_and_sign_in():
    """For a wizard step's POST from someone who is signed out: keep the answers and send them to
    sign in, coming back to the same step. None for any other request (the caller answers it)."""
    if request.method != "POST" or request.endpoint not in WIZARD_POSTS or current_user.is_authenticated:
        return None
    # Posted from one of our pages: it carries the (now stale) CSRF token the page was given.
    # A post with no token at all is refused as before (400).
    if not (request.form.get("csrf_token") or request.headers.get("X-CSRFToken")) or not _from_this_site():
        return None
    answers = {name: request.form.getlist(name) for name in request.form if name not in NOT_ANSWERS}
    if len(json.dumps(answers)) <= MAX_BYTES:
        session[SESSION_KEY] = {"path": request.path, "answers": answers}
        flash(
            "You were signed out, so this step was not saved. Sign in to continue: what you typed on this step is kept.",
            "info",
        )
    else:
        flash("You were signed out, so this step was not saved. Sign in to continue.", "info")
    # Back to the same page, "?return=review" included (the sign-in page checks next is ours).
    return see_other(url_for("auth.login", next=request.full_path.rstrip("?")))


def survives_sign_in() -> dict | None:
    """What start_session carries over its session.clear()."""
    return session.get(SESSION_KEY)


def take_kept(path: str) -> MultiDict | None:
    """The answers kept for the step at `path` (once: taking them forgets them), or None."""
    kept = session.get(SESSION_KEY)
    if not kept or kept.get("path") != path:
        return None
    session.pop(SESSION_KEY, None)
    flash(
        "Welcome back. You were signed out before this step was saved, so what you typed is below, "
        "not saved yet: check it and continue.",
        "info",
    )
    return MultiDict([(name, value) for name, values in kept["answers"].items() for value in values])
