"""Running a customer account after it exists: users and invitations, numbers, PBX settings,
plan changes, status, top-ups and hand-over. No request handling here."""
from __future__ import annotations

import json

from flask import current_app

from ..auth.service import hash_password, normalise_email
from ..extensions import db
from ..ledger import available_credit
from ..mail import queue_email
from ..models import (
    ActivationToken,
    AuditEvent,
    Customer,
    CustomerMembership,
    LedgerEntry,
    PbxSettings,
    PhoneNumber,
    Plan,
    User,
    WhiteLabelMembership,
    utcnow,
)
from ..templating import format_money
from ..tokens import issue_token
from ..webhooks.events import CUSTOMER_STATUS_CHANGED, emit_customer_event

INVITATION_TTL_SECONDS = 72 * 3600


class AccountProblem(Exception):
    """A change that cannot be made; the message says why, for the person who asked."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def audit(customer: Customer, actor: User | None, action: str, **detail) -> None:
    AuditEvent.create(white_label=customer.white_label_id, customer=customer, actor=actor,
                      action=action, detail=json.dumps(detail) if detail else "")


def extension_length(customer: Customer) -> int:
    settings = PbxSettings.get_or_none(PbxSettings.customer == customer.id)
    return settings.extension_length if settings else 3


def members(customer: Customer) -> list[CustomerMembership]:
    """Everyone in the account, with their user, administrators first."""
    return list(
        CustomerMembership.select(CustomerMembership, User)
        .join(User)
        .where(CustomerMembership.customer == customer.id)
        .order_by(CustomerMembership.role, User.last_name, User.first_name, User.id)
    )


# --- Users ------------------------------------------------------------------------------


def add_user(customer: Customer, actor: User, *, first_name: str, last_name: str, email: str,
             extension: str, role: str, invite: bool, password: str | None = None) -> CustomerMembership:
    """Create or invite a person into the account; raises AccountProblem for a clash."""
    email = normalise_email(email)
    with db.atomic():
        user = User.get_or_none(User.email == email)
        if user and CustomerMembership.select().where(
            (CustomerMembership.user == user.id) & (CustomerMembership.customer == customer.id)
        ).exists():
            raise AccountProblem("This person is already a user in this account.", "email")
        if CustomerMembership.select().where(
            (CustomerMembership.customer == customer.id) & (CustomerMembership.extension == extension)
        ).exists():
            raise AccountProblem(f"Extension {extension} is already taken in this account. Choose another.", "extension")
        new_person = user is None
        if new_person:
            user = User.create(
                email=email,
                first_name=first_name,
                last_name=last_name,
                password_hash="" if invite else hash_password(password or ""),
                must_change_password=not invite,
            )
        membership = CustomerMembership.create(user=user, customer=customer, role=role, extension=extension)
        if invite or not new_person:
            send_invitation(customer, membership, actor)
        audit(customer, actor, "user_added", email=email, role=role, extension=extension,
              invited=bool(invite or not new_person))
        return membership


def send_invitation(customer: Customer, membership: CustomerMembership, actor: User | None) -> None:
    """(Re)send the invitation: a new 72-hour link; older links for this person stop working."""
    user = User.get_by_id(membership.user_id)
    now = utcnow()
    ActivationToken.update(revoked_at=now).where(
        (ActivationToken.customer == customer.id) & (ActivationToken.user == user.id)
        & (ActivationToken.purpose == ActivationToken.INVITATION)
        & ActivationToken.used_at.is_null() & ActivationToken.revoked_at.is_null()
    ).execute()
    raw, token = issue_token(customer, ActivationToken.INVITATION, INVITATION_TTL_SECONDS, revoke_others=False)
    token.user = user
    white_label = customer.white_label
    token.email = queue_email(
        kind="invitation", recipient=user.email, template="invitation",
        subject=f"You have been invited to {customer.business_name}'s phone account",
        white_label=white_label, customer=customer, user=user, membership=membership,
        needs_password=not user.password_hash,
        link=f"{current_app.config['APP_BASE_URL']}/invite/{raw}",
        expires_at=token.expires_at,
    )
    token.save()


def accept_invitation(token: ActivationToken, password: str | None) -> User:
    """Use an invitation link: set the password (new people) and activate the membership."""
    with db.atomic():
        claimed = ActivationToken.update(used_at=utcnow()).where(
            (ActivationToken.id == token.id) & ActivationToken.used_at.is_null() & ActivationToken.revoked_at.is_null()
        ).execute()
        if not claimed:
            raise AccountProblem("This invitation has already been used.")
        user = User.get_by_id(token.user_id)
        if not user.password_hash:
            user.password_hash = hash_password(password or "")
            user.must_change_password = False
        user.active = True
        user.save()
        CustomerMembership.update(active=True).where(
            (CustomerMembership.user == user.id) & (CustomerMembership.customer == token.customer_id)
        ).execute()
        audit(Customer.get_by_id(token.customer_id), user, "invitation_accepted", email=user.email)
        return user


def deactivate_user(customer: Customer, membership: CustomerMembership, actor: User) -> None:
    """Stop a person using this account; with no other account left they cannot sign in at all."""
    with db.atomic():
        if membership.role == CustomerMembership.ACCOUNT_ADMINISTRATOR:
            others = CustomerMembership.select().where(
                (CustomerMembership.customer == customer.id) & (CustomerMembership.id != membership.id)
                & (CustomerMembership.role == CustomerMembership.ACCOUNT_ADMINISTRATOR) & CustomerMembership.active
            )
            if not others.exists():
                raise AccountProblem("An account needs at least one active Account Administrator.")
        CustomerMembership.update(active=False).where(CustomerMembership.id == membership.id).execute()
        user_id = membership.user_id
        still_member = (
            CustomerMembership.select().where((CustomerMembership.user == user_id) & CustomerMembership.active).exists()
            or WhiteLabelMembership.select().where(WhiteLabelMembership.user == user_id).exists()
        )
        if not still_member:
            User.update(active=False).where(User.id == user_id).execute()
        audit(customer, actor, "user_deactivated", email=membership.user.email)


def change_password(user: User, password: str) -> None:
    User.update(password_hash=hash_password(password), must_change_password=False).where(User.id == user.id).execute()


# --- Numbers, PBX settings, plan --------------------------------------------------------


def assign_number(customer: Customer, number_id: int, actor: User) -> PhoneNumber:
    """Give the customer an available inventory number (never one already on another customer)."""
    with db.atomic():
        plan = customer.plan
        held = PhoneNumber.select().where(PhoneNumber.customer == customer.id).count()
        if plan and held >= plan.included_numbers:
            raise AccountProblem(
                f"The {plan.name} plan includes {plan.included_numbers} number"
                f"{'s' if plan.included_numbers != 1 else ''}. Release one or change the plan first."
            )
        assigned = PhoneNumber.update(customer=customer, assigned_at=utcnow()).where(
            (PhoneNumber.id == number_id) & (PhoneNumber.white_label == customer.white_label_id)
            & PhoneNumber.customer.is_null()
        ).execute()
        if not assigned:
            raise AccountProblem("That number is no longer available. Choose another.")
        number = PhoneNumber.get_by_id(number_id)
        audit(customer, actor, "number_assigned", number=number.number)
        return number


def release_number(customer: Customer, number_id: int, actor: User) -> None:
    """Return a number to the white-label's inventory."""
    with db.atomic():
        number = PhoneNumber.get_or_none((PhoneNumber.id == number_id) & (PhoneNumber.customer == customer.id))
        if number is None:
            raise AccountProblem("That number is not on this account.")
        PhoneNumber.update(customer=None, assigned_at=None).where(PhoneNumber.id == number.id).execute()
        PbxSettings.update(default_caller_id="").where(
            (PbxSettings.customer == customer.id) & (PbxSettings.default_caller_id == number.number)
        ).execute()
        audit(customer, actor, "number_released", number=number.number)


