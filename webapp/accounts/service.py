"""Running a customer account after it exists: users and invitations, numbers, PBX settings,
plan changes, status, top-ups and hand-over. No request handling here."""

from __future__ import annotations

import datetime as dt
import json

from flask import abort
from peewee import Case, Expression
from werkzeug.datastructures import MultiDict

from .. import emails
from ..audit import audit as audit_event
from ..auth.service import hash_password, normalise_email, password_matches
from ..auth.sessions import end_all_sessions
from ..billing import NumbersQuote, PlanChangeQuote, numbers_quote, quote_plan_change
from ..database import locked
from ..extensions import db
from ..ledger import available_credit, customer_balance
from ..models import (
    ActivationToken,
    AuditEvent,
    Customer,
    CustomerMembership,
    LedgerEntry,
    PasswordResetToken,
    PbxSettings,
    PhoneNumber,
    Plan,
    User,
    WhiteLabel,
    WhiteLabelMembership,
    utcnow,
)
from ..phones import display_phone
from ..templating import format_money
from ..tenancy import belongs_to
from ..tokens import issue_token
from ..webhooks.events import CUSTOMER_STATUS_CHANGED, emit_customer_event
from .forms import UserForm

INVITATION_TTL_SECONDS = 72 * 3600


class AccountProblem(Exception):
    """A change that cannot be made; the message says why, for the person who asked."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def audit(customer: Customer, actor: User | None, action: str, **detail: object) -> None:
    audit_event(customer.white_label_id, action, customer=customer, actor=actor, **detail)


def extension_length(customer: Customer) -> int:
    settings = PbxSettings.get_or_none(PbxSettings.customer == customer.id)
    return settings.extension_length if settings else 3


def member_or_404(customer: Customer, membership_id: int) -> CustomerMembership:
    """One person's membership of this account; any other is a 404."""
    membership = CustomerMembership.get_or_none(
        (CustomerMembership.id == membership_id) & (CustomerMembership.customer == customer.id)
    )
    if membership is None:
        abort(404)
    return membership


def members(customer: Customer) -> list[CustomerMembership]:
    """Everyone in the account, with their user, administrators first, then by the name shown
    (the typed one until a person accepts, so the order tells nothing of an existing account)."""
    shown_last = Case(
        None, [(CustomerMembership.accepted_at.is_null(), CustomerMembership.invited_last_name)], User.last_name
    )
    shown_first = Case(
        None, [(CustomerMembership.accepted_at.is_null(), CustomerMembership.invited_first_name)], User.first_name
    )
    return list(
        CustomerMembership.select(CustomerMembership, User)
        .join(User)
        .where(CustomerMembership.customer == customer.id)
        .order_by(CustomerMembership.role, shown_last, shown_first, CustomerMembership.id)
    )


# --- Users ------------------------------------------------------------------------------

STAFF_CANNOT_BE_USERS = (
    "White-label staff and administrators cannot be customer users. Use a different email address for this person."
)
STAFF_CANNOT_JOIN = "White-label staff and administrators cannot join customer accounts."


def _set_status(where: Expression, status: str, **also: object) -> int:
    """Move the memberships matched by `where` to `status`, keeping `active` in step."""
    return (
        CustomerMembership.update(status=status, active=status == CustomerMembership.ACTIVE, **also)
        .where(where)
        .execute()
    )


