"""Stripe's webhook: one endpoint per white-label, verified with its own signing secret."""

from __future__ import annotations

import logging

import stripe
from flask import Blueprint, abort, current_app, jsonify, request

from ..extensions import csrf, limiter
from ..models import WhiteLabel
from . import GatewayUnavailable
from .intents import handle_event

log = logging.getLogger(__name__)

bp = Blueprint("payments", __name__)
# Stripe cannot send our CSRF token; its signature over the body proves the sender instead.
csrf.exempt(bp)


def _failed_signature_limit() -> str:
    return current_app.config["STRIPE_WEBHOOK_RATE_LIMIT"]


@bp.post("/stripe/webhook/<int:white_label_id>")
@limiter.limit(
    _failed_signature_limit,
    key_func=lambda: f"stripe-webhook:{request.remote_addr}",
    # Only refused posts count: Stripe's own deliveries, however many, are never limited.
    deduct_when=lambda response: response.status_code == 400,
)
def stripe_webhook(white_label_id: int):
    """Stripe reports a PaymentIntent paid, declined or cancelled; we check the signature and
    the timestamp, then settle the intent once (an event delivered twice changes nothing)."""
    white_label = WhiteLabel.get_or_none(WhiteLabel.id == white_label_id)
    if white_label is None:
        abort(404)
    secret = white_label.stripe_webhook_secret
    if not secret:
        log.warning(
            "Stripe webhook for %s refused: no signing secret is stored (Settings > Payment gateway)", white_label.slug
        )
        return jsonify(error="No webhook signing secret is configured for this endpoint."), 400
    try:
        # Signature and timestamp (Stripe's default tolerance, 5 minutes) checked by the library.
        event = stripe.Webhook.construct_event(request.get_data(), request.headers.get("Stripe-Signature"), secret)
    except stripe.SignatureVerificationError:
        return jsonify(error="The signature or its timestamp does not verify."), 400
    except ValueError:
        return jsonify(error="The body is not a Stripe event."), 400
    try:
        outcome = handle_event(white_label, event)
    except GatewayUnavailable:
        # Not acknowledged, so Stripe delivers it again later.
        return jsonify(error="Stripe could not be asked about this payment; try again."), 503
    return jsonify(received=True, outcome=outcome), 200
