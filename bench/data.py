"""Generate many customers fast, with bulk inserts, for the list and search benchmarks.

    python -m bench.data --database-url sqlite:///instance/big.sqlite3 --white-label demo-telecom --count 100000

The rows look like the real ones (business, contact, email, plan, status, search text), are
deterministic for a seed, and are written in one transaction with the driver's bulk load (executemany on SQLite, COPY
on PostgreSQL).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import time

from webapp.database import is_sqlite
from webapp.extensions import db
from webapp.models import Customer, Plan, WhiteLabel, WhiteLabelMembership, utcnow
from webapp.onboarding.options import CUSTOMER, WHITE_LABEL

PLACES = [
    "harbour",
    "kauri",
    "rimu",
    "tui",
    "pohutukawa",
    "kea",
    "totara",
    "matai",
    "kowhai",
    "manuka",
    "ponga",
    "nikau",
    "rata",
    "miro",
    "puriri",
    "tawa",
    "karaka",
    "titoki",
    "horoeka",
    "kahikatea",
    "southern",
    "northern",
    "coastal",
    "summit",
    "valley",
    "river",
    "ridge",
    "island",
    "lakeside",
    "city",
    "metro",
    "capital",
    "central",
    "eastern",
    "western",
    "alpine",
    "pacific",
    "tasman",
    "coral",
    "golden",
    "silver",
    "copper",
    "iron",
    "stone",
    "cedar",
    "maple",
    "willow",
    "oak",
    "pine",
    "birch",
    "ash",
    "elm",
    "hazel",
    "juniper",
    "laurel",
    "myrtle",
    "olive",
]
TRADES = [
    "plumbing",
    "dental",
    "accounting",
    "cafe",
    "motors",
    "couriers",
    "joinery",
    "legal",
    "electrical",
    "roofing",
    "painting",
    "bakery",
    "florist",
    "fitness",
    "physio",
    "optometry",
    "veterinary",
    "pharmacy",
    "bookkeeping",
    "consulting",
    "design",
    "architecture",
    "engineering",
    "landscaping",
    "cleaning",
    "security",
    "catering",
    "brewing",
    "printing",
    "signage",
    "glazing",
    "tiling",
    "flooring",
    "plastering",
    "scaffolding",
    "surveying",
    "valuation",
    "insurance",
    "mortgages",
    "realty",
    "storage",
    "logistics",
    "freight",
    "towing",
    "marine",
    "aviation",
    "media",
    "recruitment",
    "tutoring",
    "childcare",
]
KINDS = ["Ltd", "Limited", "Group", "Co", "& Sons", "Partners", "Services", "Studio"]
FIRST = [
    "aroha",
    "ben",
    "chloe",
    "dev",
    "emma",
    "finn",
    "grace",
    "hana",
    "isla",
    "jack",
    "kiri",
    "liam",
    "mia",
    "noah",
    "olivia",
    "paora",
    "quinn",
    "ruby",
    "sam",
    "tama",
    "uma",
    "victor",
    "wiremu",
    "xavier",
    "yasmin",
    "zoe",
    "amelia",
    "charlotte",
    "harper",
    "oliver",
    "lucas",
    "mason",
    "leo",
    "hunter",
    "george",
    "arlo",
    "levi",
    "theo",
]
LAST = [
    "ngata",
    "walsh",
    "tan",
    "patel",
    "reid",
    "roberts",
    "kelly",
    "kereama",
    "smith",
    "brown",
    "wilson",
    "taylor",
    "anderson",
    "thomas",
    "white",
    "harris",
    "martin",
    "thompson",
    "young",
    "walker",
    "wright",
    "clark",
    "king",
    "scott",
    "green",
    "baker",
    "adams",
    "nelson",
    "hill",
    "campbell",
    "mitchell",
    "parata",
    "tane",
    "moana",
    "rangi",
]
STATUSES = [Customer.ACTIVE] * 6 + [Customer.PENDING] * 2 + [Customer.CANCELLED, Customer.EXPIRED]

# Every column but the id: the database has no defaults of its own (peewee fills them in).
FIELDS = [field for field in Customer._meta.sorted_fields if field.name != "id"]
DEFAULTS = {f.name: (f.default() if callable(f.default) else f.default) for f in FIELDS}


def email_token(index: int) -> str:
    """The unique part of generated customer `index`'s email, which a search can look for."""
    return f"{LAST[(index * 7919) % len(LAST)]}{index:06d}"


