"""Peewee models. Money is integer minor units plus a currency code; times are naive UTC."""

from __future__ import annotations

import datetime as dt
import json
import secrets

from flask_login import UserMixin
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from .crypto import EncryptedTextField
from .extensions import db
from .prepared import insert_row


def utcnow() -> dt.datetime:
    """The current time in UTC, without tzinfo (how every timestamp is stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class JSONField(TextField):
    """A JSON object kept in a text column: parsed once when the row is read, written as text.
    Anything unreadable reads as an empty object (a draft is never worth a 500)."""

    def db_value(self, value):
        return json.dumps(value if value is not None else {}, separators=(",", ":"))

    def python_value(self, value):
        try:
            data = json.loads(value) if value else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False

    def save(self, force_insert=False, only=None):
        # A new row: its INSERT is compiled once per model and set of columns (prepared.py),
        # not rebuilt by peewee on every save. Updates, and what insert_row does not cover, are
        # peewee's own.
        if only is None and self._pk is None and insert_row(self):
            return 1
        return super().save(force_insert=force_insert, only=only)


class WhiteLabel(BaseModel):
    GATEWAYS = ("none", "sandbox", "stripe")

    name = CharField(max_length=120)
    slug = CharField(max_length=60, unique=True)
    display_name = CharField(max_length=120)
    accent_colour = CharField(max_length=7, default="#1d4ed8")
    support_email = CharField(max_length=254)
    support_phone = CharField(max_length=32, default="")
    payment_gateway = CharField(max_length=10, default="none")
    stripe_publishable_key = CharField(max_length=255, default="")
    stripe_secret_key = EncryptedTextField(default="")  # ciphertext in the database (crypto.py)
    stripe_webhook_secret = EncryptedTextField(default="")  # whsec_…, verifies Stripe's webhook events
    country = CharField(max_length=2)
    currency = CharField(max_length=3)
    time_zone = CharField(max_length=64, default="UTC")
    # How its people type numbers (Babel identifier: en_NZ, de_DE, fr_CH); from the country
    # unless the operator chose another (migration 011).
    locale = CharField(max_length=35, default="")
    credit_limit = IntegerField(default=0)  # minor units
    # Its terms of service page; the activation checkbox links to it (migration 020).
    terms_url = CharField(max_length=500, default="")
    created_at = DateTimeField(default=utcnow)
    # A host name of its own on which its customers sign in (migration 017); "" for none.
    sign_in_host = CharField(max_length=253, default="")

    def save(self, *args, **kwargs):
        if not self.locale:
            from .money import locale_for_country

            self.locale = locale_for_country(self.country)
        return super().save(*args, **kwargs)

    @property
    def amount_locale(self) -> str:
        """The locale typed amounts are read by (money.parse_amount)."""
        if self.locale:
            return self.locale
        from .money import locale_for_country

        return locale_for_country(self.country)

    @property
    def has_payment_gateway(self) -> bool:
        """Whether customers can pay by card: the sandbox, or Stripe with a secret key this
        install can read (one stored under a retired encryption key reads as missing)."""
        return self.payment_gateway == "sandbox" or (self.payment_gateway == "stripe" and bool(self.stripe_secret_key))


def new_session_version() -> str:
    """A fresh random session version: every session stamped with an older one has ended."""
    return secrets.token_hex(16)


class User(UserMixin, BaseModel):
    email = CharField(max_length=254, unique=True)  # stored lower-cased
    password_hash = CharField(max_length=255, default="")
    first_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100, default="")
    active = BooleanField(default=True)
    must_change_password = BooleanField(default=False)
    # Every session carries this value (see get_id); changing it ends all of the person's
    # sessions at once (auth/sessions.py: end_all_sessions).
    session_version = CharField(max_length=32, default=new_session_version)
    created_at = DateTimeField(default=utcnow)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses to sign in inactive users
        return bool(self.active)

    def get_id(self) -> str:
        """What the session remembers: the user id and the session version it was made under."""
        return f"{self.id}:{self.session_version}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


class WhiteLabelMembership(BaseModel):
    """A user's role in one white-label. A user works for at most one white-label."""

    ADMINISTRATOR = "administrator"
    STAFF = "staff"
    ROLES = (ADMINISTRATOR, STAFF)

    user = ForeignKeyField(User, backref="white_label_memberships", unique=True, on_delete="CASCADE")
    white_label = ForeignKeyField(WhiteLabel, backref="memberships", on_delete="CASCADE")
    role = CharField(max_length=20)
    created_at = DateTimeField(default=utcnow)


