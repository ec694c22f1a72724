"""A customer who administers their own account runs it (issue 15, section 1): its Account
Administrators choose numbers with the wizard's picker (the plan's included numbers free, more
charged to the balance), release them, set the caller ID, and change plan, paid from the balance.
The white-label sees all of it and still acts only on the status."""

from __future__ import annotations

import re

import pytest

from testkit.activation import create_pending_customer, submit_activation
from testkit.wizard import PBX, plan_id, post
from webapp.ledger import customer_balance, white_label_balance
from webapp.models import AuditEvent, Customer, CustomerMembership, LedgerEntry, PbxSettings, PhoneNumber, Plan

# Business: 5 numbers included, NZ$5.00 a month for each one more (webapp/demo.py). The account is
# activated today, so its billing month starts today and an extra number costs the whole NZ$5.00.
BUSINESS_NUMBERS = [f"+6495550{n}" for n in range(110, 115)]


@pytest.fixture
def account(smtp, app, admin_client):
    """A customer activated by its contact with NZ$75.00: (customer id, the contact's client)."""
    customer_id, token = create_pending_customer(app, admin_client, smtp)
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    return customer_id, contact


def numbers_of(app, customer_id) -> list[str]:
    with app.app_context():
        return sorted(n.number for n in PhoneNumber.select().where(PhoneNumber.customer == customer_id))


def balance(app, customer_id) -> int:
    with app.app_context():
        return customer_balance(Customer.get_by_id(customer_id))


def choose(client, customer_id, numbers, follow_redirects=False, **fields):
    return post(
        client,
        f"/account/{customer_id}/numbers",
        {"numbers": list(numbers), **fields},
        follow_redirects=follow_redirects,
    )


def test_the_account_page_offers_numbers_and_plan_to_its_administrator(app, account):
    customer_id, contact = account
    html = contact.get("/account/").get_data(as_text=True)
    assert "Choose numbers" in html and "Change plan" in html
    assert "Ask Demo Telecom to add one" not in html
    page = contact.get(f"/account/{customer_id}/numbers").get_data(as_text=True)
    assert "Choose phone numbers" in page
    assert "The Business plan includes 5 numbers and the account has none, so 5 more are included." in page
    assert "Each number after that costs NZ$5.00 a month" in page
    assert "09 555 0110" in page and 'name="filter"' in page


def test_numbers_the_plan_includes_are_free(app, account):
    customer_id, contact = account
    response = choose(contact, customer_id, ["+6495550110", "+6495550111"], follow_redirects=True)
    assert "09 555 0110, 09 555 0111 are now yours. Nothing was charged" in response.get_data(as_text=True)
    assert numbers_of(app, customer_id) == ["+6495550110", "+6495550111"]
    assert balance(app, customer_id) == 7500
    with app.app_context():
        events = [e.action for e in AuditEvent.select().where(AuditEvent.customer == customer_id)]
    assert events.count("number_assigned") == 2


def test_numbers_beyond_the_plan_are_charged_to_the_balance(app, account):
    customer_id, contact = account
    response = choose(contact, customer_id, [*BUSINESS_NUMBERS, "+6495550115"], follow_redirects=True)
    assert "NZ$5.00 was charged to your balance" in response.get_data(as_text=True)
    assert len(numbers_of(app, customer_id)) == 6
    assert balance(app, customer_id) == 7000
    with app.app_context():
        charge = (
            LedgerEntry.select()
            .where((LedgerEntry.customer == customer_id) & (LedgerEntry.kind == LedgerEntry.DEBIT))
            .get()
        )
        assert charge.account == LedgerEntry.CUSTOMER and charge.amount == 500
        assert charge.reason.startswith("Extra numbers for Matai Joinery Ltd: 1 number beyond the plan")
    # A seventh is beyond the plan too: another NZ$5.00.
    choose(contact, customer_id, ["+6495550116"])
    assert balance(app, customer_id) == 6500


