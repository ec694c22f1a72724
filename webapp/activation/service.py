"""The activation link's whole lifecycle: look-up, activation with card funding, resend,
cancel, reminders and expiry. No request handling here, so the CLI and tests call it too."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from flask import current_app
from werkzeug.security import check_password_hash

from ..auth.service import hash_password
from ..extensions import db
from ..mail import queue_email
from ..models import (
    ActivationToken,
    AuditEvent,
    Customer,
    CustomerMembership,
    LedgerEntry,
    OutboxEmail,
    Payment,
    User,
    utcnow,
)
from ..payments import Card, ChargeResult, GatewayUnavailable, gateway_for
from ..templating import format_money
from ..tokens import hash_token, issue_token
from ..webhooks.events import (
    CUSTOMER_ACTIVATED,
    CUSTOMER_ACTIVATION_EXPIRED,
    CUSTOMER_STATUS_CHANGED,
    emit_customer_event,
    emit_payment_succeeded,
)

# Why a link cannot be used, and the HTTP status its page carries.
UNKNOWN, EXPIRED, USED, REVOKED, CANCELLED, VALID = "unknown", "expired", "used", "revoked", "cancelled", "valid"
GONE_STATUS = {UNKNOWN: 404, EXPIRED: 410, USED: 410, REVOKED: 410, CANCELLED: 410}


@dataclass
class Lookup:
    state: str
    token: ActivationToken | None = None
    customer: Customer | None = None


def look_up(raw_token: str, purpose: str = ActivationToken.ACTIVATION) -> Lookup:
    """Find the token behind a link and say whether it can still be used."""
    if not raw_token or len(raw_token) > 100:
        return Lookup(UNKNOWN)
    token = ActivationToken.get_or_none(
        (ActivationToken.token_hash == hash_token(raw_token)) & (ActivationToken.purpose == purpose)
    )
    if token is None:
        return Lookup(UNKNOWN)
    customer = Customer.get_by_id(token.customer_id)
    if token.used_at is not None or (purpose == ActivationToken.ACTIVATION and customer.status == Customer.ACTIVE and customer.administered_by == Customer.BY_CUSTOMER):
        return Lookup(USED, token, customer)
    if customer.status == Customer.CANCELLED:
        return Lookup(CANCELLED, token, customer)
    if token.revoked_at is not None:
        return Lookup(REVOKED, token, customer)
    if token.expires_at <= utcnow():
        return Lookup(EXPIRED, token, customer)
    return Lookup(VALID, token, customer)


def record_opened(token: ActivationToken) -> None:
    """The first time the link is opened (mail scanners included) is shown on the tracker."""
    if token.opened_at is None:
        ActivationToken.update(opened_at=utcnow()).where(
            (ActivationToken.id == token.id) & ActivationToken.opened_at.is_null()
        ).execute()


def idempotency_key(token: ActivationToken, attempt: str) -> str:
    """One key per attempt at the form: a doubled or retried POST of it charges once.

    Built from the token's random hash, not its row id: ids come round again (SQLite reuses a
    deleted row's id; a restored or reset database starts over), and a key seen before would
    hand this activation an earlier charge's result from the gateway."""
    return "act_" + hashlib.sha256(f"{token.token_hash}:{attempt}".encode()).hexdigest()[:40]


class ActivationRefused(Exception):
    """The activation did not happen; `field` says where the message belongs."""

    def __init__(self, field: str, message: str, *, new_attempt: bool = True):
        super().__init__(message)
        self.field = field
        self.message = message
        self.new_attempt = new_attempt  # a declined card gets a fresh key; a timeout keeps it


def _unavailable(error: GatewayUnavailable, white_label, no_answer: str) -> ActivationRefused:
    """What the customer is told when the gateway cannot take the payment (the same key is kept)."""
    if error.retry:
        return ActivationRefused("card", no_answer, new_attempt=False)
    # The gateway refused the white-label's own credentials: waiting will not help.
    return ActivationRefused(
        "card",
        f"Card payments are not available right now and nothing was charged. Contact "
        f"{white_label.display_name} at {white_label.support_email} to finish activating.",
        new_attempt=False,
    )


class AlreadyActivated(Exception):
    """Another request activated the account first."""