class Plan(BaseModel):
    white_label = ForeignKeyField(WhiteLabel, backref="plans", on_delete="CASCADE")
    name = CharField(max_length=80)
    monthly_price = IntegerField()  # minor units
    min_opening_balance = IntegerField()  # minor units
    included_numbers = IntegerField(default=1)
    # Each number beyond the included ones, a month (minor units); 0: none beyond them (migration 017).
    extra_number_price = IntegerField(default=0)
    sort_order = IntegerField(default=0)
    active = BooleanField(default=True)

    class Meta:
        indexes = ((("white_label", "name"), True),)


class Customer(BaseModel):
    PENDING = "pending_activation"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    STATUSES = (PENDING, ACTIVE, SUSPENDED, CANCELLED, EXPIRED)
    STATUS_LABELS = {
        PENDING: "Pending activation",
        ACTIVE: "Active",
        SUSPENDED: "Suspended",
        CANCELLED: "Cancelled",
        EXPIRED: "Expired",
    }
    # Not a column: the activation link create_customer has just issued, when its option sends
    # one (the API's answer describes it without looking it up again).
    first_activation_link = None

    white_label = ForeignKeyField(WhiteLabel, backref="customers", on_delete="CASCADE")
    business_name = CharField(max_length=200)
    trading_name = CharField(max_length=200, default="")
    business_number = CharField(max_length=40, default="")
    contact_first_name = CharField(max_length=100, default="")
    contact_last_name = CharField(max_length=100, default="")
    contact_email = CharField(max_length=254)
    contact_phone = CharField(max_length=32, default="")
    address_line1 = CharField(max_length=200, default="")
    address_line2 = CharField(max_length=200, default="")
    city = CharField(max_length=100, default="")
    region = CharField(max_length=100, default="")
    postcode = CharField(max_length=20, default="")
    country = CharField(max_length=2, default="")
    service_same_as_address = BooleanField(default=True)
    service_line1 = CharField(max_length=200, default="")
    service_line2 = CharField(max_length=200, default="")
    service_city = CharField(max_length=100, default="")
    service_region = CharField(max_length=100, default="")
    service_postcode = CharField(max_length=20, default="")
    service_country = CharField(max_length=2, default="")
    plan = ForeignKeyField(Plan, null=True, backref="customers", on_delete="SET NULL")
    administered_by = CharField(max_length=20)  # the key of its option (onboarding/options.py)
    status = CharField(max_length=24)
    created_by = ForeignKeyField(User, null=True, backref="created_customers", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    activated_at = DateTimeField(null=True)
    archived_at = DateTimeField(null=True)  # hidden from the list unless asked for (migration 018)
    # Lower-cased copy of name and email that the list's search matches against.
    search_text = CharField(max_length=800, default="")

    class Meta:
        indexes = (
            (("white_label", "created_at", "id"), False),
            (("white_label", "contact_email"), False),
            (("white_label", "business_name", "id"), False),
            (("white_label", "contact_phone"), False),
        )

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS.get(self.status, self.status)

    @property
    def contact_name(self) -> str:
        return f"{self.contact_first_name} {self.contact_last_name}".strip()

    def refresh_search_text(self) -> None:
        parts = [
            self.business_name,
            self.trading_name,
            self.contact_first_name,
            self.contact_last_name,
            self.contact_email,
        ]
        self.search_text = " ".join(p for p in parts if p).lower()[:800]


class PhoneNumber(BaseModel):
    """A number in a white-label's inventory; assigned to at most one customer."""

    white_label = ForeignKeyField(WhiteLabel, backref="phone_numbers", on_delete="CASCADE")
    number = CharField(max_length=20, unique=True)  # E.164
    customer = ForeignKeyField(Customer, null=True, backref="phone_numbers", on_delete="SET NULL")
    assigned_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("white_label", "customer"), False),)


