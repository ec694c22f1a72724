"""The activation link's whole lifecycle: look-up, activation with card funding, resend,
cancel, reminders and expiry. No request handling here, so the CLI and tests call it too."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import TYPE_CHECKING

from flask import current_app
from werkzeug.security import check_password_hash

from .. import emails
from ..audit import audit
from ..auth.service import hash_password
from ..database import locked
from ..extensions import db
from ..models import (
    ActivationToken,
    Customer,
    CustomerMembership,
    LedgerEntry,
    OutboxEmail,
    Payment,
    StripeIntent,
    User,
    WhiteLabel,
    utcnow,
)
from ..onboarding.options import CUSTOMER as CUSTOMER_RUNS_IT  # the option of an account its customer activated
from ..onboarding.options import OPTIONS, option_of
from ..payments import Card, ChargeResult, GatewayUnavailable, gateway_for
from ..payments.charges import PaidCard, record_card_payment
from ..payments.intents import purpose, refund_intent, remember, settle, stripe_for
from ..tokens import EXPIRED, REVOKED, USED, VALID, Lookup, issue_token, look_up, look_up_row
from ..webhooks.events import (
    CUSTOMER_ACTIVATED,
    CUSTOMER_ACTIVATION_EXPIRED,
    CUSTOMER_STATUS_CHANGED,
    emit_customer_event,
)

if TYPE_CHECKING:
    from ..payments.stripe_gateway import IntentInfo, StripeGateway

log = logging.getLogger(__name__)


def look_up_activation(raw_token: str) -> Lookup:
    """The activation link behind `raw_token` and whether it can still be used."""
    return _as_activation(look_up(raw_token, ActivationToken.ACTIVATION))


def _as_activation(found: Lookup) -> Lookup:
    # An account the customer already runs is activated, whatever became of this link.
    customer = found.customer
    if found.state in (VALID, REVOKED, EXPIRED) and activated(customer):
        return Lookup(USED, found.token, customer)
    return found


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

    def __init__(self, field: str, message: str, *, new_attempt: bool = True) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.new_attempt = new_attempt  # a declined card gets a fresh key; a timeout keeps it


def _unavailable(error: GatewayUnavailable, white_label: WhiteLabel, no_answer: str) -> ActivationRefused:
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
    return (
        f"An account with this email already exists. Enter its current password to add {customer.business_name} to it."
    )


def intent_metadata(token: ActivationToken, customer: Customer) -> dict:
    """What a PaymentIntent for this link carries at Stripe, and what a paid intent must carry
    to activate through it: the purpose, the customer, the white-label, and the link's random
    hash (its row id would not do: ids come round again)."""
    return {
        "purpose": "activation",
        "customer_id": str(customer.id),
        "white_label_id": str(customer.white_label_id),
        "activation_token_hash": token.token_hash,
    }


def start_card_payment(token: ActivationToken, *, amount: int, attempt: str) -> tuple[str, str]:
    """Stripe: a PaymentIntent the browser confirms with Stripe.js, remembered here so that it is
    recorded (or refunded) even if the browser never comes back. -> (intent id, client secret)."""
    customer = Customer.get_by_id(token.customer_id)
    white_label = customer.white_label
    gateway = gateway_for(white_label)
    try:
        intent_id, client_secret = gateway.create_intent(
            amount=amount,
            currency=white_label.currency,
            idempotency_key=idempotency_key(token, attempt) + f"_{amount}",
            description=f"Opening balance for {customer.business_name}",
            metadata=intent_metadata(token, customer),
        )
    except GatewayUnavailable as error:
        raise _unavailable(
            error, white_label, "The payment service did not answer. Nothing was charged: try again in a moment."
        ) from None
    remember(
        intent_id,
        white_label=white_label,
        customer=customer,
        purpose=StripeIntent.ACTIVATION,
        amount=amount,
        currency=white_label.currency,
        token_hash=token.token_hash,
    )
    return intent_id, client_secret


def activate(
    token: ActivationToken,
    *,
    password: str,
    amount: int | None,
    attempt: str,
    card: Card | None = None,
    payment_intent: str | None = None,
) -> User:
    """Take the opening balance (sandbox: charge the card; Stripe: check the confirmed
    PaymentIntent and record it), then activate everything; returns the contact. When the
    payment was received already (the browser closed after paying), only the rest is done."""
    customer = Customer.get_by_id(token.customer_id)
    white_label = customer.white_label
    if received_activation_payment(customer) is not None:
        return complete_paid_activation(token, customer, password)
    gateway = gateway_for(white_label)
    if gateway is None:
        raise ActivationRefused("card", "Card payments are not available right now. Contact support.")
    unanswered = "The payment service did not answer. You have not been charged twice: try again in a moment."
    if not gateway.collects_card:
        if not payment_intent:
            raise ActivationRefused("card", "Enter your card details. Card payments need JavaScript turned on.")
        try:
            info = gateway.retrieve_intent(payment_intent)
            if info is None:
                raise ActivationRefused("card", "That payment was not found. Try again.")
            result = info.check(amount=amount, currency=white_label.currency, metadata=intent_metadata(token, customer))
            if not result.succeeded:
                raise ActivationRefused("card", result.message or "Your card was declined.")
            # Recorded against the activation now, as the webhook would (once, whoever is first).
            settle(white_label, info.id, info=info)
        except GatewayUnavailable as error:
            raise _unavailable(error, white_label, unanswered) from None
        return complete_paid_activation(token, customer, password)

    key = idempotency_key(token, attempt)
    try:
        result: ChargeResult = gateway.charge(
            amount=amount,
            currency=white_label.currency,
            card=card,
            idempotency_key=key,
            description=f"Opening balance for {customer.business_name}",
        )
    except GatewayUnavailable as error:
        raise _unavailable(error, white_label, unanswered) from None
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
    second tab lost the race, the link expired meanwhile) is settled like any other: kept for
    the customer's activation if a newer link is still open, otherwise refunded."""
    customer = Customer.get_by_id(token.customer_id)
    if not payment_intent or len(payment_intent) > 255 or stripe_for(customer.white_label) is None:
        return
    try:
        gateway = stripe_for(customer.white_label)
        info = gateway.retrieve_intent(payment_intent)
        if info is not None and info.metadata.get("customer_id") == str(customer.id):
            settle(customer.white_label, info.id, info=info)
    except GatewayUnavailable:
        pass  # the webhook or the reconciliation job settles it later