def existing_user_problem(customer: Customer, password: str) -> str | None:
    """A contact who already has an account elsewhere must use its password (it is not overwritten)."""
    user = User.get_or_none(User.email == customer.contact_email.lower())
    if user is None or not user.password_hash:
        return None
    if check_password_hash(user.password_hash, password):
        return None
    return ("An account with this email already exists. Enter its current password to add "
            f"{customer.business_name} to it.")


def start_card_payment(token: ActivationToken, *, amount: int, attempt: str) -> tuple[str, str]:
    """Stripe: a PaymentIntent the browser confirms with Stripe.js. -> (intent id, client secret)."""
    customer = Customer.get_by_id(token.customer_id)
    white_label = customer.white_label
    gateway = gateway_for(white_label)
    try:
        return gateway.create_intent(
            amount=amount,
            currency=white_label.currency,
            idempotency_key=idempotency_key(token, attempt) + f"_{amount}",
            description=f"Opening balance for {customer.business_name}",
            metadata={"activation_token": str(token.id)},
        )
    except GatewayUnavailable as error:
        raise _unavailable(error, white_label,
                           "The payment service did not answer. Nothing was charged: try again in a moment.") from None


def activate(token: ActivationToken, *, password: str, amount: int, attempt: str,
             card: Card | None = None, payment_intent: str | None = None) -> User:
    """Take the opening balance (sandbox: charge the card; Stripe: check the confirmed
    PaymentIntent), then activate everything in one transaction; returns the contact."""
    customer = Customer.get_by_id(token.customer_id)
    white_label = customer.white_label
    gateway = gateway_for(white_label)
    if gateway is None:
        raise ActivationRefused("card", "Card payments are not available right now. Contact support.")
    key = idempotency_key(token, attempt)
    try:
        if gateway.collects_card:
            result: ChargeResult = gateway.charge(
                amount=amount,
                currency=white_label.currency,
                card=card,
                idempotency_key=key,
                description=f"Opening balance for {customer.business_name}",
            )
        else:
            if not payment_intent:
                raise ActivationRefused("card", "Enter your card details. Card payments need JavaScript turned on.")
            result = gateway.verify_intent(payment_intent, amount=amount, currency=white_label.currency,
                                           metadata={"activation_token": str(token.id)})
    except GatewayUnavailable as error:
        raise _unavailable(error, white_label,
                           "The payment service did not answer. You have not been charged twice: try again in a moment.") from None
    if not result.succeeded:
        raise ActivationRefused("card", result.message or "Your card was declined.")

    try:
        return _record(token, customer, white_label, gateway.name, result, key, password, amount)
    except AlreadyActivated:
        # Another request won. If it recorded this very payment (a double POST), all is
        # well; otherwise this payment must not stand.
        ours = Payment.select().where((Payment.idempotency_key == key) | (Payment.reference == result.reference))
        if not ours.exists():
            gateway.refund(result.reference, idempotency_key=f"refund_{key}")
        raise


def release_stray_payment(token: ActivationToken, payment_intent: str) -> None:
    """A Stripe payment confirmed in the browser for a link that can no longer be used (a
    second tab lost the race, the link expired meanwhile) must not keep the customer's money."""
    customer = Customer.get_by_id(token.customer_id)
    gateway = gateway_for(customer.white_label)
    if gateway is None or gateway.collects_card or not payment_intent:
        return
    if Payment.select().where(Payment.reference == payment_intent).exists():
        return  # recorded: it is the payment that activated the account
    if gateway.paid_intent(payment_intent, metadata={"activation_token": str(token.id)}):
        gateway.refund(payment_intent, idempotency_key=f"refund_{payment_intent}")


