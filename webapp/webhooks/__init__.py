"""Webhooks: a white-label's shop hears about its customers (Settings > Webhooks).

`events.emit()` queues an event inside the transaction of the change that causes it; the outbox
worker delivers it (`delivery.deliver_due_webhooks()`), signed per the Standard Webhooks
specification; `routes.py` is the settings pages with each endpoint's delivery log.
"""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/settings/webhooks")

from . import routes  # noqa: E402,F401
