from flask import flash, redirect, url_for
from flask_login import current_user
from htmx_flask import request

from ..extensions import db
from ..models import AuditEvent, WhiteLabel
from ..security import admin_required
from ..templating import render
from ..tenancy import current_white_label
from . import bp
from .forms import PaymentGatewayForm, key_mode, masked_secret


@bp.get("/")
@admin_required
def index():
    """The administrator's settings pages, one link each."""
    return render("settings/index.html")


@bp.route("/payment-gateway", methods=["GET", "POST"])
@admin_required
def payment_gateway():
    """Choose how customers pay by card (none, sandbox or Stripe) and store the Stripe keys."""
    white_label = current_white_label()
    form = PaymentGatewayForm(
        stored_secret_key=white_label.stripe_secret_key,
        data={
            "payment_gateway": white_label.payment_gateway,
            "stripe_publishable_key": white_label.stripe_publishable_key,
        },
    )
    if form.validate_on_submit():
        save_payment_gateway(
            white_label,
            form.payment_gateway.data,
            form.stripe_publishable_key.data,
            form.secret_key_to_store,
            actor_id=current_user.id,
        )
        flash("Payment gateway saved.", "success")
        return _see_other(url_for("settings.payment_gateway"))
    return render(
        "settings/payment_gateway.html",
        form=form,
        stored_secret=masked_secret(white_label.stripe_secret_key) if white_label.stripe_secret_key else None,
        # The typed secret is never sent back, so say it has to be typed again.
        secret_discarded=form.is_submitted() and bool(form.stripe_secret_key.data),
        status=422 if form.is_submitted() else 200,
    )


def save_payment_gateway(
    white_label: WhiteLabel, gateway: str, publishable_key: str, secret_key: str, *, actor_id: int
) -> None:
    """Switch the white-label's gateway (Stripe keys only change when Stripe is chosen) and audit it."""
    changed = [WhiteLabel.payment_gateway]
    white_label.payment_gateway = gateway
    if gateway == "stripe":
        white_label.stripe_publishable_key = publishable_key
        white_label.stripe_secret_key = secret_key
        changed += [WhiteLabel.stripe_publishable_key, WhiteLabel.stripe_secret_key]
    # The audit trail names the gateway and mode; a key never goes into it.
    detail = f"stripe ({key_mode(publishable_key)} mode)" if gateway == "stripe" else gateway
    with db.atomic():
        white_label.save(only=changed)
        AuditEvent.create(
            white_label=white_label, actor=actor_id, action="payment_gateway_changed", detail=detail
        )


def _see_other(url: str):
    """303 to `url`; for an htmx request, HX-Redirect so the whole page loads."""
    if request.htmx:
        response = redirect(url)
        response.status_code = 204
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)