class AuditEvent(BaseModel):
    white_label = ForeignKeyField(WhiteLabel, backref="audit_events", on_delete="CASCADE")
    customer = ForeignKeyField(Customer, null=True, backref="audit_events", on_delete="CASCADE")
    actor = ForeignKeyField(User, null=True, backref="audit_events", on_delete="SET NULL")
    action = CharField(max_length=60)
    detail = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    @property
    def details(self) -> dict:
        """The detail as a dict (it is JSON when there is any)."""
        try:
            value = json.loads(self.detail) if self.detail else {}
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class OutboxEmail(BaseModel):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"

    white_label = ForeignKeyField(WhiteLabel, null=True, backref="emails", on_delete="CASCADE")
    customer = ForeignKeyField(Customer, null=True, backref="emails", on_delete="CASCADE")
    kind = CharField(max_length=40)
    recipient = CharField(max_length=254)
    sender = CharField(max_length=320, default="")
    subject = CharField(max_length=255)
    text_body = TextField()
    html_body = TextField(default="")
    message_id = CharField(max_length=255, unique=True)
    status = CharField(max_length=10, default=QUEUED)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    locked_until = DateTimeField(null=True)
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    # The one secret link an email may carry (activation, invitation...): its path, Fernet-encrypted
    # (crypto.encrypt), while the email waits. The bodies hold mail.LINK_PLACEHOLDER instead; the
    # sender puts the link in and empties this once the email is sent or has failed for good.
    secret_link = TextField(default="")
    # Take-overs of this row after a sending worker's lease ran out (webapp/leases.py): each a
    # possible second copy, with the same Message-ID. And the request that queued it (logs.py).
    lease_resends = IntegerField(default=0)
    request_id = CharField(max_length=64, default="")

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)


class CustomerDraft(BaseModel):
    """The create-customer wizard's state, kept on the server so it survives anything."""

    key = CharField(max_length=32, unique=True)  # random, used in URLs
    white_label = ForeignKeyField(WhiteLabel, backref="drafts", on_delete="CASCADE")
    created_by = ForeignKeyField(User, backref="drafts", on_delete="CASCADE")
    administered_by = CharField(max_length=20)
    data = JSONField(default=dict)  # {step slug: {"values": {...}, "valid": bool}}
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    submitted_at = DateTimeField(null=True)
    customer = ForeignKeyField(Customer, null=True, unique=True, backref="draft", on_delete="SET NULL")

    class Meta:
        indexes = ((("white_label", "created_by", "submitted_at"), False),)


class CustomerMembership(BaseModel):
    """A person's role in a customer account.

    `status` says where the membership stands: Invited (added, not yet accepted: the account
    cannot be used), Active, or Deactivated (only Reactivate, a new invitation, leads back).
    `active` is kept equal to `status == ACTIVE`, for the queries that ask "may this person use
    the account?"; accounts/service.py writes both together."""

    ACCOUNT_ADMINISTRATOR = "account_administrator"
    USER = "user"
    ROLE_LABELS = {ACCOUNT_ADMINISTRATOR: "Account administrator", USER: "User"}
    INVITED = "invited"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    STATUS_LABELS = {INVITED: "Invited", ACTIVE: "Active", DEACTIVATED: "Deactivated"}

    user = ForeignKeyField(User, backref="customer_memberships", on_delete="CASCADE")
    customer = ForeignKeyField(Customer, backref="memberships", on_delete="CASCADE")
    role = CharField(max_length=30)
    extension = CharField(max_length=5, default="")
    active = BooleanField(default=True)
    status = CharField(max_length=12, default=ACTIVE)
    # The name the adder typed, shown in the account's users list until the person accepts
    # (never the name of an account that already existed).
    invited_first_name = CharField(max_length=100, default="")
    invited_last_name = CharField(max_length=100, default="")
    # Added with "Set a password now" as a new account: the person's first password change
    # (forced after signing in with the temporary one) accepts the membership.
    temporary_password = BooleanField(default=False)
    # When the person accepted (memberships made for someone already there, such as the
    # white-label administrator of an account they create, start accepted).
    accepted_at = DateTimeField(null=True, default=utcnow)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "customer"), True),)

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS.get(self.status, self.status)

    @property
    def display_name(self) -> str:
        """The name the account's administrators see: what they typed, until the person accepts."""
        if self.accepted_at is None:
            return f"{self.invited_first_name} {self.invited_last_name}".strip() or self.user.email
        return self.user.full_name


