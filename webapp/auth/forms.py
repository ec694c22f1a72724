"""Credentials: signing in, choosing a password, proving the current one."""
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..forms import AppForm
from ..passwords import MAX_LENGTH, StrongPassword

NEW_PASSWORD_HINT = "At least 15 characters. A few unrelated words make a good password."


class LoginForm(AppForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1024)]
    )


def _new_password():
    return PasswordField("New password", validators=[DataRequired("Enter a new password."), StrongPassword(lambda f: f.email)],
                         description=NEW_PASSWORD_HINT)


def _confirm_password():
    return PasswordField("Confirm new password", validators=[
        DataRequired("Enter the new password again."), EqualTo("password", "The passwords do not match."), Length(max=MAX_LENGTH)])


class NewPasswordForm(AppForm):
    """A new account chooses its password (the password rules in passwords.py apply)."""

    password = _new_password()
    confirm_password = _confirm_password()

    def __init__(self, *args, email: str = "", **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)


class ChangePasswordForm(NewPasswordForm):
    """A signed-in person changes their password: the current one first, then the new one twice."""

    current_password = PasswordField("Your current password", validators=[
        DataRequired("Enter your current password."), Length(max=MAX_LENGTH)])
    password = _new_password()
    confirm_password = _confirm_password()


class CurrentPasswordForm(AppForm):
    """Someone who already has an account proves it is theirs (accepting an invitation)."""

    current_password = PasswordField("Your current password", validators=[
        DataRequired("Enter the password you sign in with."), Length(max=MAX_LENGTH)])
