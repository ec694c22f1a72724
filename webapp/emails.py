"""Every kind of email the product sends, one `send_*_email` function each, beside its templates
(templates/email/<name>.txt and .html, on templates/email/_layout.html).

Each function queues the email in the outbox (webapp/mail.py), inside the caller's transaction,
so it is sent exactly when the change that causes it commits. Links are built with the app's URL
rules against APP_BASE_URL, never from the request's Host header; a link that carries a token
is handed to the outbox as a secret link, which stores it encrypted and puts it in the message
only as it is sent.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import current_app

from .branding import external_sign_in_url
from .mail import queue_email
from .models import Customer, CustomerMembership, OutboxEmail, Payment, Plan, User, WebhookEndpoint, WhiteLabel
from .templating import format_money
from .urls import external_url, secret_path  # noqa: F401 (emails.external_url: the links every email uses)


def send_activation_email(
    customer: Customer, *, raw_token: str, expires_at: dt.datetime, reminder: bool = False
) -> OutboxEmail:
    """The link to activate the account (or a reminder of it, 24 hours before it expires)."""
    white_label = customer.white_label
    plan: Plan | None = customer.plan
    return queue_email(
        kind="activation_reminder" if reminder else "activation",
        recipient=customer.contact_email,
        subject=(
            f"Reminder: activate your {white_label.display_name} phone account"
            if reminder
            else f"Activate your {white_label.display_name} phone account"
        ),
        template="activation",
        white_label=white_label,
        customer=customer,
        secret_link=secret_path("activation.activate_account", token=raw_token),
        expires_at=expires_at,
        plan=plan,
        reminder=reminder,
        sign_in_url=external_sign_in_url(white_label),
        minimum=format_money(plan.min_opening_balance if plan else 0, white_label.currency),
        monthly=format_money(plan.monthly_price if plan else 0, white_label.currency),
    )


def send_welcome_email(user: User, customer: Customer, payment: Payment) -> OutboxEmail:
    """To the contact who activated: the account is active, with the opening balance paid."""
    white_label = customer.white_label
    return queue_email(
        kind="welcome",
        recipient=user.email,
        template="welcome",
        subject=f"Your {white_label.display_name} account is active",
        white_label=white_label,
        customer=customer,
        payment=payment,
        balance=format_money(payment.amount, white_label.currency),
        sign_in_url=external_sign_in_url(white_label),
    )


def send_customer_activated_email(creator: User, customer: Customer, payment: Payment) -> OutboxEmail:
    """To the administrator who created the customer: they have activated their account."""
    white_label = customer.white_label
    return queue_email(
        kind="customer_activated",
        recipient=creator.email,
        template="customer_activated",
        subject=f"{customer.business_name} has activated their account",
        white_label=white_label,
        customer=customer,
        balance=format_money(payment.amount, white_label.currency),
        customer_url=external_url("customers.show", customer_id=customer.id),
    )


def send_invitation_email(
    user: User, customer: Customer, membership: CustomerMembership, *, raw_token: str, expires_at: dt.datetime
) -> OutboxEmail:
    """An invitation into a customer's account (a new person chooses a password; someone with an
    account accepts with theirs)."""
    return queue_email(
        kind="invitation",
        recipient=user.email,
        template="invitation",
        subject=f"You have been invited to {customer.business_name}'s phone account",
        white_label=customer.white_label,
        customer=customer,
        user=user,
        membership=membership,
        needs_password=not user.password_hash,
        sign_in_url=external_sign_in_url(customer.white_label),
        secret_link=secret_path("invitations.accept", token=raw_token),
        expires_at=expires_at,
    )


def reset_link_hours() -> int:
    """How many hours a password reset link works, as its email and pages say."""
    return max(1, current_app.config["PASSWORD_RESET_TTL_SECONDS"] // 3600)


def send_password_reset_email(
    user: User, white_label: WhiteLabel | None, *, raw_token: str, expires_at: dt.datetime
) -> OutboxEmail:
    """ "Forgot your password?": a single-use link to choose a new password, valid for an hour."""
    return queue_email(
        kind="password_reset",
        recipient=user.email,
        template="password_reset",
        subject="Choose a new password" + (f" for {white_label.display_name}" if white_label else ""),
        white_label=white_label,
        user=user,
        secret_link=secret_path("auth.reset_password", token=raw_token),
        expires_at=expires_at,
        hours=reset_link_hours(),
    )


def send_email_changed_email(user: User, white_label: WhiteLabel | None, *, old_email: str) -> OutboxEmail:
    """To the old address after a person changed the email they sign in with, so a change they
    did not make does not go unnoticed."""
    return queue_email(
        kind="email_changed",
        recipient=old_email,
        template="email_changed",
        subject="The email address you sign in with has changed",
        white_label=white_label,
        user=user,
        old_email=old_email,
        sign_in_url=external_url("auth.login"),
    )


def send_webhook_endpoint_disabled_email(
    administrator: User, endpoint: WebhookEndpoint, *, failing_since: dt.datetime, hours: int, error: str
) -> OutboxEmail:
    """To each administrator of the white-label: an endpoint failed for days and was disabled."""
    return queue_email(
        kind="webhook_endpoint_disabled",
        recipient=administrator.email,
        template="webhook_endpoint_disabled",
        subject=f"Webhooks to {urlsplit(endpoint.url).hostname} have stopped: the endpoint was disabled",
        white_label=endpoint.white_label,
        endpoint=endpoint,
        failing_since=failing_since,
        hours=hours,
        last_error=error,
        endpoint_url=external_url("webhooks.show", endpoint_id=endpoint.id),
    )