def add_user(
    customer: Customer,
    actor: User,
    *,
    first_name: str,
    last_name: str,
    email: str,
    extension: str,
    role: str,
    invite: bool,
    password: str | None = None,
) -> CustomerMembership:
    """Add a person to the account as Invited; raises AccountProblem for a clash.

    The adder learns nothing about an account the email may already have: the answer, and what
    the users list shows (the name they typed, "Invited"), are the same either way. A new person
    gets an invitation, or the temporary password the adder set (their first password change then
    accepts). Someone who already has an account always gets an invitation, accepted with their own
    password; their account is never changed here. People of the customer's own white-label are
    refused (they cannot be customer users); another white-label's are refused by the invitation
    page, to them, so the adder learns nothing."""
    email = normalise_email(email)
    with db.atomic():
        user = User.get_or_none(User.email == email)
        if (
            user is not None
            and WhiteLabelMembership.select()
            .where(
                (WhiteLabelMembership.user == user.id) & belongs_to(WhiteLabelMembership, of=customer.white_label_id)
            )
            .exists()
        ):
            raise AccountProblem(STAFF_CANNOT_BE_USERS, "email")
        if (
            user
            and CustomerMembership.select()
            .where((CustomerMembership.user == user.id) & (CustomerMembership.customer == customer.id))
            .exists()
        ):
            raise AccountProblem("This person is already a user in this account.", "email")
        if (
            CustomerMembership.select()
            .where((CustomerMembership.customer == customer.id) & (CustomerMembership.extension == extension))
            .exists()
        ):
            raise AccountProblem(
                f"Extension {extension} is already taken in this account. Choose another.", "extension"
            )
        temporary = user is None and not invite
        # Hashed whether or not it will be used, so the answer takes as long either way.
        temporary_hash = "" if invite else hash_password(password or "")
        if user is None:
            user = User.create(
                email=email,
                first_name=first_name,
                last_name=last_name,
                password_hash=temporary_hash,
                must_change_password=temporary,
            )
        membership = CustomerMembership.create(
            user=user,
            customer=customer,
            role=role,
            extension=extension,
            status=CustomerMembership.INVITED,
            active=False,
            accepted_at=None,
            invited_first_name=first_name,
            invited_last_name=last_name,
            temporary_password=temporary,
        )
        if not temporary:
            send_invitation(customer, membership, actor)
        # What the adder chose, never what the email turned out to be (the history shows it).
        audit(customer, actor, "user_added", email=email, role=role, extension=extension, invited=bool(invite))
        return membership


class AnswersRefused(Exception):
    """Answers for a new user that the form refuses: {field name: [messages]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def invite_from_answers(customer: Customer, actor: User, answers: dict) -> CustomerMembership:
    """Invite a person from answers given all at once (the integration API), checked by the same
    form as "Add a user"; raises AnswersRefused or AccountProblem."""
    form = UserForm(
        formdata=MultiDict({**answers, "setup": "invite"}),
        meta={"csrf": False},
        extension_length=extension_length(customer),
    )
    if not form.validate():
        raise AnswersRefused({name: [str(m) for m in messages] for name, messages in form.errors.items()})
    return add_user(
        customer,
        actor,
        first_name=form.first_name.data.strip(),
        last_name=form.last_name.data.strip(),
        email=form.email.data,
        extension=form.extension.data,
        role=form.role.data,
        invite=True,
    )


def send_invitation(customer: Customer, membership: CustomerMembership, actor: User | None) -> None:
    """(Re)send the invitation: a new 72-hour link; older links for this person stop working."""
    user = User.get_by_id(membership.user_id)
    _revoke_invitations(customer, user.id)
    raw, token = issue_token(customer, ActivationToken.INVITATION, INVITATION_TTL_SECONDS, revoke_others=False)
    token.user = user
    token.email = emails.send_invitation_email(user, customer, membership, raw_token=raw, expires_at=token.expires_at)
    token.save()


def _revoke_invitations(customer: Customer, user_id: int) -> None:
    ActivationToken.update(revoked_at=utcnow()).where(
        (ActivationToken.customer == customer.id)
        & (ActivationToken.user == user_id)
        & (ActivationToken.purpose == ActivationToken.INVITATION)
        & ActivationToken.used_at.is_null()
        & ActivationToken.revoked_at.is_null()
    ).execute()


def resend_invitation(customer: Customer, membership: CustomerMembership, actor: User) -> None:
    """Send a new invitation to someone who has not accepted yet."""
    with db.atomic():
        if CustomerMembership.get_by_id(membership.id).status != CustomerMembership.INVITED:
            raise AccountProblem(f"{membership.display_name} is not waiting for an invitation.")
        send_invitation(customer, membership, actor)
        audit(customer, actor, "invitation_resent", email=membership.user.email)


class InvitationRefused(Exception):
    """An invitation link that cannot be used. `state` is a key of activation.service.GONE_STATUS,
    or "white_label" for a white-label person (who cannot join customer accounts)."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def is_white_label_person(user_id: int) -> bool:
    return WhiteLabelMembership.select().where(WhiteLabelMembership.user == user_id).exists()


def check_invitation(token: ActivationToken) -> CustomerMembership:
    """The membership a usable invitation is for; raises InvitationRefused when it cannot be accepted."""
    if is_white_label_person(token.user_id):
        raise InvitationRefused("white_label")
    membership = CustomerMembership.get_or_none(
        (CustomerMembership.user == token.user_id) & (CustomerMembership.customer == token.customer_id)
    )
    if membership is None or membership.status != CustomerMembership.INVITED:
        raise InvitationRefused("revoked")  # deactivated (or already accepted): the link does nothing
    return membership


