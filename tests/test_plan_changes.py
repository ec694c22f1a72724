"""Plan changes are prorated once per billing month, say what they cost before they are made,
and two at once never spend more than the white-label's credit."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ADMIN, csrf_token, sign_in
from testkit.wizard import complete_white_label_option, plan_id, post
from webapp.ledger import white_label_balance
from webapp.models import AuditEvent, Customer, LedgerEntry, WhiteLabel

# Demo Telecom (Pacific/Auckland, NZDT is UTC+13 in November): Starter NZ$29, Business NZ$79,
# Call Centre NZ$249. Activated 00:30 on 5 November New Zealand time, which is still
# 4 November in UTC: the billing month is 5 November to 4 December, 30 days.
ACTIVATED = dt.datetime(2026, 11, 4, 11, 30)
# 14:00 on 10 November in New Zealand: 25 of the month's 30 days are left, today included.
MID_MONTH = dt.datetime(2026, 11, 10, 1, 0)
FIRST_DAY = dt.datetime(2026, 11, 4, 23, 0)  # 12:00 on 5 November in New Zealand
# prorate(price) = price * 25 / 30, half up: Starter 2416.67 -> 2417, Business 6583.33 -> 6583,
# Call Centre 20750.
STARTER_25, BUSINESS_25, CALL_CENTRE_25 = 2417, 6583, 20750


@pytest.fixture
def clock(monkeypatch):
    """Set what time the billing code thinks it is (stored times keep the real clock)."""
    import webapp.models

    def set_to(moment: dt.datetime):
        monkeypatch.setattr(webapp.models, "utcnow", lambda: moment)

    return set_to


def _new_managed(app, admin_client, plan: str, **contact) -> int:
    base = complete_white_label_option(admin_client, app, plan=plan, **contact)
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        customer = Customer.select().order_by(Customer.id.desc()).get()
        Customer.update(activated_at=ACTIVATED).where(Customer.id == customer.id).execute()
        return customer.id


@pytest.fixture
def starter(app, admin_client):
    """A white-label-administered customer on Starter, activated at ACTIVATED: its id."""
    return _new_managed(app, admin_client, "Starter")


@pytest.fixture
def business(app, admin_client):
    """Another one, on Business."""
    return _new_managed(
        app,
        admin_client,
        "Business",
        business_name="Rata Builders Ltd",
        trading_name="Rata Builders",
        email="ops@rata-builders.example.com",
    )


def wl_entries(app, customer_id) -> list[tuple[str, int, str]]:
    """The white-label ledger's lines for a customer: (kind, amount, reason), oldest first."""
    with app.app_context():
        return [
            (e.kind, e.amount, e.reason)
            for e in LedgerEntry.select()
            .where((LedgerEntry.customer == customer_id) & (LedgerEntry.account == LedgerEntry.WHITE_LABEL))
            .order_by(LedgerEntry.id)
        ]


def wl_total(app, customer_id) -> int:
    """What the white-label has paid for this customer (debits less credits)."""
    return sum(amount if kind == "debit" else -amount for kind, amount, _ in wl_entries(app, customer_id))


def plan_events(app, customer_id) -> list[AuditEvent]:
    with app.app_context():
        return list(
            AuditEvent.select()
            .where((AuditEvent.customer == customer_id) & (AuditEvent.action == "plan_changed"))
            .order_by(AuditEvent.id)
        )


def change(admin_client, app, customer_id, plan: str, **extra):
    return post(admin_client, f"/customers/{customer_id}/plan", {"plan": plan_id(app, plan), **extra})


# --- Charged once, prorated --------------------------------------------------------------


def test_an_upgrade_mid_month_charges_the_difference_for_the_days_left(app, admin_client, starter, clock):
    clock(MID_MONTH)
    response = change(admin_client, app, starter, "Business")
    assert response.status_code == 303
    assert wl_entries(app, starter)[1:] == [
        (
            "debit",
            BUSINESS_25 - STARTER_25,
            "Plan change for Matai Joinery Ltd: Starter to Business, 25 of 30 days from 10 Nov 2026",
        )
    ]
    [event] = plan_events(app, starter)
    assert '"old": "Starter"' in event.detail and '"new": "Business"' in event.detail
    page = admin_client.get(f"/customers/{starter}").get_data(as_text=True)
    assert "NZ$41.66 was charged to your white-label account for the 25 days left of this billing month" in page
    assert "Plan changed from Starter to Business" in page  # the history says from which to which