def test_numbers_the_balance_cannot_pay_for_are_refused_and_nothing_changes(app, account):
    customer_id, contact = account
    with app.app_context():
        customer = Customer.get_by_id(customer_id)
        LedgerEntry.create(
            white_label=customer.white_label_id,
            account=LedgerEntry.CUSTOMER,
            customer=customer,
            kind=LedgerEntry.DEBIT,
            amount=7200,
            currency="NZD",
            reason="Calls",
        )
    response = choose(contact, customer_id, [*BUSINESS_NUMBERS, "+6495550115"])
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(
        r"1 of these numbers goes beyond your plan and costs NZ\$5\.00 for the \d+ days left of this billing month, "
        r"but your balance is only NZ\$3\.00\. Top up first, or choose fewer numbers\.",
        html,
    )
    assert "<title>Error: " in html
    assert html.count("checked") >= 6  # what was chosen is kept
    assert numbers_of(app, customer_id) == []
    assert balance(app, customer_id) == 300


def test_a_plan_without_an_extra_number_price_offers_only_its_own(app, account):
    customer_id, contact = account
    with app.app_context():
        Plan.update(extra_number_price=0).where(Plan.name == "Business").execute()
    response = choose(contact, customer_id, [*BUSINESS_NUMBERS, "+6495550115"])
    assert response.status_code == 422
    assert "The Business plan includes 5 numbers and offers none beyond them" in response.get_data(as_text=True)
    assert numbers_of(app, customer_id) == []


def test_the_filter_works_with_and_without_javascript(app, account):
    customer_id, contact = account
    fragment = post(contact, f"/account/{customer_id}/numbers/choices", {"filter": "0112"}, htmx=True)
    text = fragment.get_data(as_text=True)
    assert "09 555 0112" in text and "09 555 0110" not in text
    # JavaScript off: the Filter button shows the page again, filtered, keeping the ticks.
    page = choose(contact, customer_id, ["+6495550120"], filter="0112", action="refresh")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "09 555 0112" in html and "09 555 0120" in html and "09 555 0110" not in html
    assert numbers_of(app, customer_id) == []


def test_a_number_posted_twice_is_chosen_and_charged_once(app, account):
    customer_id, contact = account
    response = choose(contact, customer_id, [*BUSINESS_NUMBERS, "+6495550115", "+6495550115"])
    assert response.status_code == 303
    assert len(numbers_of(app, customer_id)) == 6
    assert balance(app, customer_id) == 7000


def test_a_number_taken_meanwhile_is_refused(app, account, admin_client):
    customer_id, contact = account
    with app.app_context():
        other = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
        PhoneNumber.update(customer=other).where(PhoneNumber.number == "+6495550111").execute()
    response = choose(contact, customer_id, ["+6495550110", "+6495550111"])
    assert response.status_code == 422
    assert "09 555 0111 is no longer available" in response.get_data(as_text=True)
    assert numbers_of(app, customer_id) == []


def test_release_a_number_and_the_caller_id_goes_with_it(app, account):
    customer_id, contact = account
    choose(contact, customer_id, ["+6495550110", "+6495550111"])
    response = post(contact, f"/account/{customer_id}/pbx", {**PBX, "default_caller_id": "+6495550111"})
    assert response.status_code == 303
    html = contact.get("/account/").get_data(as_text=True)
    assert "(default caller ID)" in html
    with app.app_context():
        assert PbxSettings.get(PbxSettings.customer == customer_id).default_caller_id == "+6495550111"
        number = PhoneNumber.get(PhoneNumber.number == "+6495550111")
    response = post(contact, f"/account/{customer_id}/numbers/{number.id}/release", follow_redirects=True)
    assert "09 555 0111 has been released" in response.get_data(as_text=True)
    assert numbers_of(app, customer_id) == ["+6495550110"]
    with app.app_context():
        assert PbxSettings.get(PbxSettings.customer == customer_id).default_caller_id == ""
        assert PhoneNumber.get_by_id(number.id).customer_id is None


