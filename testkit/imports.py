"""Import files for tests, browser tests and the bench: rows that pass the wizard's checks, and
the ways a row goes wrong."""

from __future__ import annotations

import csv
import io

from webapp.imports.columns import columns_for

GOOD = {
    "business_name": "Matai Joinery Ltd",
    "first_name": "Hana",
    "last_name": "Kereama",
    "phone": "021 123 4567",
    "address_line1": "12 Totara Street",
    "city": "Wellington",
    "postcode": "6011",
    "country": "NZ",
    "plan": "Starter",
}

# How a row goes wrong, and the column the preview names for it.
BAD = [
    ({"email": "not-an-email"}, "email"),
    ({"postcode": "!!"}, "postcode"),
    ({"address_line1": "PO Box 123"}, "address_line1"),
    ({"plan": "Platinum Deluxe"}, "plan"),
    ({"phone": "12"}, "phone"),
    ({"business_name": ""}, "business_name"),
]


def good_row(index: int, **changes) -> dict:
    return {**GOOD, "business_name": f"Business {index} Ltd", "email": f"contact{index}@import.example.com", **changes}


def bad_row(index: int) -> tuple[dict, str]:
    """A row with one mistake (they take turns), and the column it is in."""
    change, column = BAD[index % len(BAD)]
    return good_row(index, **change), column


def csv_bytes(rows: list[dict], *, per_row: bool = False, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    """The rows as a file with every column of the template, in the given encoding."""
    names = [c.name for c in columns_for(per_row)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, delimiter=delimiter, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def mixed_file(count: int, bad_every: int = 20) -> tuple[bytes, dict[int, str]]:
    """`count` rows, every `bad_every`th one bad (5% by default); returns the file and
    {row number in the file: column of its mistake}."""
    rows, bad = [], {}
    for index in range(count):
        if index % bad_every == bad_every - 1:
            row, column = bad_row(index // bad_every)
            bad[index + 2] = column
        else:
            row = good_row(index)
        rows.append(row)
    return csv_bytes(rows), bad
