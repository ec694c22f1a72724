"""The rate limits the README states, as the app builds them from an environment that sets none.

Other tests set a limit to something small to see it work; these use the defaults themselves,
so raising one in webapp/config.py or dropping a route's limit decorator fails here. The
README: activation and invitation link look-ups 30 per address per minute
(ACTIVATION_RATE_LIMIT), resends 5 per customer per hour (RESEND_RATE_LIMIT). The sign-in
defaults are pinned in tests/test_rate_limits.py.
"""

from __future__ import annotations

import pytest

from conftest import ADMIN, csrf_token, sign_in
from webapp import create_app
from webapp.models import Customer

LIMIT_VARIABLES = ("ACTIVATION_RATE_LIMIT", "RESEND_RATE_LIMIT", "RATELIMIT_ENABLED")


@pytest.fixture
def stated(app, config, monkeypatch):
    """The app built from an environment that sets no limit and a test config that sets none
    either (`app` has emptied and seeded the database)."""
    for name in LIMIT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        assert name not in config
    return create_app(config)


@pytest.mark.parametrize("route", ["/activate", "/invite"])
def test_link_lookups_are_limited_to_30_per_address_per_minute_by_default(stated, route, record_figure):
    assert stated.config["ACTIVATION_RATE_LIMIT"] == "30 per minute"
    client = stated.test_client()
    codes = [client.get(f"{route}/guessed-token-{n}").status_code for n in range(30)]
    assert codes == [404] * 30
    refused = client.get(f"{route}/guessed-token-30")
    assert refused.status_code == 429, f"the 31st look-up of {route}/<token> in a minute was {refused.status_code}"
    assert 0 < int(refused.headers["Retry-After"]) <= 60  # a minute's window, not an hour's
    # Per address: another address is still answered.
    assert client.get(f"{route}/guessed-token-31", environ_base={"REMOTE_ADDR": "127.0.0.9"}).status_code == 404
    record_figure(
        f"rate limits ({route}/<token>, default)",
        f"30 look-ups from one address in a minute answered, the 31st 429 (Retry-After {refused.headers['Retry-After']} s)",
    )


def test_resends_are_limited_to_5_per_customer_per_hour_by_default(stated, record_figure):
    assert stated.config["RESEND_RATE_LIMIT"] == "5 per hour"
    admin = stated.test_client()
    assert sign_in(admin, *ADMIN).status_code == 303
    token = csrf_token(admin)
    with stated.app_context():
        rimu = Customer.get(Customer.business_name == "Rimu Accounting").id  # pending activation
        tui = Customer.get(Customer.business_name == "Tui Cafe").id  # expired: may be resent too

    def resend(customer_id):
        return admin.post(f"/customers/{customer_id}/activation/resend", data={"csrf_token": token})

    codes = [resend(rimu).status_code for _ in range(5)]
    assert codes == [303] * 5
    refused = resend(rimu)
    assert refused.status_code == 429, f"the 6th resend in an hour was {refused.status_code}"
    assert 60 < int(refused.headers["Retry-After"]) <= 3600  # an hour's window, not a minute's
    assert resend(tui).status_code == 303  # per customer: another customer's resend goes
    record_figure(
        "rate limits (resend, default)",
        f"5 resends for one customer in an hour sent, the 6th 429 (Retry-After {refused.headers['Retry-After']} s)",
    )