def test_a_downgrade_mid_month_credits_the_difference_for_the_days_left(app, admin_client, business, clock):
    clock(MID_MONTH)
    assert change(admin_client, app, business, "Starter").status_code == 303
    assert wl_entries(app, business)[1:] == [
        (
            "credit",
            BUSINESS_25 - STARTER_25,
            "Plan change for Rata Builders Ltd: Business to Starter, 25 of 30 days from 10 Nov 2026",
        )
    ]
    with app.app_context():
        assert Customer.get_by_id(business).plan.name == "Starter"
    page = admin_client.get(f"/customers/{business}").get_data(as_text=True)
    assert "NZ$41.66 was credited to your white-label account" in page


@pytest.mark.parametrize(
    "moment,final_month",
    [
        (FIRST_DAY, 7900),  # on the month's first day: a whole month of Business
        (MID_MONTH, 2900 - STARTER_25 + BUSINESS_25),  # Starter for 5 days, then Business for 25
    ],
)
def test_flip_flopping_in_a_month_costs_what_the_final_plan_costs(
    app, admin_client, starter, clock, moment, final_month
):
    clock(moment)
    for plan in ["Business", "Starter", "Business"]:
        assert change(admin_client, app, starter, plan).status_code == 303
    assert wl_total(app, starter) == final_month
    assert [e.detail.count('"old": "Starter"') for e in plan_events(app, starter)] == [1, 0, 1]
    # ... and back to where it started: the first month only.
    assert change(admin_client, app, starter, "Starter").status_code == 303
    assert wl_total(app, starter) == 2900


def test_choosing_the_current_plan_changes_nothing(app, admin_client, business, clock):
    clock(MID_MONTH)
    before = (wl_entries(app, business), len(plan_events(app, business)))
    response = change(admin_client, app, business, "Business")
    assert response.status_code == 303
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Rata Builders Ltd is already on Business: nothing changed." in page
    assert (wl_entries(app, business), len(plan_events(app, business))) == before


def test_the_page_says_what_each_plan_will_charge_or_credit_before_confirming(
    app, admin_client, starter, business, clock
):
    clock(MID_MONTH)
    page = admin_client.get(f"/customers/{starter}/plan").get_data(as_text=True)
    assert (
        "Business costs NZ$50.00 more a month: NZ$41.66 for the 25 days left of this billing month "
        "(NZ$65.83 for Business less NZ$24.17 for Starter) is charged to your white-label account."
    ) in page
    assert "Call Centre costs NZ$220.00 more a month: NZ$183.33 for the 25 days left" in page
    assert "This billing month runs from 5 Nov to 4 Dec 2026: 25 of its 30 days are left, today included." in page
    page = admin_client.get(f"/customers/{business}/plan").get_data(as_text=True)
    assert (
        "Starter costs NZ$50.00 less a month: NZ$41.66 for the 25 days left of this billing month "
        "(NZ$65.83 for Business less NZ$24.17 for Starter) is credited to your white-label account."
    ) in page
    assert wl_total(app, starter) == 2900  # looking charges nothing


def test_an_upgrade_beyond_the_available_credit_is_refused_with_its_prorated_cost(app, admin_client, starter, clock):
    clock(MID_MONTH)
    with app.app_context():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        # NZ$40.00 available: the whole NZ$50.00 difference would not fit, and neither does NZ$41.66.
        WhiteLabel.update(credit_limit=4000 - white_label_balance(label)).where(WhiteLabel.id == label.id).execute()
    response = change(admin_client, app, starter, "Business")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Changing to Business costs NZ$41.66 now, but your white-label account has only NZ$40.00 available" in html
    assert wl_total(app, starter) == 2900


