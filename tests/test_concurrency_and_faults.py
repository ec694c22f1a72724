"""Concurrency (issue 6, check 4) and faults (check 5) for creating customers.

Races run in threads against a live, threaded werkzeug server on whichever database the suite
uses (SQLite by default, PostgreSQL with DATABASE_URL): CI runs both. Each race holds its
requests at a barrier on the way into the service function they contend in (race_helpers.py),
so every round is a real overlap, not two requests that happened to run one after the other.
"""

from __future__ import annotations

import http.client
import threading
import time

import pytest
from peewee import OperationalError
from werkzeug.serving import make_server

import webapp.mail
import webapp.onboarding.routes
from conftest import CaughtMail, csrf_token
from testkit.races import Overlap
from testkit.wizard import complete_customer_option, complete_white_label_option, post
from webapp.extensions import db
from webapp.mail import deliver_due
from webapp.models import (
    ActivationToken,
    AuditEvent,
    Customer,
    CustomerDraft,
    CustomerMembership,
    LedgerEntry,
    OutboxEmail,
    PbxSettings,
    PhoneNumber,
)

pytestmark = pytest.mark.slow  # races against a live server and faults: left out of `make test-fast`

ROUNDS = 5


@pytest.fixture
def live(app):
    """The test's app on a real threaded HTTP server; yields its port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=5)


def simultaneously(*calls):
    """Run the calls in threads released together; returns their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def submitter(port: int, client, path: str):
    """A function posting `path` over HTTP with `client`'s session and CSRF token (as htmx would not)."""
    cookie = client.get_cookie("session").value
    token = csrf_token(client)

    def submit():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request(
            "POST",
            path,
            body="",
            headers={
                "Cookie": f"session={cookie}",
                "X-CSRFToken": token,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        body = response.read().decode()
        connection.close()
        return response.status, response.getheader("Location") or "", body

    return submit


def count(app, model, *where) -> int:
    with app.app_context():
        query = model.select()
        return (query.where(*where) if where else query).count()


@pytest.mark.parametrize("option", ["customer", "white_label"])
def test_two_simultaneous_submits_of_one_draft_create_one_customer(
    app, admin_client, live, smtp, option, record_figure, monkeypatch
):
    together = []  # per race: ms both submits were inside submit() together
    for round_ in range(ROUNDS):
        name = f"Race {option} {round_} Ltd"
        email = f"race-{option}-{round_}@example.com"
        if option == "customer":
            base = complete_customer_option(admin_client, app, business_name=name, email=email)
        else:
            base = complete_white_label_option(
                admin_client, app, business_name=name, email=email, numbers=[f"+649555{105 + round_:04d}"]
            )
        race = Overlap(f"submit() of {base}")
        race.patch(monkeypatch, webapp.onboarding.routes, "submit")
        submit = submitter(live, admin_client, f"{base}/review")
        results = simultaneously(submit, submit)
        monkeypatch.undo()
        together.append(race.assert_overlapped())
        with app.app_context():
            customer = Customer.get(Customer.business_name == name)
            assert Customer.select().where(Customer.business_name == name).count() == 1
        # Both were inside submit() together: each person sees the done page of the one customer.
        for status, location, body in results:
            assert status == 303, (status, body[:300])
            assert location.endswith(f"{base}/done"), location
        with app.app_context():
            if option == "customer":
                assert OutboxEmail.select().where(OutboxEmail.customer == customer).count() == 1
                assert ActivationToken.select().where(ActivationToken.customer == customer).count() == 1
            else:
                assert LedgerEntry.select().where(LedgerEntry.customer == customer).count() == 1
                assert CustomerMembership.select().where(CustomerMembership.customer == customer).count() == 1
                assert [n.number for n in customer.phone_numbers] == [f"+649555{105 + round_:04d}"]
    workers = ""
    if option == "customer":
        # Two outbox workers at once still send each email exactly once: both are held where they
        # claim their first row, so they claim against each other.
        def worker():
            with app.app_context(), db.connection_context():
                return deliver_due()

        race = Overlap("the outbox workers' first claims")
        race.patch(monkeypatch, webapp.mail, "_claim")
        assert sum(simultaneously(worker, worker)) == ROUNDS
        monkeypatch.undo()
        race.assert_overlapped()
        smtp.wait_for(ROUNDS)
        time.sleep(0.3)
        assert len(smtp.messages) == ROUNDS
        workers = f"; two outbox workers claiming at once: {ROUNDS} emails, each sent once"
    record_figure(
        f"concurrency (double submit, {option})",
        f"{ROUNDS} races of two submits, in each both inside submit() at once "
        f"(together {min(together):.0f}-{max(together):.0f} ms): 1 customer each{workers}",
    )


def test_two_drafts_racing_for_one_number_give_it_to_one_customer(app, admin_client, live, record_figure, monkeypatch):
    wins = losses = 0
    for round_ in range(ROUNDS):
        number = f"+649555{120 + round_:04d}"
        bases = [
            complete_white_label_option(
                admin_client,
                app,
                business_name=f"Number race {round_}{side}",
                email=f"number-race-{round_}{side}@example.com",
                numbers=[number],
            )
            for side in "ab"
        ]
        race = Overlap(f"submit() of two drafts for {number}")
        race.patch(monkeypatch, webapp.onboarding.routes, "submit")
        results = simultaneously(*(submitter(live, admin_client, f"{base}/review") for base in bases))
        monkeypatch.undo()
        race.assert_overlapped()
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [303, 422], [(s, b[:300]) for s, _, b in results]
        loser = next(body for status, _, body in results if status == 422)
        assert "is no longer available" in loser
        with app.app_context():
            owners = [
                c.business_name
                for c in Customer.select().where(Customer.business_name.startswith(f"Number race {round_}"))
            ]
            assert len(owners) == 1
            winner = Customer.get(Customer.business_name == owners[0])
            assert PhoneNumber.get(PhoneNumber.number == number).customer_id == winner.id
            assert LedgerEntry.select().where(LedgerEntry.customer == winner).count() == 1
            assert (
                LedgerEntry.select()
                .join(Customer)
                .where(Customer.business_name.startswith(f"Number race {round_}"))
                .count()
                == 1
            )
            unsubmitted = CustomerDraft.select().where(
                CustomerDraft.customer.is_null() & CustomerDraft.key.in_([b.rsplit("/", 1)[1] for b in bases])
            )
            assert [d.submitted_at for d in unsubmitted] == [None]  # the loser can choose another number
        wins, losses = wins + 1, losses + 1
    record_figure(
        "concurrency (one number, two drafts)",
        f"{ROUNDS} races, in each both submits inside submit() at once: {wins} assigned once, "
        f"{losses} sent back to choose again",
    )


def test_mail_server_down_during_create_keeps_the_customer_and_sends_once_when_back(
    app, admin_client, mail_port, record_figure
):
    # Nothing listens on MAIL_PORT: the SMTP server is down.
    base = complete_customer_option(admin_client, app, business_name="Mail Outage Ltd")
    response = post(admin_client, f"{base}/review")
    assert response.status_code == 303
    with app.app_context():
        customer = Customer.get(Customer.business_name == "Mail Outage Ltd")
        assert customer.status == Customer.PENDING
        assert deliver_due() == 0
        email = OutboxEmail.get(OutboxEmail.customer == customer)
        assert (email.status, email.attempts) == (OutboxEmail.QUEUED, 1)
        assert email.last_error
    server = CaughtMail(port=mail_port)
    server.start()
    try:
        with app.app_context():
            assert deliver_due() == 1
            server.wait_for(1)
            assert deliver_due() == 0
            time.sleep(0.3)
            assert len(server.messages) == 1
            assert server.messages[0]["To"] == "hana@matai-joinery.example.com"
            email = OutboxEmail.get(OutboxEmail.customer == customer)
            assert (email.status, email.attempts) == (OutboxEmail.SENT, 2)
    finally:
        server.stop()
    record_figure(
        "faults (mail down during create)", "customer kept, email queued, 1 delivery after the server returned"
    )


WRITES = [Customer, LedgerEntry, CustomerMembership, PbxSettings, OutboxEmail, ActivationToken, AuditEvent]


@pytest.mark.parametrize("option", ["customer", "white_label"])
@pytest.mark.parametrize("htmx", [False, True])
def test_database_failing_mid_submit_leaves_nothing_half_written(
    app, admin_client, monkeypatch, option, htmx, caplog, record_figure
):
    if option == "customer":
        base = complete_customer_option(admin_client, app)
    else:
        base = complete_white_label_option(admin_client, app, numbers=["+6495550100"])
    before = {model.__name__: count(app, model) for model in WRITES}

    def failing_create(*args, **kwargs):
        raise OperationalError("disk I/O error")  # what SQLite says when the disk goes away

    # The audit event is written last inside submit()'s transaction, after everything else.
    monkeypatch.setattr(AuditEvent, "create", failing_create)
    response = post(admin_client, f"{base}/review", htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in html
    assert "disk I/O error" not in html and "Traceback" not in html
    assert ("<html" in html) != htmx
    assert {model.__name__: count(app, model) for model in WRITES} == before
    with app.app_context():
        draft = CustomerDraft.get(CustomerDraft.key == base.rsplit("/", 1)[1])
        assert draft.submitted_at is None and draft.customer_id is None
        assert PhoneNumber.get(PhoneNumber.number == "+6495550100").customer_id is None
    assert "disk I/O error" in caplog.text
    # When the database is back, the same draft goes through once.
    monkeypatch.undo()
    assert post(admin_client, f"{base}/review").status_code == 303
    assert count(app, Customer, Customer.business_name == "Matai Joinery Ltd") == 1
    record_figure(
        "faults (database error mid-submit)",
        "both options, page and htmx: branded 500, nothing written, the retry created 1 customer",
    )


def test_a_step_saved_from_a_stale_draft_does_not_reopen_a_submitted_one(app, admin_client, smtp):
    """A step answered in one tab while another tab creates the customer: the late save must not
    write the draft's old, empty customer and submitted_at back over the submitted ones."""
    from webapp.onboarding.wizard import Wizard

    base = complete_customer_option(admin_client, app, business_name="Stale Tab Ltd", email="stale@example.com")
    key = base.rsplit("/", 1)[-1]
    with app.app_context(), db.connection_context():
        stale = CustomerDraft.get(CustomerDraft.key == key)  # the other tab read it before the submit
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context(), db.connection_context():
        wizard = Wizard(stale.white_label, stale)
        wizard.save(wizard.step("contact"), {"business_name": "Changed Too Late Ltd"}, valid=True)
        row = CustomerDraft.get(CustomerDraft.key == key)
        customer = Customer.get(Customer.business_name == "Stale Tab Ltd")
        assert row.customer_id == customer.id and row.submitted_at is not None
        assert row.data["contact"]["values"]["business_name"] != "Changed Too Late Ltd"
    # Opening the draft again still leads to the customer, not back into the wizard.
    response = admin_client.get(f"{base}/contact")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/customers/{customer.id}")
