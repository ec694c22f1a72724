"""Customers > Import: many customers from one CSV file, checked by the wizard's rules."""

from flask import Blueprint, Flask, current_app, request

bp = Blueprint("imports", __name__, url_prefix="/customers/import")

UPLOAD_ENDPOINT = "imports.upload"
# Room for the multipart envelope and the form's other fields around the file itself.
ENVELOPE_BYTES = 64 * 1024


def init_app(app: Flask) -> None:
    """Let the upload (and only it) be larger than MAX_CONTENT_LENGTH. Registered before CSRF
    protection, which reads the body first."""

    @app.before_request
    def _import_upload_limit():
        if request.endpoint == UPLOAD_ENDPOINT:
            request.max_content_length = current_app.config["IMPORT_MAX_BYTES"] + ENVELOPE_BYTES


from . import routes  # noqa: E402,F401
