"""Hypothesis drives the import's CSV reader through the upload form (issue 17): arbitrary
bytes, huge fields, odd encodings, separators and quotes, formula-like cells. No upload gives a
500, the preview and report of whatever was read open, every report cell a spreadsheet could
run as a formula is quoted, and nothing is ever created from a file that was not confirmed."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import has_card_number, has_security_code, token_or_secret_in_text
from testkit.imports import upload
from webapp.extensions import db
from webapp.imports.columns import columns_for
from webapp.models import AuditEvent, Customer, LedgerEntry, OutboxEmail, PhoneNumber
from webapp.spreadsheets import FORMULA_STARTS

pytestmark = pytest.mark.slow  # fuzz: left out of `make test-fast`

FUZZ = settings(
    suppress_health_check=[*settings.default.suppress_health_check, HealthCheck.function_scoped_fixture],
)
NAMES = [c.name for c in columns_for(per_row=True)]
FORMULAS = [
    "=1+2",
    "+SUM(A1)",
    "-2+3",
    "@cmd",
    "\t=x",
    "\r=y",
    '=HYPERLINK("http://x.example","y")',
    "=cmd|' /C calc'!A0",
]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-32", "shift_jis"]

cell = st.one_of(
    st.text(max_size=40),
    st.sampled_from(FORMULAS),
    st.sampled_from(["", "yes", "no", "Starter", "NZ", "PO Box 1", "customer", "white_label", '"', '""', ";", ","]),
    st.integers(min_value=0, max_value=140_000).map(lambda n: "A" * n),  # huge: past csv's own field limit
)


@st.composite
def table(draw, option: str) -> bytes:
    """Mostly the template's own columns for the option (so rows get read and checked), sometimes
    shuffled, cut short or with a column no one knows."""
    names = [c.name for c in columns_for(per_row=option == "per_row")]
    header = draw(
        st.one_of(
            st.just(names),
            st.permutations(names),
            st.lists(st.sampled_from([*names, "colour", "", "Business Name", "\ufeffemail"]), min_size=1, max_size=12),
        )
    )
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 2), max_size=6))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, escapechar="\\")
    try:
        writer.writerow(header)
        writer.writerows(rows)
    except csv.Error:
        pass
    data = buffer.getvalue().encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    # Below the size at which Werkzeug's test client spools the body to a temporary file it
    # never closes; the limits themselves are tested in test_imports.py.
    return data[:480_000]


@st.composite
def upload_case(draw) -> tuple[bytes, str]:
    option = draw(st.sampled_from(["customer", "white_label", "per_row"]))
    data = draw(st.one_of(st.binary(max_size=3000), table(option)).filter(_no_card_data))
    return data, option


def _no_card_data(data: bytes) -> bool:
    """Nothing the scans would (rightly) flag once stored: card data, or a secret of the suite,
    which Hypothesis may draw from the literals of the project's modules (see test_fuzz._typable)."""
    text = data.decode("latin-1")
    return not (has_card_number(text) or has_security_code(text) or token_or_secret_in_text(text))


def _counts(app) -> tuple:
    with app.app_context(), db.connection_context():
        return (
            Customer.select().count(),
            OutboxEmail.select().count(),
            LedgerEntry.select().count(),
            PhoneNumber.select().where(PhoneNumber.customer.is_null(False)).count(),
            AuditEvent.select().where(AuditEvent.action == "customer_created").count(),
        )


def test_fuzz_the_csv_reader_never_fails_and_creates_nothing_unconfirmed(app, admin_client, record_figure):
    before = _counts(app)
    seen = {"uploads": 0, "previews": 0, "refused": 0, "formula cells": 0}

    @FUZZ
    @given(upload_case())
    def run(case):
        data, option = case
        response = upload(admin_client, data, option=option, filename="fuzz.csv")
        seen["uploads"] += 1
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        if response.status_code != 303:
            assert response.status_code in (413, 422)
            seen["refused"] += 1
            return
        url = response.headers["Location"]
        preview = admin_client.get(url)
        assert preview.status_code == 200
        seen["previews"] += 1
        report = admin_client.get(f"{url}/report.csv")
        assert report.status_code == 200
        for line in csv.reader(io.StringIO(report.get_data(as_text=True))):
            for value in line:
                if value[:1] == "'" and value[1:2] in FORMULA_STARTS:
                    seen["formula cells"] += 1
                assert not value.startswith(FORMULA_STARTS), value

    run()
    assert _counts(app) == before, "nothing is created from a file that was not confirmed"
    record_figure(
        "import fuzz",
        f"{seen['uploads']} uploads of arbitrary bytes and odd CSV: 0 server errors, {seen['refused']} refused "
        f"with a message, {seen['previews']} previewed, {seen['formula cells']} formula-like report cells quoted, "
        "nothing created",
    )