# --- Payments received before the activation finished (Stripe) -----------------------------


def link_is_live(token_hash: str | None, now: dt.datetime | None = None) -> bool:
    """Whether the activation link with this hash can still be used to pay."""
    if not token_hash:
        return False
    found = ActivationToken.get_or_none(ActivationToken.token_hash == token_hash)
    if found is None:
        return False
    return _as_activation(look_up_row(found, now)).state == VALID


def awaiting_activation(customer: Customer) -> bool:
    """A customer who activates by email and has not (pending, or expired and so resendable):
    what Resend and Cancel are for, in the console and the API."""
    return option_of(customer).activates_by_email and customer.status in (Customer.PENDING, Customer.EXPIRED)


def hand_over_pending(customer: Customer, now: dt.datetime | None = None) -> bool:
    """A customer the white-label administers was handed over and the contact's link still
    works: "Hand over" is not offered again until it is used, expires or is cancelled."""
    if not option_of(customer).white_label_administers:
        return False
    return has_working_link(customer, now or utcnow())


def has_working_link(customer: Customer, now: dt.datetime) -> bool:
    """An activation link of the customer's is neither used, revoked nor expired at `now`."""
    return (
        ActivationToken.select()
        .where(
            (ActivationToken.customer == customer.id)
            & (ActivationToken.purpose == ActivationToken.ACTIVATION)
            & ActivationToken.used_at.is_null()
            & ActivationToken.revoked_at.is_null()
            & (ActivationToken.expires_at > now)
        )
        .exists()
    )


def cancel_hand_over(customer: Customer, actor: User) -> int:
    """Stop a hand-over the contact has not accepted: every link stops working, the white-label
    keeps running the account, and an opening balance already received goes back to the card.
    Returns how many links were revoked (0: the contact activated or the link expired first)."""
    with db.atomic():
        revoked = (
            ActivationToken.update(revoked_at=utcnow())
            .where(
                (ActivationToken.customer == customer.id)
                & (ActivationToken.purpose == ActivationToken.ACTIVATION)
                & ActivationToken.used_at.is_null()
                & ActivationToken.revoked_at.is_null()
            )
            .execute()
        )
        if revoked:
            audit(customer.white_label_id, "hand_over_cancelled", customer=customer, actor=actor)
    if revoked:
        refund_unfinished_activation_payments(customer)
    return revoked


