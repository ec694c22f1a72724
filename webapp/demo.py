"""Demo data for `make run` and the tests. Idempotent: running it twice changes nothing."""

from __future__ import annotations

import datetime as dt

from .auth.service import hash_password
from .extensions import db
from .models import Customer, PhoneNumber, Plan, User, WhiteLabel, WhiteLabelMembership
from .onboarding.options import CUSTOMER, WHITE_LABEL
from .tenancy import scoped

DEMO_LOGINS = [
    ("Demo Telecom administrator", "admin@demo.example.com", "demo-admin-password"),
    ("Demo Telecom staff", "staff@demo.example.com", "demo-staff-password"),
    ("Other Voice administrator", "admin@other.example.com", "other-admin-password"),
]

WHITE_LABELS = [
    {
        "slug": "demo-telecom",
        "name": "Demo Telecom",
        "display_name": "Demo Telecom",
        "accent_colour": "#0f766e",
        "support_email": "support@demo.example.com",
        "support_phone": "+6495550199",
        "payment_gateway": "sandbox",
        "country": "NZ",
        "currency": "NZD",
        "time_zone": "Pacific/Auckland",
        "credit_limit": 500_000,
    },
    {
        "slug": "other-voice",
        "name": "Other Voice",
        "display_name": "Other Voice",
        "accent_colour": "#7c3aed",
        "support_email": "help@other.example.com",
        "support_phone": "+61255550100",
        "payment_gateway": "none",
        "country": "AU",
        "currency": "AUD",
        "time_zone": "Australia/Sydney",
        "credit_limit": 200_000,
    },
]

PLANS = {
    "demo-telecom": [
        ("Starter", 2900, 2000, 1, 500),
        ("Business", 7900, 5000, 5, 500),
        ("Call Centre", 24900, 20000, 20, 400),
    ],
    "other-voice": [
        ("Solo", 1900, 2000, 1, 500),
        ("Team", 5900, 5000, 5, 500),
    ],
}

USERS = [
    ("demo-telecom", "admin@demo.example.com", "demo-admin-password", "Dana", "Admin", "administrator"),
    ("demo-telecom", "staff@demo.example.com", "demo-staff-password", "Sam", "Staff", "staff"),
    ("other-voice", "admin@other.example.com", "other-admin-password", "Olive", "Other", "administrator"),
]

# (business, first, last, email, plan, administered_by, status, days ago)
CUSTOMERS = {
    "demo-telecom": [
        (
            "Harbour Plumbing Ltd",
            "Aroha",
            "Ngata",
            "aroha@harbourplumbing.example.com",
            "Business",
            WHITE_LABEL.key,
            "active",
            40,
        ),
        ("Kauri Dental", "Ben", "Walsh", "ben@kauridental.example.com", "Starter", CUSTOMER.key, "active", 30),
        (
            "Rimu Accounting",
            "Chloe",
            "Tan",
            "chloe@rimuaccounting.example.com",
            "Business",
            CUSTOMER.key,
            "pending_activation",
            3,
        ),
        ("Tui Cafe", "Dev", "Patel", "dev@tuicafe.example.com", "Starter", CUSTOMER.key, "expired", 20),
        (
            "Pohutukawa Motors",
            "Emma",
            "Reid",
            "emma@pohutukawamotors.example.com",
            "Call Centre",
            WHITE_LABEL.key,
            "active",
            12,
        ),
        ("Kea Couriers", "Finn", "Roberts", "finn@keacouriers.example.com", "Starter", CUSTOMER.key, "cancelled", 8),
    ],
    "other-voice": [
        ("Wattle Legal", "Grace", "Kelly", "grace@wattlelegal.example.com", "Team", WHITE_LABEL.key, "active", 15),
    ],
}


def _numbers(slug: str) -> list[str]:
    if slug == "demo-telecom":
        return [f"+649555{n:04d}" for n in range(100, 125)]
    return [f"+61255551{n:02d}" for n in range(0, 10)]


def seed_demo(now: dt.datetime | None = None) -> None:
    """Create the demo white-labels, users, plans, numbers and customers where missing."""
    from .models import utcnow

    now = now or utcnow()
    with db.atomic():
        labels = {}
        for spec in WHITE_LABELS:
            label = WhiteLabel.get_or_none(WhiteLabel.slug == spec["slug"])
            if label is None:
                label = WhiteLabel.create(**spec)
            labels[spec["slug"]] = label

        plans = {}
        for slug, rows in PLANS.items():
            for order, (name, price, minimum, included, extra) in enumerate(rows):
                plan, _ = Plan.get_or_create(
                    white_label=labels[slug],
                    name=name,
                    defaults={
                        "monthly_price": price,
                        "min_opening_balance": minimum,
                        "included_numbers": included,
                        "extra_number_price": extra,
                        "sort_order": order,
                    },
                )
                plans[(slug, name)] = plan

        users = {}
        for slug, email, password, first, last, role in USERS:
            user = User.get_or_none(User.email == email)
            if user is None:
                user = User.create(email=email, password_hash=hash_password(password), first_name=first, last_name=last)
                WhiteLabelMembership.create(user=user, white_label=labels[slug], role=role)
            users[slug] = users.get(slug) or user

        for slug in labels:
            for number in _numbers(slug):
                if not PhoneNumber.select().where(PhoneNumber.number == number).exists():
                    PhoneNumber.create(white_label=labels[slug], number=number)

        for slug, rows in CUSTOMERS.items():
            label = labels[slug]
            for business, first, last, email, plan_name, by, status, days in rows:
                exists = scoped(Customer, of=label).where(Customer.contact_email == email).exists()
                if exists:
                    continue
                created = now - dt.timedelta(days=days)
                customer = Customer(
                    white_label=label,
                    business_name=business,
                    contact_first_name=first,
                    contact_last_name=last,
                    contact_email=email,
                    country=label.country,
                    service_country=label.country,
                    plan=plans[(slug, plan_name)],
                    administered_by=by,
                    status=status,
                    created_by=users[slug],
                    created_at=created,
                    activated_at=created + dt.timedelta(days=1) if status == "active" else None,
                )
                customer.refresh_search_text()
                customer.save()
