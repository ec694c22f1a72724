"""Development-only pages. The blueprint is registered only when APP_ENV is development."""

from flask import Blueprint, current_app

from ..mailcatcher import read_messages
from ..templating import render

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.get("/mail")
def mail():
    """Messages the local mail catcher received, newest first, with clickable links."""
    messages = read_messages(current_app.config["MAIL_CATCHER_DIR"])
    return render("dev/mail.html", messages=messages)