def _record(token, customer, white_label, gateway_name, result, key, password, amount) -> User:
    with db.atomic():
        now = utcnow()
        claimed = (
            ActivationToken.update(used_at=now)
            .where(
                (ActivationToken.id == token.id)
                & ActivationToken.used_at.is_null()
                & ActivationToken.revoked_at.is_null()
            )
            .execute()
        )
        if not claimed:
            raise AlreadyActivated()
        payment = Payment.create(
            white_label=white_label,
            customer=customer,
            gateway=gateway_name,
            reference=result.reference,
            idempotency_key=key,
            purpose="activation",
            amount=amount,
            currency=white_label.currency,
            card_brand=result.brand,
            card_last4=result.last4,
            card_exp_month=result.exp_month,
            card_exp_year=result.exp_year,
        )
        LedgerEntry.create(
            white_label=white_label,
            account=LedgerEntry.CUSTOMER,
            customer=customer,
            kind=LedgerEntry.CREDIT,
            amount=amount,
            currency=white_label.currency,
            reason=f"Opening balance paid by {result.brand} ending {result.last4}",
            reference=f"payment:{payment.id}",
        )
        user = User.get_or_none(User.email == customer.contact_email.lower())
        if user is None:
            user = User.create(
                email=customer.contact_email.lower(),
                password_hash=hash_password(password),
                first_name=customer.contact_first_name,
                last_name=customer.contact_last_name,
            )
        Payment.update(created_by=user).where(Payment.id == payment.id).execute()
        membership, created = CustomerMembership.get_or_create(
            user=user, customer=customer, defaults={"role": CustomerMembership.ACCOUNT_ADMINISTRATOR}
        )
        if not created:
            membership.role = CustomerMembership.ACCOUNT_ADMINISTRATOR
            membership.active = True
            membership.save()
        if customer.administered_by == Customer.BY_WHITE_LABEL:
            # Hand-over: the white-label's administrators stop administering this account.
            CustomerMembership.delete().where(
                (CustomerMembership.customer == customer.id) & (CustomerMembership.user != user.id)
                & (CustomerMembership.role == CustomerMembership.ACCOUNT_ADMINISTRATOR)
            ).execute()
        Customer.update(
            status=Customer.ACTIVE, activated_at=now, administered_by=Customer.BY_CUSTOMER
        ).where(Customer.id == customer.id).execute()
        AuditEvent.create(
            white_label=white_label, customer=customer, actor=user, action="customer_activated",
            detail=json.dumps({"opening_balance": amount, "payment": payment.reference}),
        )
        emit_customer_event(CUSTOMER_ACTIVATED, customer)
        emit_payment_succeeded(payment)
        balance = format_money(amount, white_label.currency)
        queue_email(
            kind="welcome", recipient=user.email, template="welcome",
            subject=f"Your {white_label.display_name} account is active",
            white_label=white_label, customer=customer, balance=balance, payment=payment,
            sign_in_url=f"{current_app.config['APP_BASE_URL']}/login",
        )
        creator = User.get_or_none(User.id == customer.created_by_id) if customer.created_by_id else None
        if creator is not None:
            queue_email(
                kind="customer_activated", recipient=creator.email, template="customer_activated",
                subject=f"{customer.business_name} has activated their account",
                white_label=white_label, customer=customer, balance=balance,
                customer_url=f"{current_app.config['APP_BASE_URL']}/customers/{customer.id}",
            )
        return user


def send_activation_email(customer: Customer, *, reminder: bool = False, token_row=None, raw_token=None) -> ActivationToken:
    """Issue a new link (revoking older ones) and queue the activation email. Call inside a transaction."""
    white_label = customer.white_label
    if raw_token is None:
        raw_token, token_row = issue_token(customer, ActivationToken.ACTIVATION, current_app.config["ACTIVATION_TTL_SECONDS"])
    plan = customer.plan
    email = queue_email(
        kind="activation_reminder" if reminder else "activation",
        recipient=customer.contact_email,
        subject=(f"Reminder: activate your {white_label.display_name} phone account" if reminder
                 else f"Activate your {white_label.display_name} phone account"),
        template="activation",
        white_label=white_label,
        customer=customer,
        link=f"{current_app.config['APP_BASE_URL']}/activate/{raw_token}",
        expires_at=token_row.expires_at,
        plan=plan,
        reminder=reminder,
        minimum=format_money(plan.min_opening_balance if plan else 0, white_label.currency),
        monthly=format_money(plan.monthly_price if plan else 0, white_label.currency),
    )
    token_row.email = email
    token_row.save()
    return token_row


def resend(customer: Customer, actor: User) -> ActivationToken:
    """A new link for a pending or expired customer; every older link stops working."""
    with db.atomic():
        token = send_activation_email(customer)
        if customer.status == Customer.EXPIRED:
            revived = Customer.update(status=Customer.PENDING).where(
                (Customer.id == customer.id) & (Customer.status == Customer.EXPIRED)).execute()
            if revived:
                emit_customer_event(CUSTOMER_STATUS_CHANGED, customer, previous_status=Customer.EXPIRED)
        AuditEvent.create(white_label=customer.white_label_id, customer=customer, actor=actor,
                          action="activation_resent", detail="")
        return token


