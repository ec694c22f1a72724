"""The customer's own portal (/account) for people with a role in a customer account."""
from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/account")

from . import routes  # noqa: E402,F401
