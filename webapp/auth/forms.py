from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..forms import AppForm


class LoginForm(AppForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1024)]
    )