def accept_invitation(
    token: ActivationToken, *, new_password: str | None = None, current_password: str | None = None
) -> User:
    """Use an invitation link: a new account sets its password, an existing one proves it with its
    current password; then the membership becomes Active. Raises AccountProblem for a wrong
    password (nothing changes) and InvitationRefused when the link or membership cannot be used."""
    with db.atomic():
        user = User.get_by_id(token.user_id)
        check_invitation(token)
        if user.password_hash:
            if not password_matches(user, current_password or ""):
                raise AccountProblem(
                    f"That is not the password for {user.email}. Enter the password you sign in with.",
                    "current_password",
                )
        elif not new_password:
            raise AccountProblem("Choose a password.", "password")
        claimed = (
            ActivationToken.update(used_at=utcnow())
            .where(
                (ActivationToken.id == token.id)
                & ActivationToken.used_at.is_null()
                & ActivationToken.revoked_at.is_null()
            )
            .execute()
        )
        if not claimed:
            raise InvitationRefused("used")
        joined = _set_status(
            (CustomerMembership.user == user.id)
            & (CustomerMembership.customer == token.customer_id)
            & (CustomerMembership.status == CustomerMembership.INVITED),
            CustomerMembership.ACTIVE,
            accepted_at=utcnow(),
        )
        if not joined:  # deactivated meanwhile: the token claim is rolled back with this
            raise InvitationRefused("revoked")
        changes = {"active": True}
        if not user.password_hash:
            changes.update(password_hash=hash_password(new_password), must_change_password=False)
        User.update(**changes).where(User.id == user.id).execute()
        audit(Customer.get_by_id(token.customer_id), user, "invitation_accepted", email=user.email)
        return User.get_by_id(user.id)


def deactivate_user(customer: Customer, membership: CustomerMembership, actor: User) -> None:
    """Stop a person using this account: their invitation links stop working, and if they had
    accepted, every session they have ends. With no other account left they cannot sign in."""
    with db.atomic():
        current = CustomerMembership.get_by_id(membership.id)
        if current.status == CustomerMembership.DEACTIVATED:
            return
        if current.role == CustomerMembership.ACCOUNT_ADMINISTRATOR and current.status == CustomerMembership.ACTIVE:
            others = CustomerMembership.select().where(
                (CustomerMembership.customer == customer.id)
                & (CustomerMembership.id != membership.id)
                & (CustomerMembership.role == CustomerMembership.ACCOUNT_ADMINISTRATOR)
                & (CustomerMembership.status == CustomerMembership.ACTIVE)
            )
            if not others.exists():
                raise AccountProblem("An account needs at least one active Account Administrator.")
        _set_status(CustomerMembership.id == membership.id, CustomerMembership.DEACTIVATED)
        user_id = membership.user_id
        _revoke_invitations(customer, user_id)
        # Someone who never accepted never used the account: their account elsewhere is theirs and
        # is left alone (else anyone could sign a stranger out by adding and deactivating them).
        still_member = (
            CustomerMembership.select()
            .where(
                (CustomerMembership.user == user_id)
                & CustomerMembership.status.in_([CustomerMembership.ACTIVE, CustomerMembership.INVITED])
            )
            .exists()
            or WhiteLabelMembership.select().where(WhiteLabelMembership.user == user_id).exists()
        )
        if not still_member:
            User.update(active=False).where(User.id == user_id).execute()
        if current.status == CustomerMembership.ACTIVE or not still_member:
            end_all_sessions(user_id)
        audit(customer, actor, "user_deactivated", email=membership.user.email)


def reactivate_user(customer: Customer, membership: CustomerMembership, actor: User) -> bool:
    """Let a deactivated person back: they are Invited again and get a new invitation to accept.
    (The customer's own white-label people cannot accept invitations; they are Active at once.)
    Returns True when an invitation was sent."""
    with db.atomic():
        own_white_label = (
            WhiteLabelMembership.select()
            .where(
                (WhiteLabelMembership.user == membership.user_id)
                & belongs_to(WhiteLabelMembership, of=customer.white_label_id)
            )
            .exists()
        )
        status = CustomerMembership.ACTIVE if own_white_label else CustomerMembership.INVITED
        changed = _set_status(
            (CustomerMembership.id == membership.id) & (CustomerMembership.status == CustomerMembership.DEACTIVATED),
            status,
        )
        if not changed:
            raise AccountProblem(f"{membership.display_name} is not deactivated.")
        if not own_white_label:
            send_invitation(customer, membership, actor)
        audit(customer, actor, "user_reactivated", email=membership.user.email)
        return not own_white_label