def cancel(customer: Customer, actor: User) -> None:
    """Cancel a customer that has not activated: the link stops working."""
    with db.atomic():
        now = utcnow()
        previous = Customer.select(Customer.status).where(Customer.id == customer.id).scalar()
        changed = Customer.update(status=Customer.CANCELLED).where(
            (Customer.id == customer.id) & (Customer.status != Customer.CANCELLED)).execute()
        if changed:
            emit_customer_event(CUSTOMER_STATUS_CHANGED, customer, previous_status=previous)
        ActivationToken.update(revoked_at=now).where(
            (ActivationToken.customer == customer.id) & ActivationToken.used_at.is_null()
            & ActivationToken.revoked_at.is_null()
        ).execute()
        AuditEvent.create(white_label=customer.white_label_id, customer=customer, actor=actor,
                          action="activation_cancelled", detail="")


def send_reminders(now: dt.datetime | None = None) -> int:
    """One reminder per link, 24 hours before it expires; returns how many were queued."""
    now = now or utcnow()
    due = (
        ActivationToken.select()
        .join(Customer)
        .where(
            (ActivationToken.purpose == ActivationToken.ACTIVATION)
            & ActivationToken.used_at.is_null() & ActivationToken.revoked_at.is_null()
            & ActivationToken.reminder_sent_at.is_null()
            & (ActivationToken.expires_at > now)
            & (ActivationToken.expires_at <= now + dt.timedelta(hours=24))
            & (Customer.status == Customer.PENDING)
        )
    )
    sent = 0
    for token in due:
        with db.atomic():
            claimed = ActivationToken.update(reminder_sent_at=now).where(
                (ActivationToken.id == token.id) & ActivationToken.reminder_sent_at.is_null()
            ).execute()
            if not claimed:
                continue
            # The reminder carries a fresh link with the old expiry (the original token's
            # plain text is not kept), so it must replace the original.
            customer = Customer.get_by_id(token.customer_id)
            raw, row = issue_token(customer, ActivationToken.ACTIVATION, 0)
            row.expires_at = token.expires_at
            row.reminder_sent_at = now
            row.save()
            send_activation_email(customer, reminder=True, token_row=row, raw_token=raw)
            sent += 1
    return sent


def expire_activations(now: dt.datetime | None = None) -> int:
    """Mark pending customers whose newest link has expired as Expired, each in its own
    transaction with its customer.activation_expired event; returns how many."""
    now = now or utcnow()
    live = ActivationToken.select(ActivationToken.customer).where(
        ActivationToken.used_at.is_null() & ActivationToken.revoked_at.is_null() & (ActivationToken.expires_at > now)
    )
    expiring = (
        (Customer.status == Customer.PENDING)
        & (Customer.administered_by == Customer.BY_CUSTOMER)
        & Customer.id.in_(ActivationToken.select(ActivationToken.customer))
        & Customer.id.not_in(live)
    )
    expired = 0
    for customer in list(Customer.select(Customer.id, Customer.white_label).where(expiring).order_by(Customer.id)):
        # The same condition again on this one row: a resend or a second worker running the
        # job meanwhile means the row is not (or no longer) ours to expire, and no event goes.
        with db.atomic():
            if Customer.update(status=Customer.EXPIRED).where((Customer.id == customer.id) & expiring).execute():
                emit_customer_event(CUSTOMER_ACTIVATION_EXPIRED, customer)
                expired += 1
    return expired


def tracker(customer: Customer) -> dict | None:
    """What the customer page shows about the activation: sent, opened, expires, activated, failures."""
    tokens = list(
        ActivationToken.select()
        .where((ActivationToken.customer == customer.id) & (ActivationToken.purpose == ActivationToken.ACTIVATION))
        .order_by(ActivationToken.id.desc())
    )
    if not tokens:
        return None
    latest = tokens[0]
    email = OutboxEmail.get_or_none(OutboxEmail.id == latest.email_id) if latest.email_id else None
    return {
        "latest": latest,
        "email": email,
        "opened_at": next((t.opened_at for t in tokens if t.opened_at), None),
        "sent_count": len(tokens),
        "activated_at": customer.activated_at,
    }