def phone_token(index: int) -> str:
    """Generated customer `index`'s contact phone as a person types it (national format)."""
    return f"021 {index:07d}"


def customer_rows(
    white_label: WhiteLabel, count: int, *, start: int = 0, seed: int = 0, newest: dt.datetime | None = None
) -> list[tuple]:
    """`count` customer rows for `white_label`, one a minute going back from `newest`."""
    plans = [p.id for p in Plan.select(Plan.id).where(Plan.white_label == white_label.id)]
    creator = (
        WhiteLabelMembership.select(WhiteLabelMembership.user)
        .where(WhiteLabelMembership.white_label == white_label.id)
        .scalar()
    )
    newest = newest or utcnow() - dt.timedelta(days=60)  # older than anything the demo has
    rng = random.Random(f"{seed}:{start}")
    rows = []
    for index in range(start, start + count):
        place, trade, kind = rng.choice(PLACES), rng.choice(TRADES), rng.choice(KINDS)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        business = f"{place.title()} {trade.title()} {kind}"
        email = f"{first}.{email_token(index)}@{place}{trade}.example.com"
        status = rng.choice(STATUSES)
        created = newest - dt.timedelta(minutes=index)
        search_text = f"{business} {first} {last} {email}".lower()
        values = {
            "white_label": white_label.id,
            "business_name": business,
            "contact_first_name": first.title(),
            "contact_last_name": last.title(),
            "contact_email": email,
            "contact_phone": f"+6421{index:07d}",  # phone_token(index), stored as E.164
            "country": white_label.country,
            "service_country": white_label.country,
            "plan": rng.choice(plans) if plans else None,
            "administered_by": CUSTOMER.key if rng.random() < 0.6 else WHITE_LABEL.key,
            "status": status,
            "created_by": creator,
            "created_at": created,
            "activated_at": created + dt.timedelta(days=1) if status == Customer.ACTIVE else None,
            "search_text": search_text,
        }
        rows.append(tuple(values[f.name] if f.name in values else DEFAULTS[f.name] for f in FIELDS))
    return rows


def _insert(rows: list[tuple]) -> None:
    """Bulk-insert through the driver (peewee's per-value query building is the slow part)."""
    columns = ", ".join(f'"{field.column_name}"' for field in FIELDS)
    cursor = db.cursor()
    if is_sqlite():
        # Stored as peewee stores them: "YYYY-MM-DD HH:MM:SS.ffffff".
        rows = [tuple(str(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows]
        placeholders = ", ".join("?" * len(FIELDS))
        cursor.executemany(f'INSERT INTO "customer" ({columns}) VALUES ({placeholders})', rows)
    else:
        # COPY is PostgreSQL's bulk load: several times faster than multi-row INSERTs.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerows([r"\N" if v is None else v for v in row] for row in rows)
        buffer.seek(0)
        cursor.copy_expert(f"COPY \"customer\" ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


def generate(white_label: WhiteLabel, count: int, *, start: int = 0, seed: int = 0) -> float:
    """Insert `count` generated customers for `white_label`; returns the seconds it took."""
    began = time.perf_counter()
    with db.atomic():
        for offset in range(0, count, 10_000):
            _insert(customer_rows(white_label, min(10_000, count - offset), start=start + offset, seed=seed))
    if not is_sqlite():
        # What autovacuum would do shortly after a bulk load; the planner needs the statistics.
        db.execute_sql("ANALYZE customer")
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--white-label", default="demo-telecom", help="slug")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--start", type=int, default=0, help="first index (to add more later)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from webapp.database import open_database

    db.initialize(open_database(args.database_url))
    with db.connection_context():
        label = WhiteLabel.get(WhiteLabel.slug == args.white_label)
        seconds = generate(label, args.count, start=args.start, seed=args.seed)
    print(f"Inserted {args.count} customers into {label.name} in {seconds:.1f}s")


if __name__ == "__main__":
    main()
