"""Settings > Webhooks: administrators add and run endpoints; staff see them and their logs."""

from __future__ import annotations

from flask import abort, current_app, flash, session, url_for
from htmx_flask import request

from .. import crypto
from ..forms import form_status
from ..http import page_number, see_other
from ..models import WebhookDelivery, WebhookEndpoint, utcnow
from ..security import acting_user, admin_required, is_admin, white_label_required
from ..templating import render
from ..tenancy import current_white_label, get_scoped_or_404, scoped
from . import bp, service
from .events import EVENT_TYPES
from .forms import EndpointForm, RotateSecretForm

LOG_PAGE_SIZE = 25
# The session key holding a new secret until the endpoint page has shown it (once).
SECRET_ONCE = "webhook_secret_once"


def _show_secret_once(endpoint_id: int, secret: str) -> None:
    """Keep the new secret, encrypted, in the session for the next page only (never in the
    database in plaintext, never in a URL)."""
    session[SECRET_ONCE] = {"endpoint": endpoint_id, "secret": crypto.encrypt(secret)}


def _take_secret(endpoint_id: int) -> str | None:
    held = session.get(SECRET_ONCE)
    if not held or held.get("endpoint") != endpoint_id or not is_admin():
        return None
    session.pop(SECRET_ONCE, None)
    return crypto.decrypt(held.get("secret", ""))


def window(hours: float) -> str:
    """A configured number of hours in words: 72 -> "3 days", 5 -> "5 hours"."""
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


@bp.get("/")
@white_label_required
def index():
    """The white-label's webhook endpoints, with whether each is working."""
    endpoints = list(scoped(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id))
    return render(
        "webhooks/index.html", endpoints=endpoints, retry_window=window(current_app.config["WEBHOOK_RETRY_HOURS"])
    )


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    """Add an endpoint: its URL and the events it hears about; the secret is shown next, once."""
    form = EndpointForm(data={"events": list(EVENT_TYPES)} if request.method == "GET" else None)
    if form.validate_on_submit():
        endpoint, secret = service.create_endpoint(
            current_white_label(),
            acting_user(),
            url=form.url.data,
            description=form.description.data or "",
            events=[e for e in EVENT_TYPES if e in form.events.data],
        )
        _show_secret_once(endpoint.id, secret)
        flash("Endpoint added. Copy its signing secret now: it is shown only this once.", "success")
        return see_other(url_for("webhooks.show", endpoint_id=endpoint.id))
    return render("webhooks/form.html", form=form, endpoint=None, event_types=EVENT_TYPES, status=form_status(form))


@bp.get("/<int:endpoint_id>")
@white_label_required
def show(endpoint_id: int):
    """One endpoint: its settings, its secret (once, after it is made) and its delivery log."""
    endpoint = get_scoped_or_404(WebhookEndpoint, endpoint_id)
    page = page_number()
    rows = list(
        WebhookDelivery.select()
        .where(WebhookDelivery.endpoint == endpoint.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .offset((page - 1) * LOG_PAGE_SIZE)
        .limit(LOG_PAGE_SIZE + 1)
    )
    return render(
        "webhooks/show.html",
        endpoint=endpoint,
        secret=_take_secret(endpoint.id),
        deliveries=rows[:LOG_PAGE_SIZE],
        page=page,
        has_next=len(rows) > LOG_PAGE_SIZE,
        now=utcnow(),
        disable_window=window(current_app.config["WEBHOOK_DISABLE_AFTER_HOURS"]),
    )


@bp.route("/<int:endpoint_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(endpoint_id: int):
    """Change the endpoint's URL, description or events."""
    endpoint = get_scoped_or_404(WebhookEndpoint, endpoint_id)
    form = EndpointForm(
        data={"url": endpoint.url, "description": endpoint.description, "events": endpoint.event_types}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        service.update_endpoint(
            endpoint,
            acting_user(),
            url=form.url.data,
            description=form.description.data or "",
            events=[e for e in EVENT_TYPES if e in form.events.data],
        )
        flash("Endpoint saved.", "success")
        return see_other(url_for("webhooks.show", endpoint_id=endpoint.id))
    return render("webhooks/form.html", form=form, endpoint=endpoint, event_types=EVENT_TYPES, status=form_status(form))


@bp.post("/<int:endpoint_id>/disable")
@admin_required
def disable(endpoint_id: int):
    """Stop sending to the endpoint: no new events are queued for it; waiting ones wait."""
    endpoint = get_scoped_or_404(WebhookEndpoint, endpoint_id)
    service.set_enabled(endpoint, acting_user(), False)
    flash("Endpoint disabled. No new events are queued for it until you enable it.", "success")
    return see_other(url_for("webhooks.show", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/enable")
@admin_required
def enable(endpoint_id: int):
    """Send to the endpoint again, starting with the events still waiting."""
    endpoint = get_scoped_or_404(WebhookEndpoint, endpoint_id)
    service.set_enabled(endpoint, acting_user(), True)
    flash("Endpoint enabled. Events still waiting are sent now.", "success")
    return see_other(url_for("webhooks.show", endpoint_id=endpoint.id))


@bp.route("/<int:endpoint_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(endpoint_id: int):
    """Delete the endpoint and its delivery log, after a confirmation page."""
    endpoint = get_scoped_or_404(WebhookEndpoint, endpoint_id)
    if request.method != "POST":
        return render("webhooks/delete.html", endpoint=endpoint)
    service.delete_endpoint(endpoint, acting_user())
    flash(f"Endpoint {endpoint.url} deleted. Nothing more is sent to it.", "success")
    return see_other(url_for("webhooks.index"))


@bp.route("/<int:endpoint_id>/rotate", methods=["GET", "POST"])
@admin_required
def rotate(endpoint_id: int):
    """Replace the signing secret, keeping the old one signing too for an overlap."""
    endpoint = get_scoped_or_404(WebhookEndpoint, endpoint_id)
    form = RotateSecretForm()
    if form.validate_on_submit():
        hours = int(form.overlap_hours.data)
        secret = service.rotate_secret(endpoint, acting_user(), overlap_hours=hours)
        _show_secret_once(endpoint.id, secret)
        flash(
            "New signing secret made. Copy it now: it is shown only this once."
            + (f" Webhooks carry both signatures for {hours} hour{'s' if hours != 1 else ''}." if hours else ""),
            "success",
        )
        return see_other(url_for("webhooks.show", endpoint_id=endpoint.id))
    return render("webhooks/rotate.html", endpoint=endpoint, form=form, status=form_status(form))


@bp.post("/<int:endpoint_id>/deliveries/<int:delivery_id>/send-again")
@admin_required
def send_again(endpoint_id: int, delivery_id: int):
    """Send one event of the log again, now (same webhook-id and body)."""
    endpoint = get_scoped_or_404(WebhookEndpoint, endpoint_id)
    delivery = WebhookDelivery.get_or_none(
        (WebhookDelivery.id == delivery_id) & (WebhookDelivery.endpoint == endpoint.id)
    )
    if delivery is None:
        abort(404)
    try:
        service.send_again(delivery, acting_user())
        flash(f"{delivery.event_type} is queued to be sent again.", "success")
    except service.WebhookProblem as problem:
        flash(problem.message, "error")
    return see_other(url_for("webhooks.show", endpoint_id=endpoint.id) + "#log")