def change_password(user: User, password: str) -> None:
    """Set a new password the person chose. Every session of theirs ends (the caller keeps the one
    that asked, with auth.sessions.keep_this_session), and the first change after a temporary
    password accepts the memberships that password was set for."""
    with db.atomic():
        User.update(password_hash=hash_password(password), must_change_password=False).where(
            User.id == user.id
        ).execute()
        end_all_sessions(user.id)
        # A reset link asked for earlier would undo the change: it stops working.
        PasswordResetToken.update(revoked_at=utcnow()).where(
            (PasswordResetToken.user == user.id)
            & PasswordResetToken.used_at.is_null()
            & PasswordResetToken.revoked_at.is_null()
        ).execute()
        _set_status(
            (CustomerMembership.user == user.id)
            & (CustomerMembership.status == CustomerMembership.INVITED)
            & (CustomerMembership.temporary_password == True),  # noqa: E712
            CustomerMembership.ACTIVE,
            accepted_at=utcnow(),
        )


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
        assigned = (
            PhoneNumber.update(customer=customer, assigned_at=utcnow())
            .where(
                (PhoneNumber.id == number_id)
                & belongs_to(PhoneNumber, of=customer.white_label_id)
                & PhoneNumber.customer.is_null()
            )
            .execute()
        )
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


def choose_numbers(customer: Customer, numbers: list[str], actor: User) -> NumbersQuote:
    """An Account Administrator adds inventory numbers (E.164) to their own account: the plan's
    included numbers are free, each one beyond them is charged to the customer's balance for the
    days left of the billing month (billing.NumbersQuote). All or nothing: raises AccountProblem
    when the balance cannot pay, the plan offers no more, or a number was taken meanwhile."""
    with db.atomic():
        # The customer's row first, so two choices at once are checked against the balance one
        # after the other (the second sees the first one's charge).
        customer = locked(Customer.select().where(Customer.id == customer.id)).get()
        quote = numbers_quote(customer, len(numbers))
        refused = quote.refusal(customer_balance(customer))
        if refused:
            raise AccountProblem(refused, "numbers")
        for number in numbers:
            taken = (
                PhoneNumber.update(customer=customer, assigned_at=utcnow())
                .where(
                    (PhoneNumber.number == number)
                    & belongs_to(PhoneNumber, of=customer.white_label_id)
                    & PhoneNumber.customer.is_null()
                )
                .execute()
            )
            if not taken:  # the transaction rolls back the ones taken before it
                raise AccountProblem(
                    f"{display_phone(number, customer.white_label.country)} is no longer available. "
                    "Choose another number.",
                    "numbers",
                )
        if quote.amount:
            LedgerEntry.create(
                white_label=customer.white_label_id,
                account=LedgerEntry.CUSTOMER,
                customer=customer,
                kind=LedgerEntry.DEBIT,
                amount=quote.amount,
                currency=quote.currency,
                reason=quote.ledger_reason(customer.business_name),
                created_by=actor,
            )
        for index, number in enumerate(numbers):
            beyond = index >= quote.free_left
            audit(customer, actor, "number_assigned", number=number, charged=quote.each if beyond else 0)
        return quote


def save_pbx_settings(customer: Customer, actor: User, **values: object) -> PbxSettings:
    with db.atomic():
        settings, _ = PbxSettings.get_or_create(
            customer=customer, defaults={"time_zone": customer.white_label.time_zone}
        )
        for name, value in values.items():
            setattr(settings, name, value)
        settings.save()
        audit(customer, actor, "pbx_settings_changed", **{k: str(v) for k, v in values.items()})
        return settings


class QuoteOutOfDate(AccountProblem):
    """The plan-change page showed amounts that no longer hold (the day or the plan changed)."""


