"""Starting and ending sessions.

Sessions are signed cookies, so the server cannot delete one: instead every session carries
the person's `User.session_version` (Flask-Login stores `User.get_id()`, "<id>:<version>"), and
the user loader in auth/__init__.py accepts a session only while its version is the person's
current one. Changing the version ends every session of that person at once, copied cookies
included.

- `start_session(user)`: sign someone in on a fresh session (sign-in, activation, invitation).
- `end_all_sessions(user_id)`: end every session of a person (sign-out, deactivation, and any
  change of credentials such as a password reset).
- `keep_this_session(user)`: after `end_all_sessions` for the signed-in person, keep the session
  that asked (a password change, "Sign out everywhere else").
"""

from __future__ import annotations

from flask import g, session
from flask_login import login_user, logout_user

from ..models import User, new_session_version


def end_all_sessions(user_id: int) -> str:
    """Give the person a new session version, ending every session they have; returns it.
    Call it inside the transaction that changes their credentials or access."""
    version = new_session_version()
    User.update(session_version=version).where(User.id == user_id).execute()
    return version


def start_session(user: User) -> None:
    """Sign `user` in on a fresh session: nothing from before survives (no fixation), and the
    CSRF token is new, so a token someone saw before sign-in does not work after it."""
    from ..onboarding.kept import SESSION_KEY, survives_sign_in

    kept = survives_sign_in()  # a wizard step typed while signed out (onboarding/kept.py)
    session.clear()
    if kept:
        session[SESSION_KEY] = kept
    g.pop("csrf_token", None)  # Flask-WTF caches the request's token here
    login_user(user)


def keep_this_session(user: User) -> None:
    """Stamp the current session with the person's new session version (read from the database)."""
    login_user(User.get_by_id(user.id))


def sign_out_everywhere(user: User) -> None:
    """Sign out: this session and every other session of the person end."""
    end_all_sessions(user.id)
    logout_user()
    session.clear()
    g.pop("csrf_token", None)
