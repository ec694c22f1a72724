"""The integration API (`/api/v1`, JSON, bearer keys), its reference (`/api/docs`) and the
API keys settings page (`/settings/api-keys`).

One set of rules, two doors: the API calls the same services as the console (the wizard's
`Wizard.from_answers` and `create_customer`, activation's `resend`/`cancel`, accounts'
`add_user`) and is scoped through the same tenancy helpers, which take the key's white-label
from `g.api_white_label` here instead of a signed-in user.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1", cli_group="api")
docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/docs")
keys_bp = Blueprint("api_keys", __name__, url_prefix="/settings/api-keys")

from . import idempotency as _idempotency  # noqa: E402

_idempotency.register_commands(bp)


def init_app(app) -> None:
    """Register the three blueprints; the API is exempt from CSRF (cookies never authenticate it)."""
    from ..extensions import csrf
    from . import auth, docs, idempotency, routes, settings  # noqa: F401  (routes register on the blueprints)

    app.config.setdefault("API_RATE_LIMIT", "300 per minute")
    csrf.exempt(bp)
    auth.install(app)
    app.register_blueprint(bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(keys_bp)