def change_plan(
    customer: Customer,
    plan: Plan,
    actor: User,
    *,
    payer: str = LedgerEntry.WHITE_LABEL,
    quoted: tuple[int | None, dt.date] | None = None,
) -> PlanChangeQuote | None:
    """Move the customer to `plan`, prorated for what is left of its billing month (billing.py):
    `payer`'s ledger (the white-label's account, or the customer's own balance) is charged the
    difference for a dearer plan and credited it for a cheaper one. Returns what was charged,
    or None when the customer is already on `plan` (nothing is written). `quoted` is the
    (plan id, billing day) the person saw amounts for: if either changed meanwhile, nothing
    happens and QuoteOutOfDate says so."""
    with db.atomic():
        # The white-label row first (as the wizard's submit does), so every credit check on
        # this account waits for the one before it; then the customer's row as it is now, so a
        # second click sees the plan the first one chose.
        white_label = locked(WhiteLabel.select().where(WhiteLabel.id == customer.white_label_id)).get()
        customer = locked(Customer.select().where(Customer.id == customer.id)).get()
        customer.white_label = white_label
        if customer.plan_id == plan.id:
            return None
        quote = quote_plan_change(customer, plan)
        if quoted is not None and quoted != (customer.plan_id, quote.period.today):
            raise QuoteOutOfDate(
                "The amounts changed since the page was opened (a new day began, or someone else "
                "changed the plan). Check them below and confirm again.",
                "plan",
            )
        currency = white_label.currency
        if quote.amount > 0:
            if payer == LedgerEntry.WHITE_LABEL:
                available = available_credit(white_label)
                if quote.amount > available:
                    raise AccountProblem(
                        f"Changing to {plan.name} costs {format_money(quote.amount, currency)} now, but your white-label "
                        f"account has only {format_money(max(available, 0), currency)} available (balance plus credit "
                        f"limit of {format_money(white_label.credit_limit, currency)}). Choose a smaller plan or add funds "
                        "to your white-label account.",
                        "plan",
                    )
            else:
                available = customer_balance(customer)
                if quote.amount > available:
                    raise AccountProblem(
                        f"Changing to {plan.name} costs {format_money(quote.amount, currency)} now, but the balance is "
                        f"only {format_money(max(available, 0), currency)}. Top up first, or choose another plan.",
                        "plan",
                    )
        held = PhoneNumber.select().where(PhoneNumber.customer == customer.id).count()
        if held > plan.included_numbers:
            raise AccountProblem(
                f"{plan.name} includes {plan.included_numbers} number{'s' if plan.included_numbers != 1 else ''} "
                f"but the account has {held}. Release some first."
            )
        Customer.update(plan=plan).where(Customer.id == customer.id).execute()
        if quote.amount:
            LedgerEntry.create(
                white_label=white_label,
                account=payer,
                customer=customer,
                kind=LedgerEntry.DEBIT if quote.amount > 0 else LedgerEntry.CREDIT,
                amount=abs(quote.amount),
                currency=currency,
                reason=quote.ledger_reason(customer.business_name),
                created_by=actor,
            )
        audit(
            customer,
            actor,
            "plan_changed",
            old=quote.old_name if quote.old else "",
            new=plan.name,
            charged=quote.amount,
            payer=payer,
            days_left=quote.period.days_left,
            days=quote.period.days,
            period_start=quote.period.start.isoformat(),
        )
        return quote


# --- Status and hand-over ----------------------------------------------------------------


def set_status(customer: Customer, actor: User, *, suspend: bool, reason: str) -> None:
    """Suspend an active customer, or reactivate a suspended one, with a reason on record."""
    with db.atomic():
        wanted_from, to = (Customer.ACTIVE, Customer.SUSPENDED) if suspend else (Customer.SUSPENDED, Customer.ACTIVE)
        changed = (
            Customer.update(status=to).where((Customer.id == customer.id) & (Customer.status == wanted_from)).execute()
        )
        if not changed:
            raise AccountProblem("The customer's status changed meanwhile. Reload the page.")
        audit(customer, actor, "suspended" if suspend else "reactivated", reason=reason)
        emit_customer_event(CUSTOMER_STATUS_CHANGED, customer, previous_status=wanted_from)


def suspension_reason(customer: Customer) -> str:
    """The reason recorded when the customer was last suspended ("" when none was)."""
    event = (
        AuditEvent.select(AuditEvent.detail)
        .where((AuditEvent.customer == customer.id) & (AuditEvent.action == "suspended"))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .first()
    )
    try:
        detail = json.loads(event.detail) if event and event.detail else {}
    except ValueError:
        return ""
    reason = detail.get("reason") if isinstance(detail, dict) else None
    return reason.strip() if isinstance(reason, str) else ""


def hand_over(customer: Customer, actor: User) -> ActivationToken:
    """Send the contact an activation email; on activation the customer administers the account."""
    from ..activation.service import send_activation_link

    with db.atomic():
        token = send_activation_link(customer)
        audit(customer, actor, "hand_over_started", email=customer.contact_email)
        return token
