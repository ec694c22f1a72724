"""Signing in, and changing one's password."""

from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..forms import AppForm
from ..passwords import MAX_LENGTH, NewPasswordForm, confirm_password_field, new_password_field


class LoginForm(AppForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)])


class ChangePasswordForm(NewPasswordForm):
    """A signed-in person changes their password: the current one first, then the new one twice."""

    current_password = PasswordField(
        "Your current password", validators=[DataRequired("Enter your current password."), Length(max=MAX_LENGTH)]
    )
    password = new_password_field()
    confirm_password = confirm_password_field()
