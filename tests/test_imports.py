"""Customers > Import (issue 17): a CSV file checked by the wizard's rules, previewed, confirmed,
then created by the worker at most once per row, with a report safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re

from peewee import fn

from testkit.imports import bad_row, csv_bytes, good_row, job_url, upload
from testkit.wizard import post
from webapp.extensions import db
from webapp.imports.service import run_imports
from webapp.models import (
    AuditEvent,
    Customer,
    CustomerImport,
    CustomerImportRow,
    LedgerEntry,
    OutboxEmail,
    PhoneNumber,
    WhiteLabel,
)
from webapp.onboarding.options import CUSTOMER


def work(app) -> int:
    with app.app_context(), db.connection_context():
        return run_imports(budget_seconds=120)


def count(app, model, *where) -> int:
    with app.app_context():
        query = model.select()
        return (query.where(*where) if where else query).count()


def report(client, url: str) -> list[dict]:
    response = client.get(f"{url}/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_staff_may_not_import(staff_client):
    assert staff_client.get("/customers/import/").status_code == 403
    assert upload(staff_client, csv_bytes([good_row(1)])).status_code == 403


def test_the_import_page_explains_every_column_and_the_limits_and_offers_the_template(admin_client):
    page = admin_client.get("/customers/import/").get_data(as_text=True)
    assert "10,000 rows" in page and "5 MB" in page
    template = admin_client.get("/customers/import/template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    header = next(csv.reader(io.StringIO(template.get_data(as_text=True).lstrip("\ufeff"))))
    for name in header:
        assert f"<code>{name}</code>" in page


def test_a_file_is_checked_and_previewed_and_nothing_is_created_until_confirmed(app, admin_client, smtp):
    customers_before = count(app, Customer)
    rows = [good_row(1), good_row(2), bad_row(0)[0], good_row(4, email="CONTACT00001@import.example.com")]
    url = job_url(upload(admin_client, csv_bytes(rows)))
    page = admin_client.get(url).get_data(as_text=True)
    assert "Check the import" in page
    assert re.search(r"<strong>2</strong> ready to create", page)
    assert re.search(r"<strong>2</strong> with problems", page)
    assert "Row 4" in page and "Enter an email address in the right format" in page
    assert "Row 5" in page and "Row 2 of this file has the same contact email" in page
    assert count(app, Customer) == customers_before and count(app, OutboxEmail) == 0

    response = post(admin_client, f"{url}/confirm")
    assert response.status_code == 303
    assert "Creating customers" in admin_client.get(url).get_data(as_text=True)
    assert work(app) == 2
    assert count(app, Customer) == customers_before + 2
    emails = count(app, OutboxEmail, OutboxEmail.kind == "activation")
    assert emails == 2
    page = admin_client.get(url).get_data(as_text=True)
    assert "Import finished" in page and "<strong>2</strong> customers created" in page
    lines = report(admin_client, url)
    assert [line["result"] for line in lines] == ["created", "created", "not created", "not created"]
    assert lines[0]["customer_link"].startswith("https://onboarding.example.com/customers/")
    assert "email:" in lines[2]["reason"]


def test_confirming_twice_creates_each_row_once(app, admin_client, smtp):
    url = job_url(upload(admin_client, csv_bytes([good_row(1), good_row(2)])))
    post(admin_client, f"{url}/confirm")
    post(admin_client, f"{url}/confirm")
    work(app)
    work(app)
    assert count(app, Customer, Customer.contact_email.startswith("contact")) == 2
    assert count(app, AuditEvent, AuditEvent.action == "customer_import_confirmed") == 1


def test_a_refused_file_says_why_on_the_upload_page(app, admin_client):
    response = upload(admin_client, b"name,colour\nA,blue\n")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<title>Error: " in page and "columns this import does not know" in page
    assert count(app, CustomerImport) == 0


def test_too_many_rows_or_bytes_are_refused_with_the_limit(app, admin_client):
    app.config["IMPORT_MAX_ROWS"] = 3
    response = upload(admin_client, csv_bytes([good_row(i) for i in range(4)]))
    assert response.status_code == 422 and "more than 3 rows" in response.get_data(as_text=True)
    app.config["IMPORT_MAX_BYTES"] = 1000
    response = upload(admin_client, csv_bytes([good_row(i) for i in range(3)]) + b" " * 1000)
    assert response.status_code == 422 and "larger than 0.001 MB" in response.get_data(as_text=True)
    response = upload(admin_client, b"x" * 200_000)  # beyond even the request's limit
    assert response.status_code == 413 and "larger than 0.001 MB" in response.get_data(as_text=True)
    assert count(app, Customer, Customer.contact_email.startswith("contact")) == 0


def test_windows_1252_and_semicolons_and_a_byte_order_mark_are_read(app, admin_client):
    row = good_row(1, business_name="Café Zoë Ltd", first_name="Zoë")
    for data in (
        csv_bytes([row], delimiter=";", encoding="cp1252"),
        b"\xef\xbb\xbf" + csv_bytes([row]),
    ):
        url = job_url(upload(admin_client, data))
        with app.app_context():
            stored = CustomerImportRow.get(CustomerImportRow.job == int(url.rsplit("/", 1)[1]))
            assert stored.status == CustomerImportRow.READY, stored.errors
            assert stored.cells["business_name"] == "Café Zoë Ltd"


def test_a_file_neither_utf8_nor_windows_1252_is_refused_with_words_not_a_500(app, admin_client):
    """UTF-8 up to its last byte, which starts a character that never ends: not UTF-8. Nor is it
    Windows-1252, where 0x9D (inside the UTF-8 of "”") means nothing. The encoding check only
    tried Windows-1252 on the chunks read after UTF-8 had failed, and UTF-8's failure here shows
    only at the end, so Windows-1252 was chosen untried and reading the file raised: a 500 (the
    import fuzz found it, on PostgreSQL's run)."""
    header = csv_bytes([])  # the column names
    for data in (
        header + b"\xe2\x80\x9dMatai\xe2",  # one chunk: UTF-8's failure shows at the end
        header + b"\xe2\x80\x9d" * 30_000 + b"\xff",  # 0x9D in the first chunk, 0xFF in a later one
    ):
        response = upload(admin_client, data, check=False)
        assert response.status_code == 422, response.status_code
        assert "The file is not text this import can read." in response.get_data(as_text=True)
    assert count(app, CustomerImport, CustomerImport.status != CustomerImport.DISCARDED) == 0


def test_white_label_rows_claim_numbers_once_in_the_file_and_their_charges_fit_the_credit(app, admin_client, smtp):
    with app.app_context():
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        free = [
            n.number
            for n in PhoneNumber.select()
            .where((PhoneNumber.white_label == demo) & PhoneNumber.customer.is_null())
            .order_by(PhoneNumber.number)
            .limit(2)
        ]
    rows = [
        good_row(1, authorized="yes", plan="Business", numbers=free[0]),
        good_row(2, authorized="yes", plan="Business", numbers=free[0]),
        good_row(3, authorized="no", plan="Business", numbers=free[1]),
    ]
    url = job_url(upload(admin_client, csv_bytes(rows), option="white_label"))
    page = admin_client.get(url).get_data(as_text=True)
    assert "is already in row 2 of this file" in page
    assert "Confirm that this person is authorized" in page
    post(admin_client, f"{url}/confirm")
    work(app)
    with app.app_context():
        customer = Customer.get(Customer.contact_email == "contact00001@import.example.com")
        assert customer.status == Customer.ACTIVE
        assert PhoneNumber.get(PhoneNumber.number == free[0]).customer_id == customer.id
        assert LedgerEntry.select().where(LedgerEntry.customer == customer.id).count() == 1


def test_a_file_whose_charges_exceed_the_credit_cannot_be_confirmed(app, admin_client):
    with app.app_context():
        WhiteLabel.update(credit_limit=10_000).where(WhiteLabel.slug == "demo-telecom").execute()
    rows = [good_row(i, authorized="yes", plan="Starter") for i in range(20)]
    url = job_url(upload(admin_client, csv_bytes(rows), option="white_label"))
    page = admin_client.get(url).get_data(as_text=True)
    assert "Not enough credit for this file" in page and "/confirm" not in page
    assert post(admin_client, f"{url}/confirm").status_code == 303
    assert count(app, CustomerImport, CustomerImport.status == CustomerImport.QUEUED) == 0
    assert count(app, Customer, Customer.contact_email.startswith("contact")) == 0


def test_cancel_keeps_what_is_done_and_skips_the_rest(app, admin_client, smtp):
    url = job_url(upload(admin_client, csv_bytes([good_row(i) for i in range(5)])))
    post(admin_client, f"{url}/confirm")
    job_id = int(url.rsplit("/", 1)[1])
    with app.app_context(), db.connection_context():
        from webapp.imports.checks import FileChecks
        from webapp.imports.service import create_row
        from webapp.models import User

        job = CustomerImport.get_by_id(job_id)
        first = (
            CustomerImportRow.select().where(CustomerImportRow.job == job_id).order_by(CustomerImportRow.line).first()
        )
        create_row(job, first, FileChecks(job.white_label, CUSTOMER), User.get_by_id(job.created_by_id))
    post(admin_client, f"{url}/cancel")
    work(app)
    assert count(app, Customer, Customer.contact_email.startswith("contact")) == 1
    page = admin_client.get(url).get_data(as_text=True)
    assert "Import cancelled" in page
    assert [line["result"] for line in report(admin_client, url)] == ["created"] + ["not created"] * 4


def test_the_report_is_safe_to_open_in_a_spreadsheet(app, admin_client):
    rows = [good_row(1, business_name='=HYPERLINK("http://evil.example","x")', email="=1+2")]
    url = job_url(upload(admin_client, csv_bytes(rows)))
    line = report(admin_client, url)[0]
    assert line["business_name"].startswith("'=") and line["email"] == "'=1+2"


def test_another_white_labels_import_is_not_found(app, admin_client, other_admin_client):
    url = job_url(upload(admin_client, csv_bytes([good_row(1)])))
    assert other_admin_client.get(url).status_code == 404
    assert post(other_admin_client, f"{url}/confirm").status_code == 404
    assert other_admin_client.get(f"{url}/report.csv").status_code == 404


def test_the_poll_that_finds_the_import_finished_announces_it(app, admin_client, smtp):
    url = job_url(upload(admin_client, csv_bytes([good_row(1)])))
    post(admin_client, f"{url}/confirm")
    polled = admin_client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in polled and "<html" not in polled
    plain = admin_client.get(url).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in plain  # without JavaScript, inside <noscript>
    work(app)
    polled = admin_client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "every 2s" not in polled and 'hx-swap-oob="innerHTML"' in polled
    assert "Import finished: 1 created, 0 not created." in polled


def test_a_nul_character_in_the_column_names_or_the_file_name_is_refused_not_a_500(app, admin_client):
    # Found by tests/test_fuzz_imports.py on PostgreSQL, which cannot store a NUL: the refusal
    # quoted the unknown column's name, and the job row that keeps it could not be saved.
    response = upload(admin_client, b"business_name,col\x00umn\nAcme,1\n", filename="cust\x00omers.csv")
    assert response.status_code == 422
    assert "col" in response.get_data(as_text=True)
    assert count(app, CustomerImport) == 0


# --- Checking in the worker -------------------------------------------------------------------
#
# Checking a row runs the wizard's forms (about 100 rows a second on a busy machine): a file near
# the 10,000-row limit would outlast gunicorn's 30 s timeout if the upload's request checked it,
# and the administrator would see a 502. The upload only reads the file; the worker checks it.


def _job_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def _statuses(app, job_id: int) -> list[str]:
    with app.app_context():
        rows = CustomerImportRow.select().where(CustomerImportRow.job == job_id).order_by(CustomerImportRow.line)
        return [row.status for row in rows]


def test_the_upload_only_reads_the_file_and_the_worker_checks_its_rows(app, admin_client):
    from testkit.imports import check_uploads

    rows = [good_row(1), bad_row(0)[0], good_row(3)]
    url = job_url(upload(admin_client, csv_bytes(rows), check=False))
    assert _statuses(app, _job_id(url)) == ["unchecked"] * 3
    page = admin_client.get(url).get_data(as_text=True)
    assert '<h1 data-focus-heading tabindex="-1">Checking the file</h1>' in page
    assert "0 of 3 rows checked" in page and '<progress id="import-progress" max="3" value="0">' in page
    assert 'hx-trigger="every 2s"' in page and '<meta http-equiv="refresh" content="3">' in page
    assert "/confirm" not in page  # nothing to confirm before every row is checked
    assert post(admin_client, f"{url}/confirm").status_code == 303
    with app.app_context():
        assert CustomerImport.get_by_id(_job_id(url)).status == CustomerImport.TO_CHECK

    assert check_uploads(app) == 3
    assert _statuses(app, _job_id(url)) == ["ready", "bad", "ready"]
    polled = admin_client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "every 2s" not in polled and "Check the import" in polled
    assert "File checked: 2 rows ready, 1 with problems." in polled  # said to screen readers
    assert re.search(r"<strong>2</strong> ready to create", polled)


def test_checking_in_turns_still_finds_an_email_given_twice_in_the_file(app, admin_client, monkeypatch):
    """A turn ends (time is up, or the worker stops) between batches; the next turn goes on from
    the first unchecked row and still knows which emails the rows before it hold."""
    import threading

    from webapp.imports import service

    monkeypatch.setattr(service, "CHECK_BATCH", 2)
    stop = threading.Event()
    checked = []
    real_check_row = service.check_row

    def check_row_then_stop_after_two(checks, cells, errors, line):
        checked.append(line)
        if len(checked) == 2:
            stop.set()  # the worker is told to stop (SIGTERM) after the second row
        return real_check_row(checks, cells, errors, line)

    monkeypatch.setattr(service, "check_row", check_row_then_stop_after_two)
    rows = [good_row(1), good_row(2), good_row(3), good_row(4, email="CONTACT00001@import.example.com")]
    url = job_url(upload(admin_client, csv_bytes(rows), check=False))
    with app.app_context(), db.connection_context():
        assert service.run_imports(stop=stop, budget_seconds=60, checks_only=True) == 2
        assert CustomerImport.get_by_id(_job_id(url)).status == CustomerImport.TO_CHECK
    assert _statuses(app, _job_id(url)) == ["ready", "ready", "unchecked", "unchecked"]
    assert "2 of 4 rows checked" in admin_client.get(url).get_data(as_text=True)

    with app.app_context(), db.connection_context():
        assert service.run_imports(budget_seconds=60, checks_only=True) == 2  # a fresh turn
    assert checked == [2, 3, 4, 5]  # each row checked once
    assert _statuses(app, _job_id(url)) == ["ready", "ready", "ready", "bad"]
    page = admin_client.get(url).get_data(as_text=True)
    assert "Row 5" in page and "Row 2 of this file has the same contact email" in page


def test_a_worker_whose_claim_was_taken_over_writes_none_of_its_checks(app, admin_client, monkeypatch):
    from webapp.imports import service

    real_check_row = service.check_row

    def check_row_while_another_worker_takes_over(checks, cells, errors, line):
        # Meanwhile this worker's lease ran out and another took the job over (a new attempt).
        CustomerImport.update(attempts=CustomerImport.attempts + 1).execute()
        return real_check_row(checks, cells, errors, line)

    monkeypatch.setattr(service, "check_row", check_row_while_another_worker_takes_over)
    url = job_url(upload(admin_client, csv_bytes([good_row(1), bad_row(0)[0]]), check=False))
    with app.app_context(), db.connection_context():
        assert service.run_imports(budget_seconds=60, checks_only=True) == 0
        job = CustomerImport.get_by_id(_job_id(url))
        assert (job.status, job.bad_rows) == (CustomerImport.CHECKING, 0)  # the other worker's to finish
    assert _statuses(app, _job_id(url)) == ["unchecked", "unchecked"]


def test_stopping_the_checks_or_uploading_another_file_creates_nothing(app, admin_client):
    from testkit.imports import check_uploads

    first = job_url(upload(admin_client, csv_bytes([good_row(1), good_row(2)]), check=False))
    response = post(admin_client, f"{first}/cancel")
    assert response.status_code == 303
    page = admin_client.get(first).get_data(as_text=True)
    assert "Checking stopped. Nothing was created from this file." in page and "Import cancelled" in page
    assert _statuses(app, _job_id(first)) == ["skipped", "skipped"]

    second = job_url(upload(admin_client, csv_bytes([good_row(3)]), check=False))
    third = job_url(upload(admin_client, csv_bytes([good_row(4), good_row(5)]), check=False))  # replaces the second
    assert admin_client.get(second).status_code == 404
    assert check_uploads(app) == 2
    assert _statuses(app, _job_id(third)) == ["ready", "ready"]
    assert count(app, Customer, Customer.contact_email.startswith("contact")) == 0


def test_a_file_still_being_read_says_how_many_rows_are_in_not_a_count_of_checks(app, admin_client):
    """While a large file is being read (its rows stored a batch at a time), its page, opened
    from another tab, says how many rows are in so far: the file's total is not known yet, so
    "n of N rows checked" would read "-2 of 0"."""
    url = job_url(upload(admin_client, csv_bytes([good_row(i) for i in range(3)]), check=False))
    job_id = _job_id(url)
    with app.app_context():
        # The file as it is half-way through being read: two rows stored, no total yet.
        CustomerImport.update(status=CustomerImport.READING, total_rows=0).where(CustomerImport.id == job_id).execute()
        CustomerImportRow.delete().where(
            (CustomerImportRow.job == job_id)
            & (
                CustomerImportRow.line
                == CustomerImportRow.select(fn.MAX(CustomerImportRow.line)).where(CustomerImportRow.job == job_id)
            )
        ).execute()
    page = admin_client.get(url).get_data(as_text=True)
    assert "reading the file, 2 rows so far." in page
    assert "rows checked" not in page and not re.search(r"-\d+ of \d+ rows", page)
    assert '<progress id="import-progress">Reading the file</progress>' in page  # no value: still going
    assert 'hx-trigger="every 2s"' in page  # it updates itself until the file is in
    with app.app_context():
        CustomerImport.update(status=CustomerImport.TO_CHECK, total_rows=2).where(CustomerImport.id == job_id).execute()
    assert "0 of 2 rows checked" in admin_client.get(url).get_data(as_text=True)


def test_a_worker_never_checks_a_file_whose_rows_are_still_being_stored(app, admin_client, monkeypatch):
    """Rows are stored a batch per transaction; a worker turn between two batches must not check
    the rows so far and call the file checked while the rest are still arriving."""
    from testkit.imports import check_uploads
    from webapp.imports import service

    monkeypatch.setattr(service, "BATCH", 2)
    real_store = service._store
    seen_by_a_worker_meanwhile = []

    def store_then_let_a_worker_run(batch):
        real_store(batch)
        seen_by_a_worker_meanwhile.append(service.run_imports(budget_seconds=60, checks_only=True))

    monkeypatch.setattr(service, "_store", store_then_let_a_worker_run)
    url = job_url(upload(admin_client, csv_bytes([good_row(i) for i in range(5)]), check=False))
    assert seen_by_a_worker_meanwhile and set(seen_by_a_worker_meanwhile) == {0}
    with app.app_context():
        assert CustomerImport.get_by_id(_job_id(url)).status == CustomerImport.TO_CHECK
    assert check_uploads(app) == 5
    assert _statuses(app, _job_id(url)) == ["ready"] * 5
