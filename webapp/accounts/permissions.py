"""Who may do what to a customer account, in one place.

An account is reached from two sides: the white-label's console (/customers/<id>/..., its staff
and administrators) and the customer's own pages (/account/<id>/..., the people in the account).
`Access` is one person's access to one account from one side; `can(action)` says whether they
may do it, and `require(action)` refuses with the reason. The rules depend on the side and role,
on who administers the account (its option: options.py) and on the account's status. Views ask
these, never the role or the option themselves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cached_property

from flask import abort
from flask_login import current_user

from ..errors import Refusal
from ..models import Customer, CustomerMembership, User, WhiteLabelMembership
from ..onboarding.options import option_of
from ..phones import display_phone
from ..security import acting_user, current_membership
from ..tenancy import get_scoped_or_404

WHITE_LABEL, CUSTOMER = "white_label", "customer"
RUNNING = (Customer.ACTIVE, Customer.SUSPENDED)  # accounts that exist and can be worked on
ARCHIVABLE = (Customer.CANCELLED, Customer.EXPIRED)  # accounts nobody is working on any more


class Action(enum.Enum):
    VIEW = "see the account"
    MANAGE_USERS = "add, invite and deactivate users"
    MANAGE_NUMBERS = "assign and release numbers"
    EDIT_PBX = "change PBX settings"
    CHANGE_PLAN = "change the plan"
    TOP_UP = "top up the balance"
    CHANGE_STATUS = "suspend or reactivate the account"
    HAND_OVER = "hand the account over to the customer"
    CANCEL_HAND_OVER = "cancel a hand-over the customer has not accepted"
    EDIT_DETAILS = "edit the contact, business and addresses"
    RESEND_ACTIVATION = "resend the activation email"
    CANCEL_ACTIVATION = "cancel a customer who has not activated"
    ARCHIVE = "archive or unarchive a cancelled or expired customer"
    VIEW_AS_CUSTOMER = "view the account as its Account Administrator sees it"


# What the white-label's staff may do (everything else is its administrators').
STAFF_ACTIONS = {Action.VIEW, Action.RESEND_ACTIVATION}
# What the account's people may do on their own pages, and which of it stops while it is suspended.
_CUSTOMER_ADMINISTRATOR = {
    Action.VIEW,
    Action.MANAGE_USERS,
    Action.MANAGE_NUMBERS,
    Action.EDIT_PBX,
    Action.CHANGE_PLAN,
    Action.TOP_UP,
}
OPEN_WHILE_SUSPENDED = {Action.VIEW, Action.TOP_UP}
# What the white-label's administrators may do for an account they administer.
_WHITE_LABEL_RUNS = {Action.MANAGE_USERS, Action.MANAGE_NUMBERS, Action.EDIT_PBX, Action.CHANGE_PLAN, Action.HAND_OVER}


@dataclass
class Access:
    """`user`'s access to `customer` from one `side` ("white_label" or "customer")."""

    customer: Customer
    user: User
    side: str
    role: str  # administrator or staff (white-label side); account_administrator or user (customer side)
    membership: CustomerMembership | None = None  # the customer side's own membership

    @cached_property
    def awaiting_activation(self) -> bool:
        """The customer was sent an activation link and has not activated (pending or expired)."""
        from ..activation.service import awaiting_activation

        return awaiting_activation(self.customer)

    @cached_property
    def hand_over_pending(self) -> bool:
        """The white-label handed the account over and the contact's link still works."""
        from ..activation.service import hand_over_pending

        return hand_over_pending(self.customer)

    @property
    def blueprint(self) -> str:
        """The blueprint of this side's pages (their view names are the same on both sides)."""
        return "manage" if self.side == WHITE_LABEL else "accounts"

    def can(self, action: Action) -> bool:
        return self.refusal(action) is None

    @property
    def may(self) -> dict[str, bool]:
        """Every action by name, for templates: `access.may.manage_users`."""
        return _Flags({action.name.lower(): self.can(action) for action in Action})

    def require(self, action: Action) -> None:
        """Go on, or refuse the request with the reason (403, or 409 for the account's state)."""
        refused = self.refusal(action)
        if refused is not None:
            raise Refusal(*refused)

    def refusal(self, action: Action) -> tuple | None:
        """None when `action` is allowed, else (status, title, detail) for the error page."""
        if self.side == WHITE_LABEL:
            return self._white_label_refusal(action)
        return self._customer_refusal(action)

    def _white_label_refusal(self, action: Action) -> tuple | None:
        status = self.customer.status
        if action is Action.VIEW:
            return None
        if action is Action.RESEND_ACTIVATION:
            # Staff too: sending a customer a working link is an everyday support task.
            return None if self.awaiting_activation else (409,)
        if self.role != WhiteLabelMembership.ADMINISTRATOR:
            return (403,)  # staff see, never change
        if action is Action.CHANGE_STATUS:
            return None if status in RUNNING else (409,)
        if action is Action.CANCEL_ACTIVATION:
            return None if self.awaiting_activation else (409,)
        if action is Action.ARCHIVE:
            if status in ARCHIVABLE or self.customer.archived_at is not None:
                return None
            return (409, "Only cancelled or expired customers can be archived", None)
        if action is Action.EDIT_DETAILS and (
            option_of(self.customer).white_label_administers or self.awaiting_activation
        ):
            return None
        if action is Action.EDIT_DETAILS and status not in RUNNING:
            return (409,)  # cancelled: nothing left to correct
        if action is Action.EDIT_DETAILS:
            return (
                403,
                "The customer administers this account",
                f"{self.customer.business_name} keeps their own details now that they have activated: "
                "you can change only the account's status.",
            )
        if action is Action.CANCEL_HAND_OVER:
            return None if self.hand_over_pending else (409, "No hand-over is waiting", None)
        if action is Action.VIEW_AS_CUSTOMER:
            # Support for accounts the customer runs; the white-label's own accounts are theirs to open.
            if option_of(self.customer).white_label_administers:
                return (
                    403,
                    "You administer this account",
                    f"{self.customer.business_name} is run by your white-label: its pages are already yours.",
                )
            return None if status in RUNNING else (409,)
        if action is Action.TOP_UP or not option_of(self.customer).white_label_administers:
            return (
                403,
                "The customer administers this account",
                f"{self.customer.business_name} runs their own account: you can see it and change its status.",
            )
        if status not in RUNNING or (action is Action.HAND_OVER and status != Customer.ACTIVE):
            return (409,)
        if action is Action.HAND_OVER and self.hand_over_pending:
            return (
                409,
                "A hand-over is already waiting",
                f"{self.customer.contact_email} has a working activation link. Cancel that hand-over first.",
            )
        return None if action in _WHITE_LABEL_RUNS else (403,)

    def _customer_refusal(self, action: Action) -> tuple | None:
        if action is Action.VIEW:
            return None
        if self.role != CustomerMembership.ACCOUNT_ADMINISTRATOR or action not in _CUSTOMER_ADMINISTRATOR:
            return (403,)
        if self.customer.status == Customer.SUSPENDED and action not in OPEN_WHILE_SUSPENDED:
            brand = self.customer.white_label
            phone = display_phone(brand.support_phone, brand.country)
            return (
                403,
                "This account is suspended",
                "Users, numbers, plan and PBX settings cannot be changed while the account is suspended. "
                f"Contact {brand.display_name} at {brand.support_email}" + (f" or {phone}" if phone else "") + ".",
            )
        return None