class LedgerEntry(BaseModel):
    """A debit or credit on an account; a balance is always a sum of entries."""

    WHITE_LABEL = "white_label"
    CUSTOMER = "customer"
    DEBIT = "debit"
    CREDIT = "credit"

    white_label = ForeignKeyField(WhiteLabel, backref="ledger_entries", on_delete="CASCADE")
    account = CharField(max_length=12)  # whose money: the white-label's or the customer's
    customer = ForeignKeyField(Customer, null=True, backref="ledger_entries", on_delete="CASCADE")
    kind = CharField(max_length=6)
    amount = IntegerField()  # minor units, always positive
    currency = CharField(max_length=3)
    reason = CharField(max_length=200)
    reference = CharField(max_length=100, null=True, unique=True)  # idempotency
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("white_label", "account", "created_at"), False),
            (("customer", "created_at"), False),
        )


class ActivationToken(BaseModel):
    """A single-use emailed link; only the SHA-256 of the token is stored."""

    ACTIVATION = "activation"
    INVITATION = "invitation"

    customer = ForeignKeyField(Customer, backref="tokens", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, backref="tokens", on_delete="CASCADE")  # invitations
    purpose = CharField(max_length=20, default=ACTIVATION)
    token_hash = CharField(max_length=64, unique=True)
    email = ForeignKeyField(OutboxEmail, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    opened_at = DateTimeField(null=True)
    used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    reminder_sent_at = DateTimeField(null=True)


class PasswordResetToken(BaseModel):
    """A "Forgot your password?" link: single-use, short-lived, only its SHA-256 stored (the
    same rules as ActivationToken, but for a person rather than a customer account)."""

    user = ForeignKeyField(User, backref="password_resets", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "created_at"), False),)


class PbxSettings(BaseModel):
    customer = ForeignKeyField(Customer, unique=True, backref="pbx_settings", on_delete="CASCADE")
    time_zone = CharField(max_length=64)
    extension_length = IntegerField(default=3)
    default_caller_id = CharField(max_length=20, default="")
    voicemail_to_email = BooleanField(default=True)
    call_recording = BooleanField(default=False)


class Payment(BaseModel):
    """A card payment. Only what a receipt shows: never the card number or security code."""

    SUCCEEDED = "succeeded"
    REFUNDED = "refunded"

    white_label = ForeignKeyField(WhiteLabel, backref="payments", on_delete="CASCADE")
    customer = ForeignKeyField(Customer, backref="payments", on_delete="CASCADE")
    gateway = CharField(max_length=10)
    reference = CharField(max_length=100, unique=True)
    idempotency_key = CharField(max_length=100, unique=True)
    purpose = CharField(max_length=20)  # activation, top_up
    amount = IntegerField()  # minor units
    currency = CharField(max_length=3)
    status = CharField(max_length=12, default=SUCCEEDED)
    card_brand = CharField(max_length=30, default="")
    card_last4 = CharField(max_length=4, default="")
    card_exp_month = IntegerField(null=True)
    card_exp_year = IntegerField(null=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    refunded_at = DateTimeField(null=True)


class StripeIntent(BaseModel):
    """Every PaymentIntent the app creates at Stripe, so that a payment confirmed in a browser
    that then closed is still found (webhook or reconciliation) and recorded once, or refunded."""

    CREATED = "created"  # waiting for the browser to confirm it with Stripe.js
    FAILED = "failed"  # a card was declined; the browser may still try another card
    RECEIVED = "received"  # activation paid: Payment and credit recorded, the activation not finished
    RECORDED = "recorded"  # paid and done: the activation finished, or the top-up credited
    REFUNDING = "refunding"  # paid, being returned: claimed so nothing else uses it meanwhile
    REFUNDED = "refunded"  # paid, then returned (the activation never finished, or a stray)
    CANCELED = "canceled"  # cancelled at Stripe: it can no longer be paid
    UNSETTLED = (CREATED, FAILED)
    ACTIVATION = "activation"
    TOP_UP = "top_up"

    intent_id = CharField(max_length=255, unique=True)
    white_label = ForeignKeyField(WhiteLabel, backref="stripe_intents", on_delete="CASCADE")
    customer = ForeignKeyField(Customer, backref="stripe_intents", on_delete="CASCADE")
    purpose = CharField(max_length=20)  # activation, top_up
    amount = IntegerField()  # minor units
    currency = CharField(max_length=3)
    token_hash = CharField(max_length=64, null=True)  # activation: the link's hash
    attempt_key = CharField(max_length=100, null=True)  # top-up: the attempt's idempotency key
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    status = CharField(max_length=10, default=CREATED)
    payment = ForeignKeyField(Payment, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    checked_at = DateTimeField(null=True)  # last asked Stripe about it (reconciliation)
    settled_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("status", "created_at"), False),
            (("customer", "status"), False),
        )