def test_a_quote_that_is_out_of_date_is_shown_again_before_anything_is_charged(app, admin_client, starter, clock):
    clock(MID_MONTH)
    page = admin_client.get(f"/customers/{starter}/plan").get_data(as_text=True)
    hidden = dict(re.findall(r'name="(from_plan|billing_day)" type="hidden" value="([^"]*)"', page))
    assert set(hidden) == {"from_plan", "billing_day"}
    clock(MID_MONTH + dt.timedelta(days=1))  # the page stayed open past midnight
    response = change(admin_client, app, starter, "Business", **hidden)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The amounts changed since the page was opened" in html and "for the 24 days left" in html
    assert wl_total(app, starter) == 2900
    hidden = dict(re.findall(r'name="(from_plan|billing_day)" type="hidden" value="([^"]*)"', html))
    assert change(admin_client, app, starter, "Business", **hidden).status_code == 303
    assert wl_total(app, starter) == 2900 + round(7900 * 24 / 30) - round(2900 * 24 / 30)


@pytest.mark.parametrize(
    "hidden",
    [
        {"from_plan": "²", "billing_day": "2026-11-10"},
        {"from_plan": "9" * 30, "billing_day": ""},
        {"from_plan": "", "billing_day": "2026-02-30"},
        {"billing_day": "x"},
    ],
)
def test_a_broken_quote_is_out_of_date_never_a_500(app, admin_client, starter, clock, hidden):
    clock(MID_MONTH)
    response = change(admin_client, app, starter, "Business", **hidden)
    assert response.status_code == 422 and "The amounts changed since the page was opened" in response.get_data(
        as_text=True
    )
    assert wl_total(app, starter) == 2900


# --- Two at once ----------------------------------------------------------------------------


def _at_once(app, monkeypatch, posts):
    """Run the plan-change posts in two threads that are both inside change_plan at once, each
    holding its transaction open a while after reading the balance; returns the responses
    and each call's (start, end)."""
    import webapp.accounts.service as service
    import webapp.ledger as ledger

    real_change, real_balance = service.change_plan, ledger.white_label_balance
    barrier = threading.Barrier(len(posts), timeout=30)
    spans = {}

    def change_plan(*args, **kwargs):
        barrier.wait()  # both requests are in the service at once
        spans[threading.get_ident()] = [time.monotonic(), None]
        try:
            return real_change(*args, **kwargs)
        finally:
            spans[threading.get_ident()][1] = time.monotonic()

    def slow_balance(*args, **kwargs):
        value = real_balance(*args, **kwargs)
        time.sleep(0.5)  # what a busy server does between reading the credit and writing the charge
        return value

    monkeypatch.setattr(service, "change_plan", change_plan)
    monkeypatch.setattr(ledger, "white_label_balance", slow_balance)
    clients = []
    for _ in posts:
        client = app.test_client()
        sign_in(client, *ADMIN)
        clients.append((client, csrf_token(client)))
    responses = [None] * len(posts)

    def run(index):
        client, token = clients[index]
        customer_id, plan = posts[index]
        responses[index] = client.post(f"/customers/{customer_id}/plan", data={"plan": plan, "csrf_token": token})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    starts, ends = [s for s, _ in spans.values()], [e for _, e in spans.values()]
    assert len(spans) == len(posts) and max(starts) < min(ends), "the two plan changes did not overlap"
    return responses, min(ends) - max(starts)


RACES: dict[str, str] = {}


def _record_race(record, name: str, text: str) -> None:
    RACES[name] = text
    record("plan changes at once", "; ".join(RACES[k] for k in sorted(RACES)))


def test_two_plan_changes_at_once_cannot_exceed_the_credit_limit(
    app, admin_client, business, clock, monkeypatch, record_figure_session
):
    clock(MID_MONTH)
    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
        Customer.update(activated_at=ACTIVATED).where(Customer.id == harbour.id).execute()
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        one_upgrade = CALL_CENTRE_25 - BUSINESS_25
        # Room for one upgrade to Call Centre (NZ$141.67) and NZ$100 more: not for two.
        WhiteLabel.update(credit_limit=one_upgrade + 10000 - white_label_balance(label)).where(
            WhiteLabel.id == label.id
        ).execute()
    call_centre = plan_id(app, "Call Centre")
    responses, overlap = _at_once(app, monkeypatch, [(business, call_centre), (harbour.id, call_centre)])
    assert sorted(r.status_code for r in responses) == [303, 422]
    with app.app_context():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        assert white_label_balance(label) + label.credit_limit == 10000  # never below zero
        on_call_centre = Customer.select().where(
            Customer.id.in_([business, harbour.id]) & (Customer.plan == int(call_centre))
        )
        assert on_call_centre.count() == 1
    _record_race(
        record_figure_session,
        "credit",
        f"two upgrades with credit for one, both inside change_plan together "
        f"for {overlap:.2f} s: 1 made, 1 refused, NZ$100.00 of credit left (never below 0)",
    )