def save_pbx_settings(customer: Customer, actor: User, **values) -> PbxSettings:
    with db.atomic():
        settings, _ = PbxSettings.get_or_create(customer=customer, defaults={"time_zone": customer.white_label.time_zone})
        for name, value in values.items():
            setattr(settings, name, value)
        settings.save()
        audit(customer, actor, "pbx_settings_changed", **{k: str(v) for k, v in values.items()})
        return settings


def change_plan(customer: Customer, plan: Plan, actor: User) -> int:
    """Move a white-label-administered customer to `plan`; a dearer plan's difference is
    charged to the white-label ledger. Returns the amount charged."""
    with db.atomic():
        old = customer.plan
        difference = max(0, plan.monthly_price - (old.monthly_price if old else 0))
        if difference and difference > available_credit(customer.white_label):
            raise AccountProblem(
                f"Changing to {plan.name} costs {format_money(difference, customer.white_label.currency)} more, "
                "which is more than your white-label account has available."
            )
        held = PhoneNumber.select().where(PhoneNumber.customer == customer.id).count()
        if held > plan.included_numbers:
            raise AccountProblem(f"{plan.name} includes {plan.included_numbers} numbers but the account has {held}. Release some first.")
        Customer.update(plan=plan).where(Customer.id == customer.id).execute()
        if difference:
            LedgerEntry.create(
                white_label=customer.white_label_id, account=LedgerEntry.WHITE_LABEL, customer=customer,
                kind=LedgerEntry.DEBIT, amount=difference, currency=customer.white_label.currency,
                reason=f"Plan change for {customer.business_name}: {old.name if old else 'none'} to {plan.name}",
                created_by=actor,
            )
        audit(customer, actor, "plan_changed", old=old.name if old else "", new=plan.name, charged=difference)
        return difference


# --- Status and hand-over ----------------------------------------------------------------


def set_status(customer: Customer, actor: User, *, suspend: bool, reason: str) -> None:
    """Suspend an active customer, or reactivate a suspended one, with a reason on record."""
    with db.atomic():
        wanted_from, to = (Customer.ACTIVE, Customer.SUSPENDED) if suspend else (Customer.SUSPENDED, Customer.ACTIVE)
        changed = Customer.update(status=to).where((Customer.id == customer.id) & (Customer.status == wanted_from)).execute()
        if not changed:
            raise AccountProblem("The customer's status changed meanwhile. Reload the page.")
        audit(customer, actor, "suspended" if suspend else "reactivated", reason=reason)
        emit_customer_event(CUSTOMER_STATUS_CHANGED, customer, previous_status=wanted_from)


def hand_over(customer: Customer, actor: User):
    """Send the contact an activation email; on activation the customer administers the account."""
    from ..activation.service import send_activation_email

    with db.atomic():
        token = send_activation_email(customer)
        audit(customer, actor, "hand_over_started", email=customer.contact_email)
        return token
