"""Extensions are created here, unbound, and bound to an app in `create_app`."""

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from peewee import DatabaseProxy

db = DatabaseProxy()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
htmx = Htmx()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
compress = Compress()