class _Flags(dict):
    __getattr__ = dict.__getitem__


def white_label_access(customer_id: int) -> Access:
    """The signed-in white-label member's access to one of their white-label's customers (another
    white-label's customer is a 404)."""
    customer = get_scoped_or_404(Customer, customer_id)
    return Access(customer, acting_user(), WHITE_LABEL, current_membership().role)


def customer_access(customer_id: int) -> Access:
    """The signed-in person's access to a customer account they are an active member of; any
    other account is a 404 (a customer's people never learn of other customers).

    While a white-label administrator views an account as the customer (webapp/support/), the
    customer's pages are that account's alone, seen as its Account Administrator sees them;
    nothing can be changed then (support refuses every write before any view runs)."""
    from ..support.service import current_view

    view = current_view()
    if view is not None:
        viewed = view.membership
        if view.customer_id != customer_id or viewed is None:
            abort(404)
        return Access(view.customer, acting_user(), CUSTOMER, viewed.role, viewed)
    membership = CustomerMembership.get_or_none(
        (CustomerMembership.user == current_user.id)
        & (CustomerMembership.customer == customer_id)
        & (CustomerMembership.active == True)  # noqa: E712
    )
    if membership is None:
        abort(404)
    return Access(Customer.get_by_id(customer_id), acting_user(), CUSTOMER, membership.role, membership)
