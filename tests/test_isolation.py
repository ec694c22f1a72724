"""Tenant and role isolation, generated from app.url_map (issue 6, check 1).

Every route with a URL variable (ids, draft keys, tokens), with every method it answers, is
called with real objects of Demo Telecom by people who must not reach them: Other Voice's
administrator, Demo Telecom's staff (on administrator-only routes), the account
administrator of another white-label's customer, and an anonymous visitor. Each must be
refused (403/404; a visitor is sent to sign in) and the database must not change.
"""

from __future__ import annotations

import pytest

from testkit.quick_connections import quick_connections
from testkit.url_map_walk import (
    FILL,
    PUBLIC_ROUTES,
    build_targets,
    call,
    changed_tables,
    customer_user_client,
    fill,
    int_variables,
    is_api,
    is_public,
    methods,
    opened_by_secret,
    out_of_range_urls,
    post_data,
    required_role,
    routes,
    snapshot,
    token_for,
)
from webapp.models import WhiteLabelMembership

CALLERS = ["other_white_label_admin", "staff", "other_customer_user", "anonymous"]


def _caller(name, app, request):
    if name == "other_white_label_admin":
        return request.getfixturevalue("other_admin_client")
    if name == "staff":
        return request.getfixturevalue("staff_client")
    if name == "other_customer_user":
        return customer_user_client(app)
    return app.test_client()


def _expected(app, rule, caller: str) -> set[int] | None:
    """The statuses that count as refused for this caller, or None when the check does not apply."""
    if is_api(rule):
        return {401}  # cookies never authenticate the API, whoever's they are
    if opened_by_secret(rule):
        return {404} if caller == "anonymous" else {403, 404}
    if caller == "anonymous":
        # To the sign-in page (checked below): 302 from login_required, 303 from a wizard step posted
        # after signing out elsewhere, whose answers are kept for after signing in (onboarding/kept.py).
        return {302, 303}
    if caller == "staff":
        # Staff work in the same white-label: routes declared for any of its members are theirs,
        # administrator-only routes refuse them, and anything else (a customer's own pages) is
        # not theirs either.
        role = required_role(app, rule)
        if role == WhiteLabelMembership.STAFF:
            return None
        return {403} if role == WhiteLabelMembership.ADMINISTRATOR else {403, 404}
    return {403, 404}


@pytest.fixture(autouse=True)
def _quick_connections(app, database_url):
    """Hundreds of requests, each followed by a snapshot of every table: see quick_connections.py."""
    with quick_connections(database_url):
        yield


@pytest.mark.parametrize("caller", CALLERS)
def test_no_route_with_an_id_lets_another_tenant_role_or_visitor_in(app, admin_client, request, record_figure, caller):
    targets = build_targets(app, admin_client)
    client = _caller(caller, app, request)
    token = token_for(client)
    before = snapshot(app)
    problems, checked = [], 0
    for rule, method, url, values in routes(app, targets, with_variables_only=True):
        if is_public(rule):
            continue
        expected = _expected(app, rule, caller)
        if expected is None:
            continue
        response = call(client, method, url, post_data(rule, values), token=token)
        checked += 1
        where = f"{method} {url} ({rule.endpoint}) as {caller}"
        if response.status_code not in expected:
            problems.append(f"{where}: {response.status_code}, expected one of {sorted(expected)}")
        elif response.status_code in (302, 303) and not response.headers["Location"].startswith("/login"):
            problems.append(f"{where}: redirected to {response.headers['Location']}, not to sign in")
        after = snapshot(app)
        if after != before:
            problems.append(f"{where}: changed {', '.join(changed_tables(before, after))}")
            before = after
    assert not problems, "\n".join(problems)
    assert checked >= 10
    record_figure(f"isolation ({caller})", f"{checked} route/method/object requests refused, database unchanged")


def test_the_objects_used_are_real_for_their_owner(app, admin_client):
    """The refusals above mean something only if the same URLs open for Demo Telecom's
    administrator, who made every one of these objects (a 409 for an object in the wrong state
    for that page still shows it is reachable)."""
    targets = build_targets(app, admin_client)
    problems, opened = [], 0
    for rule, _method, url, _ in routes(app, targets, with_variables_only=True, method="GET"):
        if is_public(rule) or opened_by_secret(rule) or is_api(rule):  # the API's owner is a key: test_api_isolation.py
            continue
        response = admin_client.get(url)
        opened += 1
        if response.status_code in (401, 403, 404, 405) or response.status_code >= 500:
            problems.append(f"GET {url} ({rule.endpoint}) as its owner: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert opened >= 5


def test_every_url_variable_can_be_filled_and_the_public_list_is_current(app, admin_client):
    """A new route with a variable nobody taught the walk to fill fails here, by name."""
    targets = build_targets(app, admin_client)
    unfilled = []
    for rule in app.url_map.iter_rules():
        try:
            fill(rule, targets)
        except LookupError as error:
            unfilled.append(str(error))
    assert not unfilled, "\n".join(unfilled)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(PUBLIC_ROUTES) <= endpoints, f"stale PUBLIC_ROUTES entries: {set(PUBLIC_ROUTES) - endpoints}"
    assert all(methods(rule) for rule in app.url_map.iter_rules())


@pytest.fixture
def app_with_a_new_route(app):
    """The app with one more route, whose variable the walk has never heard of."""

    @app.get("/test-only/widgets/<widget_ref>")
    def test_only_widget(widget_ref):  # pragma: no cover - never called
        return widget_ref

    return app


def test_a_route_with_an_unknown_variable_fails_loudly(app_with_a_new_route, admin_client):
    """The safety net itself: a route the table cannot fill makes the walk fail, naming it."""
    app = app_with_a_new_route
    targets = build_targets(app, admin_client)
    with pytest.raises(LookupError, match=r"no way to fill <widget_ref>.*Add it to FILL"):
        list(routes(app, targets, with_variables_only=True))
    assert "widget_ref" not in FILL


def test_out_of_range_ids_are_404_never_500(app, admin_client, record_figure):
    """Every route with an <int:...> variable, every method, as its owner and as a visitor, with
    ids past PostgreSQL's integer, SQLite's integer and far beyond: 404 (the app's int converter
    refuses them before any query), database unchanged."""
    targets = build_targets(app, admin_client)
    callers = [("administrator", admin_client), ("visitor", app.test_client())]
    before = snapshot(app)
    problems, checked, rules = [], 0, 0
    for rule in app.url_map.iter_rules():
        if not int_variables(rule):
            continue
        rules += 1
        for url in out_of_range_urls(rule, targets):
            for who, client in callers:
                for method in methods(rule):
                    response = call(client, method, url, token=token_for(client))
                    checked += 1
                    if response.status_code != 404:
                        problems.append(f"{method} {url} ({rule.endpoint}) as {who}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert snapshot(app) == before
    assert rules >= 10
    record_figure(
        "isolation (out-of-range ids)",
        f"{checked} requests to {rules} routes with an int variable, ids 2^31, 2^63 and 10^23: all 404",
    )


@pytest.mark.parametrize(
    "url",
    [
        "/brand/99999999999999999999999.css",
        "/customers/99999999999999999999999",
        "/brand/2147483648.css",
        "/customers/2147483648",
    ],
)
def test_the_reported_out_of_range_urls_are_404(admin_client, url):
    assert admin_client.get(url).status_code == 404