def activated(customer: Customer) -> bool:
    """The customer has activated and runs their own account."""
    return customer.status == Customer.ACTIVE and not option_of(customer).white_label_administers


def activation_open(customer: Customer, now: dt.datetime | None = None) -> bool:
    """Whether the customer can still finish activating: not cancelled, not activated yet, and a
    link of theirs still works (a resend's new link counts)."""
    now = now or utcnow()
    if customer.status == Customer.CANCELLED:
        return False
    if activated(customer):
        return False
    return has_working_link(customer, now)


def received_activation_payment(customer: Customer) -> StripeIntent | None:
    """The opening balance Stripe says was paid for this customer's activation, recorded and
    waiting for the customer to finish (set a password, accept the terms); with its Payment."""
    return (
        StripeIntent.select(StripeIntent, Payment)
        .join(Payment)
        .where(
            (StripeIntent.customer == customer.id)
            & (StripeIntent.purpose == StripeIntent.ACTIVATION)
            & (StripeIntent.status == StripeIntent.RECEIVED)
        )
        .first()
    )


def _link_still_payable(record: StripeIntent, now: dt.datetime) -> bool:
    return link_is_live(record.token_hash, now)


@purpose(StripeIntent.ACTIVATION, still_payable=_link_still_payable)
def receive_activation_payment(
    customer: Customer, info: IntentInfo, record: StripeIntent, gateway: StripeGateway
) -> str:
    """A paid activation intent, recorded against the customer's activation exactly once: the
    Payment and the ledger credit now, the password and terms when the customer comes back. If
    the activation can no longer finish, or another payment was received for it already, this
    one is refunded. Called by the browser's post-back, the webhook and reconciliation alike."""
    white_label = customer.white_label
    with db.atomic():
        locked(Customer.select(Customer.id).where(Customer.id == customer.id)).get()
        record = StripeIntent.get_by_id(record.id)
        if record.status not in StripeIntent.UNSETTLED:
            return record.status  # received, recorded or refunded already
        customer = Customer.get_by_id(customer.id)
        another = (
            StripeIntent.select()
            .where(
                (StripeIntent.customer == customer.id)
                & (StripeIntent.purpose == StripeIntent.ACTIVATION)
                & (StripeIntent.status == StripeIntent.RECEIVED)
            )
            .exists()
        )
        if activation_open(customer) and not another:
            payment = record_card_payment(
                customer,
                gateway="stripe",
                purpose="activation",
                amount=info.amount,
                currency=info.currency.upper(),
                reference=info.id,
                idempotency_key=f"stripe_{info.id}",
                reason="Opening balance paid",
                card=PaidCard(info.brand, info.last4, info.exp_month, info.exp_year),
            )
            StripeIntent.update(status=StripeIntent.RECEIVED, payment=payment, settled_at=utcnow()).where(
                StripeIntent.id == record.id
            ).execute()
            audit(white_label, "activation_payment_received", customer=customer, amount=info.amount, payment=info.id)
            return StripeIntent.RECEIVED
        # Nothing to pay for: claimed for refunding inside the lock, so nothing can use it meanwhile.
        StripeIntent.update(status=StripeIntent.REFUNDING).where(StripeIntent.id == record.id).execute()
    refund_intent(record, gateway)
    StripeIntent.update(status=StripeIntent.REFUNDED, settled_at=utcnow()).where(
        (StripeIntent.id == record.id) & (StripeIntent.status == StripeIntent.REFUNDING)
    ).execute()
    log.info("Refunded stray activation payment %s of customer %s", info.id, customer.id)
    return StripeIntent.REFUNDED