class StripeEvent(BaseModel):
    """A webhook event already handled: the same event delivered again changes nothing."""

    event_id = CharField(max_length=255, unique=True)
    white_label = ForeignKeyField(WhiteLabel, backref="stripe_events", on_delete="CASCADE")
    kind = CharField(max_length=100)
    received_at = DateTimeField(default=utcnow)


class RateLimitCounter(BaseModel):
    """A fixed-window rate-limit counter that every app process sees (webapp/ratelimit_storage.py).

    `bucket` is the SHA-256 of the limit's key, so no email or client address is stored in clear.
    """

    bucket = CharField(max_length=64, primary_key=True)
    hits = IntegerField()
    expires_at = DoubleField(index=True)  # seconds since the epoch, as limits' storages count


class WebhookEndpoint(BaseModel):
    """A URL of a white-label's shop that hears about its customers, signed per Standard Webhooks
    (webapp/webhooks/). The secret is stored encrypted; after a rotation the previous one keeps
    signing too until `previous_secret_until`."""

    MANUAL = "manual"  # disabled by an administrator
    FAILING = "failing"  # disabled because every delivery failed for WEBHOOK_DISABLE_AFTER_HOURS

    white_label = ForeignKeyField(WhiteLabel, backref="webhook_endpoints", on_delete="CASCADE")
    url = CharField(max_length=2000)
    description = CharField(max_length=200, default="")
    events = CharField(max_length=500)  # subscribed event types, space-separated
    enabled = BooleanField(default=True)
    disabled_reason = CharField(max_length=20, default="")
    disabled_at = DateTimeField(null=True)
    secret = EncryptedTextField()  # whsec_..., ciphertext in the database (crypto.py)
    previous_secret = EncryptedTextField(default="")
    previous_secret_until = DateTimeField(null=True)
    failing_since = DateTimeField(null=True)  # first failed attempt since the last success
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("white_label", "enabled"), False),)

    @property
    def event_types(self) -> list[str]:
        return self.events.split()


