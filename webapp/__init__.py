"""Customer-onboarding console for white-label resellers of a hosted PBX."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from . import crypto, database, logs, widgets
from . import extensions as ext
from .config import PROJECT_ROOT, check_production, from_environment


def create_app(config: dict | None = None) -> Flask:
    """Build the app: configuration from the environment, then `config` on top."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    from . import routing

    routing.init_app(app)  # before any route: <int:...> only matches ids the database can hold
    app.config.update(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    check_production(app.config)

    logs.configure(app.config)  # ids on every log record; JSON lines with LOG_FORMAT=json
    widgets.install()  # WTForms' widgets render attributes through a faster html_params
    crypto.init_app(app)  # before anything reads a stored secret; a malformed key stops here

    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)

    logs.init_app(app)  # first: every request gets its id before any other hook can fail
    from . import metrics

    metrics.init_app(app)
    database.init_app(app)
    # Extensions are reached through their module: `webapp.mail` (the outbox) is a submodule
    # whose name would shadow a bare `mail` here.
    from . import imports

    imports.init_app(app)  # before CSRF protection reads the body: the upload may be larger
    ext.csrf.init_app(app)
    ext.mail.init_app(app)
    ext.htmx.init_app(app)
    # Brotli, else gzip, for HTML, CSS and JS; Vary gains Accept-Encoding, keeping HX-Request.
    # Brotli's default level 4 loses to gzip on htmx (17.4 vs 16.9 KB); 5 wins (16.5 KB) at
    # about the same cost. Flask-Compress's streaming mode swaps a static file's body for a
    # generator without closing the file (a handle leaked per request), so streamed responses
    # are left alone and static files, which are small, are read into memory first.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_STREAMS", False)
    ext.compress.init_app(app)

    @app.after_request
    def _buffer_static_for_compression(response):
        # Registered after Flask-Compress, so it runs before it (Flask runs these in reverse).
        from flask import request

        if request.endpoint == "static" and response.status_code == 200 and response.direct_passthrough:
            response.direct_passthrough = False
            response.make_sequence()  # reads the file and closes it when the response closes
        return response

    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    from . import ratelimit_storage  # noqa: F401  (registers the database:// storage scheme)

    ext.limiter.init_app(app)

    from .auth import login_manager_setup

    ext.login_manager.init_app(app)
    login_manager_setup(ext.login_manager)

    from . import errors, security, templating

    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    from .accounts import bp as accounts_bp
    from .accounts import invitations_bp
    from .accounts import white_label_bp as manage_bp
    from .activation import bp as activation_bp
    from .auth import bp as auth_bp
    from .auth import profile_bp
    from .branding import bp as branding_bp
    from .customers import bp as customers_bp
    from .dev import bp as dev_bp
    from .health import bp as health_bp
    from .imports import bp as imports_bp
    from .onboarding import bp as onboarding_bp
    from .payments.routes import bp as payments_bp
    from .settings import bp as settings_bp
    from .support import bp as support_bp
    from .webhooks import bp as webhooks_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(branding_bp)
    app.register_blueprint(activation_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(invitations_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(profile_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(support_bp)  # view as the customer, read-only
    app.register_blueprint(health_bp)  # /healthz, /readyz
    app.register_blueprint(metrics.bp)  # /metrics
    if app.config["APP_ENV"] == "development":
        app.register_blueprint(dev_bp)

    from . import api

    api.init_app(app)

    from .cli import register_commands

    register_commands(app)

    @app.get("/")
    def index():
        """Send everyone to the customers list (sign-in first when needed)."""
        from flask import redirect

        from .security import home_url

        return redirect(home_url())

    return app