def complete_paid_activation(token: ActivationToken, customer: Customer, password: str) -> User:
    """Finish an activation whose opening balance was received already: nothing is charged."""
    with db.atomic():
        locked(Customer.select(Customer.id).where(Customer.id == customer.id)).get()
        received = received_activation_payment(customer)
        now = utcnow()
        if not _claim(token, now):
            raise AlreadyActivated()
        if received is None:
            raise ActivationRefused("card", "We could not find your payment. Nothing more was charged: try again.")
        StripeIntent.update(status=StripeIntent.RECORDED, settled_at=now).where(
            (StripeIntent.id == received.id) & (StripeIntent.status == StripeIntent.RECEIVED)
        ).execute()
        return _activate_contact(token, customer, customer.white_label, received.payment, password, now)


def refund_unfinished_activation_payments(customer: Customer | None = None, now: dt.datetime | None = None) -> int:
    """Opening balances received for activations that can no longer finish (every link expired,
    or the customer was cancelled) go back to the card: refunded at Stripe with an idempotency
    key, the Payment marked refunded and a debit on the ledger. Safe to repeat: a refund Stripe
    did not answer is tried again on the next run. Returns how many were refunded."""
    now = now or utcnow()
    query = StripeIntent.select().where(
        (StripeIntent.purpose == StripeIntent.ACTIVATION)
        & StripeIntent.status.in_([StripeIntent.RECEIVED, StripeIntent.REFUNDING])
    )
    if customer is not None:
        query = query.where(StripeIntent.customer == customer.id)
    refunded = 0
    for record in list(query):
        with db.atomic():
            locked(Customer.select(Customer.id).where(Customer.id == record.customer_id)).get()
            fresh = StripeIntent.get_by_id(record.id)
            if fresh.status == StripeIntent.RECEIVED:
                if activation_open(Customer.get_by_id(record.customer_id), now):
                    continue
                # Claimed inside the lock, so the customer cannot finish with it meanwhile.
                StripeIntent.update(status=StripeIntent.REFUNDING).where(StripeIntent.id == record.id).execute()
            elif fresh.status != StripeIntent.REFUNDING:
                continue
        white_label = WhiteLabel.get_by_id(record.white_label_id)
        gateway = stripe_for(white_label)
        if gateway is None:
            log.error(
                "Cannot refund %s: white-label %s has no readable Stripe secret key", record.intent_id, white_label.slug
            )
            continue
        try:
            refund_intent(record, gateway)
        except GatewayUnavailable:
            log.warning("Refund of %s not done (Stripe did not answer); the next run tries again", record.intent_id)
            continue
        with db.atomic():
            moved = (
                StripeIntent.update(status=StripeIntent.REFUNDED, settled_at=now)
                .where((StripeIntent.id == record.id) & (StripeIntent.status == StripeIntent.REFUNDING))
                .execute()
            )
            if not moved or record.payment_id is None:
                continue
            payment = Payment.get_by_id(record.payment_id)
            Payment.update(status=Payment.REFUNDED, refunded_at=now).where(Payment.id == payment.id).execute()
            customer_row = Customer.get_by_id(record.customer_id)
            why = (
                "the customer was cancelled"
                if customer_row.status == Customer.CANCELLED
                else "the activation link expired"
            )
            LedgerEntry.create(
                white_label=white_label,
                account=LedgerEntry.CUSTOMER,
                customer=customer_row,
                kind=LedgerEntry.DEBIT,
                amount=payment.amount,
                currency=payment.currency,
                reason=f"Opening balance refunded to {payment.card_brand} ending {payment.card_last4}: {why}",
                reference=f"refund:{payment.id}",
            )
            audit(
                white_label,
                "activation_payment_refunded",
                customer=customer_row,
                amount=payment.amount,
                payment=payment.reference,
                why=why,
            )
        refunded += 1
    return refunded


def _claim(token: ActivationToken, now: dt.datetime) -> bool:
    """Use the link, once: a second request (another tab, a double click) finds it used."""
    return bool(
        ActivationToken.update(used_at=now)
        .where(
            (ActivationToken.id == token.id) & ActivationToken.used_at.is_null() & ActivationToken.revoked_at.is_null()
        )
        .execute()
    )


