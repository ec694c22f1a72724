"""Tenant and scope isolation of the integration API, generated from app.url_map as the
console's walk is (tests/test_isolation.py): every API rule, every method, every id filled by
tests/url_map_walk.py's FILL with real objects of Demo Telecom.

- a key of another white-label (Other Voice) gets 404 on every id of Demo Telecom;
- a read-only key of Demo Telecom gets 403 on every write;
- a revoked key gets 401 everywhere;
and the database does not change. The same ids open for Demo Telecom's own read-write key.
"""

from __future__ import annotations

import pytest

from testkit.api import DEMO, OTHER, auth, customer_body, make_key, revoke
from testkit.quick_connections import quick_connections
from testkit.url_map_walk import build_targets, changed_tables, is_api, routes, snapshot
from webapp.models import ApiKey

PUBLIC = {"api.openapi"}
BODIES = {
    "api.create_customer": lambda app: customer_body(app, email="intruder@example.com", business_name="Intruder Ltd"),
    "api.invite_user": lambda app: {
        "first_name": "Ivy",
        "last_name": "Intruder",
        "email": "ivy@example.com",
        "extension": "999",
    },
}


@pytest.fixture(autouse=True)
def _quick_connections(app, database_url):
    with quick_connections(database_url):
        yield


def api_routes(app, targets, *, with_variables_only=False):
    for rule, method, url, _values in routes(app, targets, with_variables_only=with_variables_only):
        if is_api(rule) and rule.endpoint not in PUBLIC and method != "HEAD":
            yield rule, method, url


def _call(app, client, method, url, endpoint, secret):
    body = BODIES.get(endpoint)
    return client.open(url, method=method, headers=auth(secret), json=body(app) if body and method == "POST" else None)


CASES = {
    # who -> (the key, which rules, the status every request must get)
    "another white-label's key": ("other", True, None, 404),
    "a read-only key": ("read_only", False, "POST", 403),
    "a revoked key": ("revoked", False, None, 401),
}


@pytest.mark.parametrize("who", list(CASES))
def test_no_api_route_lets_another_tenant_a_read_only_or_a_revoked_key_in(app, admin_client, smtp, record_figure, who):
    targets = build_targets(app, admin_client)
    keys = {
        "other": make_key(app, OTHER),
        "read_only": make_key(app, DEMO, scope=ApiKey.READ),
        "revoked": make_key(app, DEMO, name="Revoked"),
    }
    revoke(app, keys["revoked"])
    name, ids_only, only_method, expected = CASES[who]
    secret = keys[name]
    client = app.test_client()
    client.get("/api/v1/plans", headers=auth(secret))  # last used: written now, not again within the minute
    before = snapshot(app)
    problems, checked = [], 0
    for rule, method, url in api_routes(app, targets, with_variables_only=ids_only):
        if only_method and method != only_method:
            continue
        response = _call(app, client, method, url, rule.endpoint, secret)
        checked += 1
        where = f"{method} {url} ({rule.endpoint}) with {who}"
        if response.status_code != expected or response.mimetype != "application/problem+json":
            problems.append(f"{where}: {response.status_code} {response.mimetype}, expected a {expected} problem")
        after = snapshot(app)
        if after != before:
            problems.append(f"{where}: changed {', '.join(changed_tables(before, after))}")
            before = after
    assert not problems, "\n".join(problems)
    assert checked >= 5
    record_figure(
        f"api isolation ({who})", f"{checked} API route/method/object requests: all {expected}, database unchanged"
    )


def test_the_ids_used_are_real_for_their_owners_key(app, admin_client):
    """The refusals mean something only if Demo Telecom's own key opens the same ids."""
    targets = build_targets(app, admin_client)
    secret = make_key(app)
    client = app.test_client()
    opened = 0
    for rule, method, url in api_routes(app, targets, with_variables_only=True):
        if method != "GET":
            continue
        response = _call(app, client, method, url, rule.endpoint, secret)
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        opened += 1
    assert opened >= 2