def test_a_plan_change_submitted_twice_at_once_charges_once(
    app, admin_client, starter, clock, monkeypatch, record_figure_session
):
    clock(MID_MONTH)
    business_plan = plan_id(app, "Business")
    responses, overlap = _at_once(app, monkeypatch, [(starter, business_plan), (starter, business_plan)])
    assert [r.status_code for r in responses] == [303, 303]
    assert wl_total(app, starter) == 2900 + BUSINESS_25 - STARTER_25
    assert len(plan_events(app, starter)) == 1
    _record_race(
        record_figure_session, "double", f"one change submitted twice, together for {overlap:.2f} s: charged once"
    )


# --- The billing month and the rounding rule --------------------------------------------------


def test_billing_months_start_on_the_activation_day_in_the_white_labels_time_zone():
    from webapp.billing import billing_period

    period = billing_period(ACTIVATED, "Pacific/Auckland", MID_MONTH)
    assert (period.start, period.end, period.days, period.days_left) == (
        dt.date(2026, 11, 5),
        dt.date(2026, 12, 5),
        30,
        25,
    )
    utc = billing_period(ACTIVATED, "UTC", MID_MONTH)
    assert (utc.start, utc.days_left) == (dt.date(2026, 11, 4), 24)
    # Activated on 31 January: months start 28 February (29 in a leap year), 31 March, 30 April.
    jan31 = dt.datetime(2027, 1, 31, 12)
    assert billing_period(jan31, "UTC", dt.datetime(2027, 2, 27, 12)).start == dt.date(2027, 1, 31)
    assert [
        billing_period(jan31, "UTC", dt.datetime(2027, m, d, 12)).start for m, d in ((2, 28), (3, 30), (3, 31), (4, 30))
    ] == [dt.date(2027, 2, 28), dt.date(2027, 2, 28), dt.date(2027, 3, 31), dt.date(2027, 4, 30)]
    feb = billing_period(jan31, "UTC", dt.datetime(2027, 2, 28, 12))
    assert (feb.days, feb.days_left, feb.last_day) == (31, 31, dt.date(2027, 3, 30))
    last = billing_period(jan31, "UTC", dt.datetime(2027, 3, 30, 23))
    assert last.days_left == 1


PRICES = st.lists(st.integers(0, 10**7), min_size=2, max_size=6)


@settings(max_examples=300, deadline=None)
@given(PRICES, st.lists(st.integers(0, 5), min_size=1, max_size=12), st.integers(28, 31), st.data())
def test_any_run_of_changes_on_one_day_costs_the_single_change(prices, path, days, data):
    """Changes at one point of the month telescope: the sum is prorate(last) - prorate(first),
    a change and its reverse cancel exactly, and no change costs more than the monthly difference."""
    from webapp.billing import BillingPeriod, prorate

    start = dt.date(2026, 1, 1)
    period = BillingPeriod(
        start, start + dt.timedelta(days=days), start + dt.timedelta(days=data.draw(st.integers(0, days - 1)))
    )
    chain = [prices[i % len(prices)] for i in [0, *path]]
    charges = [prorate(new, period) - prorate(old, period) for old, new in zip(chain, chain[1:], strict=False)]
    assert sum(charges) == prorate(chain[-1], period) - prorate(chain[0], period)
    for (old, new), charge in zip(zip(chain, chain[1:], strict=False), charges, strict=True):
        assert charge == -(prorate(old, period) - prorate(new, period))
        assert abs(charge) <= abs(new - old)  # never more than the whole month's difference
    if period.days_left == period.days:
        assert sum(charges) == chain[-1] - chain[0]


