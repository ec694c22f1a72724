"""CSRF and safe methods, generated from app.url_map (issue 6, check 2).

Every route that accepts POST refuses a post without the CSRF token (400, database
unchanged) and accepts one carrying the token in the X-CSRFToken header, as htmx sends it.
No GET (or HEAD) of any route changes the database, whoever asks.
"""

from __future__ import annotations

import pytest

from conftest import ADMIN, sign_in
from testkit.quick_connections import quick_connections
from testkit.url_map_walk import (
    CSRF_EXEMPT,
    build_targets,
    call,
    changed_tables,
    is_api,
    post_data,
    routes,
    snapshot,
    token_for,
)
from testkit.wizard import complete_white_label_option
from webapp.models import Customer, CustomerDraft

CSRF_PAGE = "Your session expired or the form was out of date"


def _signed_in_admin(app):
    client = app.test_client()
    assert sign_in(client, *ADMIN).status_code == 303
    return client


@pytest.fixture(autouse=True)
def _quick_connections(app, database_url):
    """Hundreds of requests, each followed by a snapshot of every table: see quick_connections.py."""
    with quick_connections(database_url):
        yield


@pytest.mark.parametrize("who", ["administrator", "anonymous"])
def test_every_post_without_the_csrf_token_is_refused_and_changes_nothing(app, admin_client, record_figure, who):
    targets = build_targets(app, admin_client)
    client = admin_client if who == "administrator" else app.test_client()
    before = snapshot(app)
    problems, checked = [], 0
    for rule, _method, url, values in routes(app, targets, method="POST"):
        for htmx in (False, True):
            response = call(client, "POST", url, post_data(rule, values), htmx=htmx)
            checked += 1
            where = f"POST {url} ({rule.endpoint}, {'htmx' if htmx else 'form'}) as {who} without a token"
            if is_api(rule):
                # CSRF does not apply to the API: no cookie authenticates it, so a session's post is a 401.
                if response.status_code != 401:
                    problems.append(f"{where}: {response.status_code}, expected 401 (the API ignores cookies)")
            elif response.status_code != 400:
                problems.append(f"{where}: {response.status_code}, expected 400")
            elif rule.endpoint not in CSRF_EXEMPT and CSRF_PAGE not in response.get_data(as_text=True):
                problems.append(f"{where}: 400 without the explanation")
            after = snapshot(app)
            if after != before:
                problems.append(f"{where}: changed {', '.join(changed_tables(before, after))}")
                before = after
    assert not problems, "\n".join(problems)
    assert checked >= 10
    record_figure(
        f"csrf ({who})",
        f"{checked} posts without a token: all 400 (401 on the API, which ignores cookies), database unchanged",
    )


def test_every_post_with_the_token_in_the_htmx_header_is_accepted(app, admin_client, record_figure):
    targets = build_targets(app, admin_client)
    problems, checked = [], 0
    for rule, _method, url, values in routes(app, targets, method="POST"):
        if rule.endpoint in CSRF_EXEMPT:
            continue  # takes no CSRF token; refused without its own proof (checked above)
        client = _signed_in_admin(app)  # a fresh session each time: one of these routes signs out
        response = call(client, "POST", url, post_data(rule, values), token=token_for(client), htmx=True)
        checked += 1
        if response.status_code == 400 or CSRF_PAGE in response.get_data(as_text=True):
            problems.append(f"POST {url} ({rule.endpoint}) with X-CSRFToken: refused ({response.status_code})")
    assert not problems, "\n".join(problems)
    record_figure("csrf (with X-CSRFToken)", f"{checked} posts with the header: none refused for CSRF")


def _crawl(app, client, targets, method: str, htmx: bool, who: str):
    """GET (or HEAD) every route, filled; returns the problems found."""
    problems, count = [], 0
    before = snapshot(app)
    for rule, _, url, _values in routes(app, targets, method=method):
        response = call(client, method, url, htmx=htmx)
        count += 1
        if response.status_code >= 500:
            problems.append(f"{method} {url} ({rule.endpoint}) as {who}: {response.status_code}")
        after = snapshot(app)
        if after != before:
            problems.append(
                f"{method} {url} ({rule.endpoint}) as {who}: changed {', '.join(changed_tables(before, after))}"
            )
            before = after
    return problems, count


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_no_get_changes_the_database(
    app, admin_client, staff_client, other_admin_client, record_figure, method, request
):
    targets = build_targets(app, admin_client)
    callers = {
        "administrator": admin_client,
        "staff": staff_client,
        "other white-label's administrator": other_admin_client,
        "anonymous": app.test_client(),
    }
    problems, count = [], 0
    for who, client in callers.items():
        for htmx in (False, True):
            found, n = _crawl(app, client, targets, method, htmx, who)
            problems += found
            count += n
    assert not problems, "\n".join(problems)
    record_figure(f"safe methods ({method})", f"{count} requests over every {method} route: database unchanged")


def test_head_of_a_wizard_step_neither_submits_nor_overwrites_the_draft(app, admin_client):
    """HEAD is not checked for CSRF (it is a safe method), so it must never act like a POST."""
    base = complete_white_label_option(admin_client, app)
    key = base.rsplit("/", 1)[1]
    with app.app_context():
        stored = CustomerDraft.get(CustomerDraft.key == key).data
    assert admin_client.head(f"{base}/contact").status_code == 200
    assert admin_client.head(f"{base}/review").status_code == 200
    with app.app_context():
        draft = CustomerDraft.get(CustomerDraft.key == key)
        assert draft.data == stored and draft.submitted_at is None
        assert Customer.select().where(Customer.business_name == "Matai Joinery Ltd").count() == 0


def test_head_of_the_cancel_page_does_not_cancel_the_customer(app, admin_client):
    with app.app_context():
        rimu = Customer.get(Customer.business_name == "Rimu Accounting")
    assert admin_client.head(f"/customers/{rimu.id}/activation/cancel").status_code == 200
    with app.app_context():
        assert Customer.get_by_id(rimu.id).status == Customer.PENDING
