"""Customer-onboarding console for white-label resellers of a hosted PBX."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from . import database
from .config import PROJECT_ROOT, from_environment
from . import extensions as ext


def create_app(config: dict | None = None) -> Flask:
    """Build the app: configuration from the environment, then `config` on top."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    database.init_app(app)
    # Extensions are reached through their module: `webapp.mail` (the outbox) is a submodule
    # whose name would shadow a bare `mail` here.
    ext.csrf.init_app(app)
    ext.mail.init_app(app)
    ext.htmx.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    ext.limiter.init_app(app)

    from .auth import login_manager_setup

    ext.login_manager.init_app(app)
    login_manager_setup(ext.login_manager)

    from . import errors, security, templating

    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    from .auth import bp as auth_bp
    from .customers import bp as customers_bp
    from .dev import bp as dev_bp
    from .onboarding import bp as onboarding_bp
    from .settings import bp as settings_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(settings_bp)
    if app.config["APP_ENV"] == "development":
        app.register_blueprint(dev_bp)

    from .cli import register_commands

    register_commands(app)

    @app.get("/")
    def index():
        """Send everyone to the customers list (sign-in first when needed)."""
        from flask import redirect, url_for

        return redirect(url_for("customers.index"))

    return app
