"""The one set of password rules, used wherever a password is set (NIST SP 800-63B-4).

At least 15 characters (a password that is the only factor), up to 1,024 and never
truncated, no composition rules, paste allowed. Refused: passwords on the common-password
list zxcvbn ships, guessable ones (zxcvbn score below 3, e.g. repeats and keyboard runs),
and the person's own email address.
"""

from __future__ import annotations

from functools import lru_cache

from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from .forms import AppForm

MIN_LENGTH = 15
MAX_LENGTH = 1024
# zxcvbn's cost grows with length; a long password is strong on length alone, so only the
# first part is scored. The password itself is always stored and checked whole.
SCORED_PREFIX = 72  # zxcvbn refuses longer input


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, email: str = "", other_inputs: tuple[str, ...] = ()) -> str | None:
    """Why `password` is not acceptable, in words for the person; None when it is fine."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A few unrelated words make a good password."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.strip().lower()
    if email and lowered == email.strip().lower():
        return "Do not use your email address as your password."
    if lowered in _common():
        return "That password is too common. Choose something less predictable."
    inputs = [i for i in (email, email.split("@")[0] if email else "", *other_inputs) if i]
    result = zxcvbn(password[:SCORED_PREFIX], user_inputs=inputs)
    if result["score"] < 3:
        warning = result["feedback"].get("warning") or "It would be easy to guess."
        return f"Choose a password that is harder to guess. {warning}".strip()
    return None


class StrongPassword:
    """WTForms validator applying `password_problem`; `email_field` names the email to refuse."""

    def __init__(self, email_getter=None):
        self.email_getter = email_getter

    def __call__(self, form, field):
        email = self.email_getter(form) if self.email_getter else ""
        problem = password_problem(field.data or "", email or "")
        if problem:
            raise ValidationError(problem)


# --- The forms that set or prove a password (activation, invitations, the profile) -----------

NEW_PASSWORD_HINT = "At least 15 characters. A few unrelated words make a good password."


def new_password_field():
    return PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), StrongPassword(lambda f: f.email)],
        description=NEW_PASSWORD_HINT,
    )


def confirm_password_field():
    return PasswordField(
        "Confirm new password",
        validators=[
            DataRequired("Enter the new password again."),
            EqualTo("password", "The passwords do not match."),
            Length(max=MAX_LENGTH),
        ],
    )


class NewPasswordForm(AppForm):
    """A new account chooses its password (the password rules in passwords.py apply)."""

    password = new_password_field()
    confirm_password = confirm_password_field()

    def __init__(self, *args, email: str = "", **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)


class CurrentPasswordForm(AppForm):
    """Someone who already has an account proves it is theirs (accepting an invitation)."""

    current_password = PasswordField(
        "Your current password",
        validators=[DataRequired("Enter the password you sign in with."), Length(max=MAX_LENGTH)],
    )
