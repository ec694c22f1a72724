"""Changing a customer after creation: its details (contact, business, addresses) and whether
it is archived. No request handling here; who may do it is accounts/permissions.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..activation.service import awaiting_activation, hand_over_pending, resend
from ..audit import audit
from ..database import locked
from ..extensions import db
from ..models import Customer, User, utcnow
from ..onboarding.service import customer_details

if TYPE_CHECKING:
    from ..onboarding.forms import AddressForm, ContactForm

# How the history names each detail that can change (the keys are Customer's columns).
DETAIL_LABELS = {
    "business_name": "Business name",
    "trading_name": "Trading name",
    "business_number": "Business number",
    "contact_first_name": "Contact first name",
    "contact_last_name": "Contact last name",
    "contact_email": "Contact email",
    "contact_phone": "Contact phone",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "city": "City",
    "region": "Region",
    "postcode": "Postcode",
    "country": "Country",
    "service_same_as_address": "Service address same as address",
    "service_line1": "Service address line 1",
    "service_line2": "Service address line 2",
    "service_city": "Service city",
    "service_region": "Service region",
    "service_postcode": "Service postcode",
    "service_country": "Service country",
}


def edit_details(customer: Customer, actor: User, contact: ContactForm, address: AddressForm) -> dict[str, tuple]:
    """Save the customer's details from the (validated) contact and address forms the wizard
    uses; returns what changed ({column: (old, new)}), which the history records. A new contact
    email for a customer who has not activated (or a pending hand-over) gets a new link, and the
    link sent to the old address stops working."""
    values = customer_details(contact, address)
    with db.atomic():
        current = locked(Customer.select().where(Customer.id == customer.id)).get()
        changes = {
            name: (getattr(current, name), value) for name, value in values.items() if getattr(current, name) != value
        }
        if not changes:
            return {}
        for name, (_, value) in changes.items():
            setattr(current, name, value)
        current.refresh_search_text()
        current.save(only=[*(Customer._meta.fields[name] for name in changes), Customer.search_text])
        audit(
            current.white_label_id,
            "customer_edited",
            customer=current,
            actor=actor,
            changes={name: [old, new] for name, (old, new) in changes.items()},
        )
        if "contact_email" in changes and (awaiting_activation(current) or hand_over_pending(current)):
            resend(current, actor)
    return changes


def set_archived(customer: Customer, actor: User, archived: bool) -> bool:
    """Archive a cancelled or expired customer (it leaves the list; nothing is deleted), or
    bring an archived one back. Returns False when there was nothing to do."""
    with db.atomic():
        if archived:
            changed = (
                Customer.update(archived_at=utcnow())
                .where(
                    (Customer.id == customer.id)
                    & Customer.archived_at.is_null()
                    & Customer.status.in_([Customer.CANCELLED, Customer.EXPIRED])
                )
                .execute()
            )
        else:
            changed = (
                Customer.update(archived_at=None)
                .where((Customer.id == customer.id) & Customer.archived_at.is_null(False))
                .execute()
            )
        if changed:
            audit(
                customer.white_label_id,
                "customer_archived" if archived else "customer_unarchived",
                customer=customer,
                actor=actor,
            )
    return bool(changed)
