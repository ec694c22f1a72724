"""Starting, finding and ending a support view (see __init__.py). No request handling here
except `current_view`, which reads the signed-in session."""

from __future__ import annotations

import datetime as dt

from flask import g, has_request_context, session
from flask_login import current_user

from ..audit import audit
from ..extensions import db
from ..models import Customer, CustomerMembership, SupportView, User, utcnow

VIEW_MINUTES = 15
SESSION_KEY = "support_view"
# What may still be posted while viewing: ending the view, and signing out (which ends it too).
ALLOWED_WHILE_VIEWING = {"support.stop", "auth.logout"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class CannotView(Exception):
    """The account cannot be viewed as the customer now; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def account_administrator(customer: Customer) -> CustomerMembership | None:
    """Whose view support sees: the account's first active Account Administrator."""
    return (
        CustomerMembership.select(CustomerMembership, User)
        .join(User)
        .where(
            (CustomerMembership.customer == customer.id)
            & (CustomerMembership.role == CustomerMembership.ACCOUNT_ADMINISTRATOR)
            & (CustomerMembership.active == True)  # noqa: E712
        )
        .order_by(CustomerMembership.id)
        .first()
    )


def start_view(customer: Customer, viewer: User, reason: str) -> SupportView:
    """Open a read-only view of `customer`'s account for `viewer`, for VIEW_MINUTES, and put who,
    when and why in the customer's history. Raises CannotView when nobody administers it yet."""
    membership = account_administrator(customer)
    if membership is None:
        raise CannotView(
            f"Nobody administers {customer.business_name}’s account yet (it has not been activated), "
            "so there is nothing to see as its Account Administrator."
        )
    now = utcnow()
    with db.atomic():
        view = SupportView.create(
            white_label=customer.white_label_id,
            customer=customer,
            viewer=viewer,
            membership=membership,
            reason=reason,
            started_at=now,
            expires_at=now + dt.timedelta(minutes=VIEW_MINUTES),
        )
        audit(
            customer.white_label_id,
            "viewed_as_customer",
            customer=customer,
            actor=viewer,
            reason=reason,
            as_user=membership.user.email,
            minutes=VIEW_MINUTES,
        )
    return view


def end_view(view: SupportView, how: str, at: dt.datetime | None = None) -> bool:
    """End a live view ("stopped", "expired", "signed out") and record it in the history; False
    when it had already ended (another tab stopped it)."""
    ended_at = at or utcnow()
    with db.atomic():
        ended = (
            SupportView.update(ended_at=ended_at, ended_how=how)
            .where((SupportView.id == view.id) & SupportView.ended_at.is_null())
            .execute()
        )
        if ended:
            audit(
                view.white_label_id,
                "stopped_viewing_as_customer",
                customer=view.customer_id,
                actor=view.viewer_id,
                how=how,
            )
    return bool(ended)


def current_view() -> SupportView | None:
    """The signed-in person's live view (cached for the request), or None. A view whose time ran
    out is ended here, the first time a request notices."""
    if not has_request_context():
        return None
    if "support_view" in g:
        return g.support_view
    g.support_view = None
    view_id = session.get(SESSION_KEY)
    if view_id is None:
        return None
    if not current_user.is_authenticated:
        # Signed out, or a request that never reads the session's sign-in (the API): no view here,
        # and the session is left as it is.
        return None
    view = (
        SupportView.select(SupportView, Customer)
        .join(Customer)
        .where((SupportView.id == view_id) & (SupportView.viewer == current_user.id))
        .first()
    )
    if view is None or view.ended_at is not None:
        session.pop(SESSION_KEY, None)
        return None
    if view.expires_at <= utcnow():
        end_view(view, "expired", at=view.expires_at)
        session.pop(SESSION_KEY, None)
        g.support_view_expired = view
        return None
    g.support_view = view
    return view
