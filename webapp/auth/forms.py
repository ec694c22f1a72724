"""Signing in, and changing one's password."""

from email_validator import EmailNotValidError, validate_email
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

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


class ForgotPasswordForm(AppForm):
    """ "Forgot your password?": the email address a reset link goes to."""

    email = EmailField(
        "Email",
        validators=[DataRequired("Enter the email address you sign in with."), Length(max=254)],
        description="The address you sign in with. We email it a link to choose a new password.",
    )


class ResetPasswordForm(NewPasswordForm):
    """Choosing a new password from a reset link (the password rules in passwords.py apply)."""

    password = new_password_field()
    confirm_password = confirm_password_field()


class ProfileNameForm(AppForm):
    """A signed-in person's own name, as their colleagues and account administrators see it."""

    first_name = StringField("First name", validators=[DataRequired("Enter your first name."), Length(max=100)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=100)])


class ChangeEmailForm(AppForm):
    """A signed-in person changes the email they sign in with: the new address, then their
    current password (whoever finds a signed-in browser must not take the account over)."""

    new_email = EmailField(
        "New email address",
        validators=[DataRequired("Enter your new email address."), Length(max=254)],
        description="You sign in with this address from now on. We tell your old address about the change.",
    )
    email_current_password = PasswordField(
        "Your password, to confirm it is you",
        validators=[DataRequired("Enter your current password."), Length(max=MAX_LENGTH)],
    )

    def validate_new_email(self, field):
        try:
            field.data = validate_email((field.data or "").strip(), check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise ValidationError("Enter an email address in the right format, like name@example.com.") from None