def test_the_customer_changes_plan_paid_from_the_balance(app, account):
    customer_id, contact = account
    with app.app_context():
        white_label_before = white_label_balance(Customer.get_by_id(customer_id).white_label)
    page = contact.get(f"/account/{customer_id}/plan").get_data(as_text=True)
    assert "is charged to your balance" in page and "white-label account" not in page
    assert "Your balance is NZ$75.00." in page
    assert "5 numbers included; more at NZ$5.00 a month each." in page
    response = post(contact, f"/account/{customer_id}/plan", {"plan": plan_id(app, "Starter")}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Your account is now on Starter. NZ$50.00 was credited to your balance" in html
    assert balance(app, customer_id) == 12500
    response = post(contact, f"/account/{customer_id}/plan", {"plan": plan_id(app, "Call Centre")})
    assert response.status_code == 422
    assert "Changing to Call Centre costs NZ$220.00 now, but the balance is only NZ$125.00" in response.get_data(
        as_text=True
    )
    with app.app_context():
        customer = Customer.get_by_id(customer_id)
        assert customer.plan.name == "Starter"
        assert white_label_balance(customer.white_label) == white_label_before


def test_the_white_label_sees_it_all_and_still_only_changes_the_status(app, account, admin_client):
    customer_id, contact = account
    choose(contact, customer_id, ["+6495550110"])
    html = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "09 555 0110" in html
    assert re.search(r"Number assigned: 09 555 0110 by Hana Kereama", html)
    assert "Release" not in html and "Change plan" not in html
    with app.app_context():
        number = PhoneNumber.get(PhoneNumber.number == "+6495550110")
        free = PhoneNumber.get(PhoneNumber.number == "+6495550120")
    for url, data in [
        (f"/customers/{customer_id}/numbers", {"number": free.id}),
        (f"/customers/{customer_id}/numbers/{number.id}/release", {}),
        (f"/customers/{customer_id}/plan", {"plan": plan_id(app, "Starter")}),
        (f"/customers/{customer_id}/pbx", PBX),
    ]:
        assert post(admin_client, url, data).status_code == 403, url
    assert numbers_of(app, customer_id) == ["+6495550110"]
    response = post(admin_client, f"/customers/{customer_id}/status", {"reason": "Unpaid invoice"})
    assert response.status_code == 303
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.SUSPENDED
    # Suspended: the customer's own changes stop too.
    assert choose(contact, customer_id, ["+6495550111"]).status_code == 403
    assert contact.get(f"/account/{customer_id}/plan").status_code == 403


def test_a_plain_user_cannot_choose_numbers_or_change_plan(app, account):
    customer_id, contact = account
    with app.app_context():
        CustomerMembership.update(role=CustomerMembership.USER).where(
            CustomerMembership.customer == customer_id
        ).execute()
    assert contact.get(f"/account/{customer_id}/numbers").status_code == 403
    assert choose(contact, customer_id, ["+6495550110"]).status_code == 403
    assert contact.get(f"/account/{customer_id}/plan").status_code == 403
    assert "Choose numbers" not in contact.get("/account/").get_data(as_text=True)


def test_two_choices_at_once_never_spend_more_than_the_balance(app, account, monkeypatch, record_figure):
    import threading

    from testkit.client import csrf_token, sign_in
    from testkit.races import Overlap
    from webapp.accounts import service

    customer_id, contact = account
    choose(contact, customer_id, BUSINESS_NUMBERS)  # the 5 the plan includes
    with app.app_context():
        Plan.update(extra_number_price=5000).where(Plan.name == "Business").execute()
    race = Overlap("choose_numbers()")
    race.patch(monkeypatch, service, "choose_numbers")
    clients = [app.test_client(), app.test_client()]
    for c in clients:
        sign_in(c, "hana@matai-joinery.example.com", "kowhai-harbour-lantern-88")
    tokens = [csrf_token(c) for c in clients]
    statuses = [None, None]

    def run(i, number):
        response = clients[i].post(
            f"/account/{customer_id}/numbers", data={"numbers": [number], "csrf_token": tokens[i]}
        )
        statuses[i] = response.status_code

    threads = [threading.Thread(target=run, args=(i, n)) for i, n in enumerate(["+6495550116", "+6495550117"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    together = race.assert_overlapped()
    assert sorted(statuses) == [303, 422]
    assert len(numbers_of(app, customer_id)) == 6
    assert balance(app, customer_id) == 2500  # NZ$75.00 less one extra number's NZ$50.00
    record_figure(
        "concurrency (a customer's balance, two choices of numbers)",
        f"both inside choose_numbers() at once ({together:.0f} ms together): one charged, the other refused",
    )