def test_fuzz_plan_changes_always_cost_what_the_final_plan_costs(app, admin_client, starter, clock, record_figure):
    """Arbitrary plan-change posts (other white-labels' plans, stale or broken quotes, htmx or
    not): never a 500, and however many go through at one moment, the white-label has paid
    the first month plus prorate(current plan) - prorate(Starter), to the cent."""
    from test_fuzz import FUZZ, TOTALS, form_data, htmx
    from werkzeug.datastructures import MultiDict

    from webapp.models import Plan

    clock(MID_MONTH)
    with app.app_context():
        prices = {p.id: p.monthly_price for p in Plan.select()}
        own = [str(p.id) for p in Plan.select().join(WhiteLabel).where(WhiteLabel.slug == "demo-telecom")]
        others = [str(p.id) for p in Plan.select().join(WhiteLabel).where(WhiteLabel.slug != "demo-telecom")]
    token = csrf_token(admin_client)
    fields = {
        "plan": own + own + others + ["0", "x"],
        "from_plan": ["", "", "", *own, "abc"],
        "billing_day": ["", "", "", "2026-11-10", "2026-11-09", "10/11/2026"],
    }
    seen = {"requests": 0, "changes": 0}

    def share(price):
        return round(price * 25 / 30 + 1e-9)

    @FUZZ
    @given(form_data(fields), htmx)
    def run(pairs, as_htmx):
        headers = {"X-CSRFToken": token, **({"HX-Request": "true"} if as_htmx else {})}
        response = admin_client.post(f"/customers/{starter}/plan", data=MultiDict(pairs), headers=headers)
        seen["requests"] += 1
        if response.status_code >= 500:
            TOTALS["errors"] += 1
        assert response.status_code < 500, response.status_code
        with app.app_context():
            current = Customer.get_by_id(starter).plan_id
        assert wl_total(app, starter) == 2900 + share(prices[current]) - STARTER_25
        seen["changes"] = len(plan_events(app, starter))

    run()
    assert seen["requests"] >= 500 and seen["changes"] > 5
    record_figure(
        "plan changes prorated",
        f"{seen['requests']} fuzzed plan-change posts ({seen['changes']} changes at one "
        "moment): 0 server errors, the white-label's total always the first month + prorate(current) - "
        "prorate(first plan), to the cent",
    )
    TOTALS["requests"] += seen["requests"]
    TOTALS["forms"] += 1
    record_figure(
        "fuzz (total)",
        f"{TOTALS['requests']:,} fuzzed requests over {TOTALS['forms']} forms, {TOTALS['errors']} server errors",
    )


def test_the_same_proration_can_charge_the_customers_own_balance(smtp, app, admin_client, clock):
    """For customers who run their own account (issue 15): the payer is the customer's ledger."""
    from testkit.activation import create_pending_customer, submit_activation
    from webapp.accounts import service
    from webapp.ledger import customer_balance
    from webapp.models import Plan, User

    customer_id, token = create_pending_customer(app, admin_client, smtp)  # Business, NZ$75.00 opening balance
    assert submit_activation(app.test_client(), token).status_code == 303
    clock(MID_MONTH)
    with app.app_context():
        Customer.update(activated_at=ACTIVATED).where(Customer.id == customer_id).execute()
        customer = Customer.get_by_id(customer_id)
        contact = User.get(User.email == customer.contact_email)
        plans = {p.name: p for p in Plan.select()}
        quote = service.change_plan(customer, plans["Starter"], contact, payer=LedgerEntry.CUSTOMER)
        assert quote.amount == STARTER_25 - BUSINESS_25
        assert customer_balance(customer) == 7500 + BUSINESS_25 - STARTER_25
        with pytest.raises(service.AccountProblem, match="costs NZ\\$183.33 now, but the balance is only NZ\\$116.66"):
            service.change_plan(customer, plans["Call Centre"], contact, payer=LedgerEntry.CUSTOMER)
        assert "credited to your balance" in quote.describe(LedgerEntry.CUSTOMER)
        entries = LedgerEntry.select().where(LedgerEntry.customer == customer_id).order_by(LedgerEntry.id)
        assert [(e.account, e.kind, e.amount) for e in entries] == [
            ("customer", "credit", 7500),
            ("customer", "credit", 4166),
        ]