def _record(
    token: ActivationToken,
    customer: Customer,
    white_label: WhiteLabel,
    gateway_name: str,
    result: ChargeResult,
    key: str,
    password: str,
    amount: int,
) -> User:
    """Sandbox: the charge, the credit and the activation in one transaction."""
    with db.atomic():
        now = utcnow()
        if not _claim(token, now):
            raise AlreadyActivated()
        payment = record_card_payment(
            customer,
            gateway=gateway_name,
            purpose="activation",
            amount=amount,
            currency=white_label.currency,
            reference=result.reference,
            idempotency_key=key,
            reason="Opening balance paid",
            card=PaidCard(result.brand, result.last4, result.exp_month, result.exp_year),
        )
        return _activate_contact(token, customer, white_label, payment, password, now)


def _activate_contact(
    token: ActivationToken,
    customer: Customer,
    white_label: WhiteLabel,
    payment: Payment,
    password: str,
    now: dt.datetime,
) -> User:
    """The contact becomes the account's administrator and the account is active (inside the
    caller's transaction, after the link was claimed and the payment recorded)."""
    amount = payment.amount
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
        # Someone already in the account (invited, say, before a hand-over): the contact who
        # activated is its Account Administrator now, and has accepted.
        membership.role = CustomerMembership.ACCOUNT_ADMINISTRATOR
        membership.active = True
        membership.status = CustomerMembership.ACTIVE
        membership.accepted_at = membership.accepted_at or now
        membership.save()
    if option_of(customer).white_label_administers:
        # Hand-over: the white-label's administrators stop administering this account.
        CustomerMembership.delete().where(
            (CustomerMembership.customer == customer.id)
            & (CustomerMembership.user != user.id)
            & (CustomerMembership.role == CustomerMembership.ACCOUNT_ADMINISTRATOR)
        ).execute()
    Customer.update(status=Customer.ACTIVE, activated_at=now, administered_by=CUSTOMER_RUNS_IT.key).where(
        Customer.id == customer.id
    ).execute()
    audit(
        white_label,
        "customer_activated",
        customer=customer,
        actor=user,
        opening_balance=amount,
        payment=payment.reference,
    )
    emit_customer_event(CUSTOMER_ACTIVATED, customer)
    emails.send_welcome_email(user, customer, payment)
    creator = User.get_or_none(User.id == customer.created_by_id) if customer.created_by_id else None
    if creator is not None:
        emails.send_customer_activated_email(creator, customer, payment)
    return user


def send_activation_link(
    customer: Customer,
    *,
    reminder: bool = False,
    token_row: ActivationToken | None = None,
    raw_token: str | None = None,
    new_customer: bool = False,
) -> ActivationToken:
    """Issue a new link (revoking older ones) and email it to the contact. Call inside a transaction.
    `new_customer`: the first link of a customer this transaction created (see issue_token)."""
    if raw_token is None:
        _, token_row = issue_token(
            customer,
            ActivationToken.ACTIVATION,
            current_app.config["ACTIVATION_TTL_SECONDS"],
            new_customer=new_customer,
            email_for=lambda raw, expires_at: emails.send_activation_email(
                customer, raw_token=raw, expires_at=expires_at, reminder=reminder
            ),
        )
        return token_row
    token_row.email = emails.send_activation_email(
        customer, raw_token=raw_token, expires_at=token_row.expires_at, reminder=reminder
    )
    token_row.save()
    return token_row


def resend(customer: Customer, actor: User) -> ActivationToken:
    """A new link for a pending or expired customer; every older link stops working."""
    with db.atomic():
        token = send_activation_link(customer)
        if customer.status == Customer.EXPIRED:
            revived = (
                # Waiting for the customer again: back in the list if it was archived.
                Customer.update(status=Customer.PENDING, archived_at=None)
                .where((Customer.id == customer.id) & (Customer.status == Customer.EXPIRED))
                .execute()
            )
            if revived:
                emit_customer_event(CUSTOMER_STATUS_CHANGED, customer, previous_status=Customer.EXPIRED)
        audit(customer.white_label_id, "activation_resent", customer=customer, actor=actor)
        return token


def cancel(customer: Customer, actor: User) -> None:
    """Cancel a customer that has not activated: the link stops working, and an opening balance
    already received goes back to the card (now, or on the next scheduled run if Stripe does
    not answer)."""
    with db.atomic():
        now = utcnow()
        previous = Customer.select(Customer.status).where(Customer.id == customer.id).scalar()
        changed = (
            Customer.update(status=Customer.CANCELLED)
            .where((Customer.id == customer.id) & (Customer.status != Customer.CANCELLED))
            .execute()
        )
        if changed:
            emit_customer_event(CUSTOMER_STATUS_CHANGED, customer, previous_status=previous)
        ActivationToken.update(revoked_at=now).where(
            (ActivationToken.customer == customer.id)
            & ActivationToken.used_at.is_null()
            & ActivationToken.revoked_at.is_null()
        ).execute()
        audit(customer.white_label_id, "activation_cancelled", customer=customer, actor=actor)
    refund_unfinished_activation_payments(customer)


