"""The create-customer wizard."""
from flask import Blueprint

bp = Blueprint("onboarding", __name__, url_prefix="/customers/new")

from . import routes  # noqa: E402,F401


@bp.app_context_processor
def _draft_helpers():
    """Let the customers page describe drafts without knowing how they are stored."""
    from .drafts import first_incomplete, summary_name
    from .steps import OPTION_LABELS

    return {"draft_name": summary_name, "draft_next_step": first_incomplete, "option_labels": OPTION_LABELS}