class WebhookDelivery(BaseModel):
    """One event for one endpoint: the exact body signed and sent on every attempt, and how the
    attempts went (the endpoint's delivery log). Claimed like an outbox email."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"

    white_label = ForeignKeyField(WhiteLabel, backref="webhook_deliveries", on_delete="CASCADE")
    endpoint = ForeignKeyField(WebhookEndpoint, backref="deliveries", on_delete="CASCADE")
    customer = ForeignKeyField(Customer, null=True, backref="webhook_deliveries", on_delete="SET NULL")
    message_id = CharField(max_length=64)  # webhook-id: the same on every attempt and endpoint
    event_type = CharField(max_length=60)
    payload = TextField()
    status = CharField(max_length=10, default=PENDING)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    retry_until = DateTimeField()
    locked_until = DateTimeField(null=True)
    last_attempt_at = DateTimeField(null=True)
    last_status_code = IntegerField(null=True)
    last_response_ms = IntegerField(null=True)
    last_error = CharField(max_length=300, default="")
    delivered_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    lease_resends = IntegerField(default=0)  # as OutboxEmail's: possible second copies, same webhook-id
    request_id = CharField(max_length=64, default="")

    class Meta:
        indexes = (
            (("status", "next_attempt_at"), False),
            (("endpoint", "created_at"), False),
            (("endpoint", "message_id"), True),
        )


class ApiKey(BaseModel):
    """A white-label's key for the integration API. Only the SHA-256 of the secret is kept: the
    secret is 256 random bits, so a fast hash is as safe as a slow one and lets a request find
    its key through an index (see webapp/api/keys.py)."""

    READ = "read"
    READ_WRITE = "read_write"
    SCOPE_LABELS = {READ: "Read only", READ_WRITE: "Read and write"}

    white_label = ForeignKeyField(WhiteLabel, backref="api_keys", on_delete="CASCADE")
    name = CharField(max_length=100)
    prefix = CharField(max_length=16, unique=True)  # shown in lists and logs; part of the key
    secret_hash = CharField(max_length=64, unique=True)
    scope = CharField(max_length=12)
    # The key acts as the administrator who made it; it stops working if they stop being one.
    created_by = ForeignKeyField(User, null=True, backref="api_keys", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    revoked_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="revoked_api_keys")

    class Meta:
        indexes = ((("white_label", "created_at"), False),)

    @property
    def scope_label(self) -> str:
        return self.SCOPE_LABELS.get(self.scope, self.scope)

    @property
    def can_write(self) -> bool:
        return self.scope == self.READ_WRITE


class ApiIdempotencyKey(BaseModel):
    """An `Idempotency-Key` a white-label sent with a POST, stored in the same transaction as
    the change it made, with the answer that is replayed for the same key and body."""

    white_label = ForeignKeyField(WhiteLabel, backref="api_idempotency_keys", on_delete="CASCADE")
    key = CharField(max_length=255)
    api_key = ForeignKeyField(ApiKey, null=True, backref="idempotency_keys", on_delete="SET NULL")
    request_hash = CharField(max_length=64)  # method, path and canonical JSON body
    status = IntegerField()
    response_body = TextField()
    location = CharField(max_length=255, default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("white_label", "key"), True), (("created_at",), False))


class CustomerImport(BaseModel):
    """One uploaded CSV file of new customers (Customers > Import): read on upload, its rows
    checked by the worker, then created by the worker once an administrator confirms. Claimed like
    an outbox email (webapp/leases.py): `status` moves to_check -> checking, and later queued ->
    running, under a lease the worker renews; a worker that dies leaves its lease to run out and
    the next one carries on from the rows still unchecked (or still ready)."""

    READING = "reading"  # the upload's request is still storing its rows: the worker leaves it alone
    TO_CHECK = "to_check"  # uploaded and read, its rows waiting for (or between turns of) the worker's checks
    CHECKING = "checking"  # a worker is checking its rows under a lease
    CHECKED = "checked"  # previewed, waiting for the administrator to confirm
    QUEUED = "queued"  # confirmed, waiting for (or between turns of) the worker
    RUNNING = "running"  # a worker holds it under a lease
    DONE = "done"
    CANCELLED = "cancelled"
    DISCARDED = "discarded"  # replaced by another upload before it was confirmed
    STATUS_LABELS = {
        READING: "Checking rows",
        TO_CHECK: "Checking rows",
        CHECKING: "Checking rows",
        CHECKED: "Checked, not confirmed",
        QUEUED: "Waiting to start",
        RUNNING: "Creating customers",
        DONE: "Finished",
        CANCELLED: "Cancelled",
        DISCARDED: "Replaced by another file",
    }

    white_label = ForeignKeyField(WhiteLabel, backref="imports", on_delete="CASCADE")
    created_by = ForeignKeyField(User, null=True, backref="imports", on_delete="SET NULL")
    filename = CharField(max_length=255, default="")
    # The option key for the whole file, or "" when each row names its own (administered_by).
    option = CharField(max_length=20, default="")
    status = CharField(max_length=12, default=CHECKED)
    # Why the whole file was refused (encoding, header, size); then it has no rows.
    file_error = TextField(default="")
    total_rows = IntegerField(default=0)
    bad_rows = IntegerField(default=0)
    # The white-label option's first-month charges of the ready rows, minor units.
    charges = IntegerField(default=0)
    attempts = IntegerField(default=0)
    lease_resends = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    locked_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    confirmed_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("white_label", "created_at"), False), (("status", "next_attempt_at"), False))

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS.get(self.status, self.status)


class CustomerImportRow(BaseModel):
    """One data row of an import: its cells as read, what the checks found, and what became of it.
    The row moves ready -> created in the same transaction that creates its customer, so a row is
    created at most once however often the job restarts."""

    UNCHECKED = "unchecked"  # read from the file, waiting for the worker's checks
    READY = "ready"
    BAD = "bad"  # refused by the checks before the import was confirmed
    CREATED = "created"
    FAILED = "failed"  # refused when its turn came (a number taken since, credit ran out...)
    SKIPPED = "skipped"  # the import was cancelled before its turn

    job = ForeignKeyField(CustomerImport, backref="rows", on_delete="CASCADE")
    line = IntegerField()  # the row's number in the spreadsheet: the header is row 1
    cells = JSONField(default=dict)  # {column: text} as read from the file
    errors = JSONField(default=dict)  # {column: [message, ...]} from the checks
    status = CharField(max_length=10, default=READY)
    customer = ForeignKeyField(Customer, null=True, backref="import_rows", on_delete="SET NULL")
    reason = TextField(default="")  # why a failed row was not created
    # What the row holds within its file once checked: {"email": ..., "numbers": [...]} (checks.py).
    claims = JSONField(default=dict)

    class Meta:
        indexes = ((("job", "line"), True), (("job", "status", "line"), False))


class CustomerTemplate(BaseModel):
    """A white-label's named preset for new customers (Settings > Templates): the answers the
    wizard starts with (onboarding/templates.py). Answers are copied into a draft when it starts,
    so editing or deleting a template never changes a draft or a customer made from it."""

    white_label = ForeignKeyField(WhiteLabel, backref="customer_templates", on_delete="CASCADE")
    name = CharField(max_length=100)
    administered_by = CharField(max_length=20)  # the key of an option (onboarding/options.py)
    # None: the wizard asks for the plan (also when the plan was deleted after the template was saved).
    plan = ForeignKeyField(Plan, null=True, backref="customer_templates", on_delete="SET NULL")
    number_count = IntegerField(default=0)  # how many free numbers the wizard picks; 0: none
    time_zone = CharField(max_length=64, default="")  # "": the white-label's own
    extension_length = IntegerField(default=3)
    voicemail_to_email = BooleanField(default=True)
    call_recording = BooleanField(default=False)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("white_label", "name"), True),)


class SupportView(BaseModel):
    """A white-label administrator viewing a customer-administered account's /account as its
    Account Administrator sees it, read-only (webapp/support/). The signed-in session holds the
    row's id; the view lasts until `expires_at` or until `ended_at` (Stop viewing, sign-out)."""

    white_label = ForeignKeyField(WhiteLabel, backref="support_views", on_delete="CASCADE")
    customer = ForeignKeyField(Customer, backref="support_views", on_delete="CASCADE")
    viewer = ForeignKeyField(User, backref="support_views", on_delete="CASCADE")
    # Whose view it shows: the account's Account Administrator when the view started.
    membership = ForeignKeyField(CustomerMembership, null=True, on_delete="SET NULL")
    reason = CharField(max_length=500)
    started_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    ended_at = DateTimeField(null=True)
    ended_how = CharField(max_length=20, default="")  # stopped, expired, signed out

    class Meta:
        indexes = ((("customer", "started_at"), False),)


ALL_MODELS = [
    WhiteLabel,
    User,
    WhiteLabelMembership,
    Plan,
    Customer,
    PhoneNumber,
    AuditEvent,
    OutboxEmail,
    CustomerDraft,
    CustomerMembership,
    LedgerEntry,
    ActivationToken,
    PasswordResetToken,
    PbxSettings,
    Payment,
    RateLimitCounter,
    StripeIntent,
    StripeEvent,
    WebhookEndpoint,
    WebhookDelivery,
    ApiKey,
    ApiIdempotencyKey,
    CustomerImport,
    CustomerImportRow,
    CustomerTemplate,
    SupportView,
]