def send_reminders(now: dt.datetime | None = None) -> int:
    """One reminder per link, 24 hours before it expires; returns how many were queued."""
    now = now or utcnow()
    due = (
        ActivationToken.select()
        .join(Customer)
        .where(
            (ActivationToken.purpose == ActivationToken.ACTIVATION)
            & ActivationToken.used_at.is_null()
            & ActivationToken.revoked_at.is_null()
            & ActivationToken.reminder_sent_at.is_null()
            & (ActivationToken.expires_at > now)
            & (ActivationToken.expires_at <= now + dt.timedelta(hours=24))
            & (Customer.status == Customer.PENDING)
        )
    )
    sent = 0
    for token in due:
        with db.atomic():
            claimed = (
                ActivationToken.update(reminder_sent_at=now)
                .where((ActivationToken.id == token.id) & ActivationToken.reminder_sent_at.is_null())
                .execute()
            )
            if not claimed:
                continue
            # The reminder carries a fresh link with the old expiry (the original token's
            # plain text is not kept), so it must replace the original.
            customer = Customer.get_by_id(token.customer_id)
            raw, row = issue_token(customer, ActivationToken.ACTIVATION, 0)
            row.expires_at = token.expires_at
            row.reminder_sent_at = now
            row.save()
            send_activation_link(customer, reminder=True, token_row=row, raw_token=raw)
            sent += 1
    return sent


def expire_activations(now: dt.datetime | None = None) -> int:
    """Mark pending customers whose newest link has expired as Expired, each in its own
    transaction with its customer.activation_expired event, and refund opening balances
    received for activations that can no longer finish; returns how many expired."""
    now = now or utcnow()
    live = ActivationToken.select(ActivationToken.customer).where(
        ActivationToken.used_at.is_null() & ActivationToken.revoked_at.is_null() & (ActivationToken.expires_at > now)
    )
    expiring = (
        (Customer.status == Customer.PENDING)
        & Customer.administered_by.in_([o.key for o in OPTIONS if o.activates_by_email])
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
    refund_unfinished_activation_payments(now=now)
    return expired


def tracker(customer: Customer) -> dict | None:
    """What the customer page shows about the activation: sent, opened, expires, activated,
    failures, and an opening balance received before the activation finished (or refunded)."""
    tokens = list(
        ActivationToken.select()
        .where((ActivationToken.customer == customer.id) & (ActivationToken.purpose == ActivationToken.ACTIVATION))
        .order_by(ActivationToken.id.desc())
    )
    if not tokens:
        return None
    latest = tokens[0]
    email = OutboxEmail.get_or_none(OutboxEmail.id == latest.email_id) if latest.email_id else None
    early_payment = (
        StripeIntent.select(StripeIntent, Payment)
        .join(Payment)
        .where(
            (StripeIntent.customer == customer.id)
            & (StripeIntent.purpose == StripeIntent.ACTIVATION)
            & StripeIntent.status.in_([StripeIntent.RECEIVED, StripeIntent.REFUNDING, StripeIntent.REFUNDED])
        )
        .order_by(StripeIntent.id.desc())
        .first()
    )
    return {
        "latest": latest,
        "email": email,
        "opened_at": next((t.opened_at for t in tokens if t.opened_at), None),
        "sent_count": len(tokens),
        # This link's own activation: a white-label's customer handed over was active long
        # before, and the hand-over is activated only when its link is used.
        "activated_at": latest.used_at
        or (customer.activated_at if customer.activated_at and customer.activated_at >= latest.created_at else None),
        "expired": customer.status == Customer.EXPIRED
        or (latest.expires_at is not None and latest.expires_at <= utcnow()),
        "payment": early_payment.payment if early_payment else None,
        "payment_state": early_payment.status if early_payment else None,
    }
