"""Import files for tests, browser tests and the bench: rows that pass the wizard's checks, and
the ways a row goes wrong."""

from __future__ import annotations

import csv
import io

from testkit.worker import start_worker, stop_worker  # noqa: F401 (the import tests start workers from here)
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
    # Zero-padded: a bare number could read as one of the suite's card security codes (conftest).
    return {
        **GOOD,
        "business_name": f"Business {index:05d} Ltd",
        "email": f"contact{index:05d}@import.example.com",
        **changes,
    }


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


def upload(client, data: bytes, option: str = "customer", filename: str = "customers.csv", check: bool = True):
    """Post a file to Customers > Import as the browser's form does, then (unless `check` is
    False) let the worker check its rows, as `flask outbox-worker` would, so the preview is there."""
    from testkit.wizard import post

    response = post(
        client,
        "/customers/import/",
        {"administered_by": option, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    if check and response.status_code == 303:
        check_uploads(client.application)
    return response


def check_uploads(app) -> int:
    """The worker's checks of every upload waiting for them (creates nothing); rows checked."""
    from webapp.extensions import db
    from webapp.imports.service import run_imports

    with app.app_context(), db.connection_context():
        return run_imports(budget_seconds=600, checks_only=True)


def receive_and_check(white_label, actor, data: bytes, filename: str, option):
    """An upload read and checked at once, as the upload and then the worker do (in an app context)."""
    from webapp.imports.service import receive_file, run_imports
    from webapp.models import CustomerImport

    job = receive_file(white_label, actor, io.BytesIO(data), filename, option)
    if not job.file_error:
        run_imports(budget_seconds=3600, checks_only=True)
    return CustomerImport.get_by_id(job.id)


def job_url(response) -> str:
    """The import page an upload redirected to."""
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]
