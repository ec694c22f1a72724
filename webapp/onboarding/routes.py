from ..security import admin_required
from ..templating import render
from . import bp


@bp.get("/")
@admin_required
def start():
    """The wizard's first step: who will administer the new customer's account."""
    return render("onboarding/start.html")
