"""Rate limits (issue 6 check 8, issue 12 item 6): failed sign-ins per account and address,
per account across all addresses, and counters every process shares.

Defaults: 10 failures per account from one address per 15 minutes, 100 per account from all
addresses per hour, 50 per address per hour. All are configuration (LOGIN_ACCOUNT_RATE_LIMIT,
LOGIN_ACCOUNT_ALL_ADDRESSES_RATE_LIMIT, LOGIN_ADDRESS_RATE_LIMIT). Counters live in the app's
database by default (RATELIMIT_STORAGE_URI=database://, webapp/ratelimit_storage.py), or in
Redis; the 3-worker gunicorn check is in tests/test_production.py.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from conftest import ADMIN, STAFF, csrf_token
from webapp import create_app
from webapp.config import ConfigError
from webapp.extensions import db
from webapp.models import RateLimitCounter

WRONG = "not-the-password"


def attempt(client, email: str, password: str, address: str = "127.0.0.1"):
    """One sign-in through the real form, from `address`."""
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token}, environ_base=environ)


def sign_out(client) -> None:
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 303


def assert_locked(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 429, response.status_code
    assert "Too many attempts" in html and "try again (after" in html
    assert int(response.headers["Retry-After"]) > 0


def test_defaults_are_ten_per_account_per_fifteen_minutes_and_fifty_per_address_per_hour(app):
    assert app.config["LOGIN_ACCOUNT_RATE_LIMIT"] == "10 per 15 minutes"
    assert app.config["LOGIN_ACCOUNT_ALL_ADDRESSES_RATE_LIMIT"] == "100 per hour"
    assert app.config["LOGIN_ADDRESS_RATE_LIMIT"] == "50 per hour"


def test_eleventh_attempt_after_ten_failures_is_refused_even_with_the_right_password(app, client, record_figure):
    for _ in range(10):
        assert attempt(client, ADMIN[0], WRONG).status_code == 422
    response = attempt(client, *ADMIN)
    assert_locked(response)
    assert int(response.headers["Retry-After"]) <= 15 * 60
    assert client.get("/customers/").status_code == 302  # not signed in
    # The lock is on the account from that address only: a colleague on the same address signs in...
    assert attempt(app.test_client(), *STAFF).status_code == 303
    # ...and so does the account's owner from elsewhere: ten wrong passwords from one address
    # cannot lock a known account out for everyone.
    assert attempt(app.test_client(), *ADMIN, address="127.0.0.2").status_code == 303
    record_figure(
        "rate limits (account)", f"11th sign-in after 10 failures: 429, Retry-After {response.headers['Retry-After']} s"
    )


def test_the_account_is_the_email_whatever_its_case_or_spaces(client):
    for variant in [ADMIN[0], ADMIN[0].upper(), f"  {ADMIN[0]} ", "Admin@Demo.Example.com"] * 3:
        if attempt(client, variant, WRONG).status_code == 429:
            break
    assert_locked(attempt(client, *ADMIN))


def test_successful_sign_ins_do_not_count_as_failures(client):
    for _ in range(9):
        assert attempt(client, ADMIN[0], WRONG).status_code == 422
    for _ in range(3):
        assert attempt(client, *ADMIN).status_code == 303
        sign_out(client)
    assert attempt(client, ADMIN[0], WRONG).status_code == 422  # the tenth failure is still allowed
    assert_locked(attempt(client, *ADMIN))


def test_fifty_failures_from_one_address_lock_that_address_only(app, record_figure):
    client = app.test_client()
    for n in range(50):
        assert attempt(client, f"guess{n}@example.com", WRONG, address="127.0.0.3").status_code == 422
    assert_locked(attempt(client, *STAFF, address="127.0.0.3"))
    assert attempt(app.test_client(), *STAFF, address="127.0.0.4").status_code == 303
    record_figure(
        "rate limits (address)", "51st sign-in from one address after 50 failures: 429; other addresses unaffected"
    )


def test_limits_are_configuration(config):
    config.update(LOGIN_ACCOUNT_RATE_LIMIT="2 per minute", LOGIN_ADDRESS_RATE_LIMIT="3 per minute")
    app = create_app(config)
    client = app.test_client()
    assert attempt(client, ADMIN[0], WRONG).status_code == 422
    assert attempt(client, ADMIN[0], WRONG).status_code == 422
    response = attempt(client, *ADMIN)
    assert_locked(response)
    assert int(response.headers["Retry-After"]) <= 60
    assert attempt(client, STAFF[0], WRONG).status_code == 422  # third failure from this address
    assert_locked(attempt(client, *STAFF))


def test_a_stranger_cannot_lock_a_known_account_out(app, record_figure):
    """Ten wrong passwords from an attacker's address lock that address out of the account, not its owner."""
    attacker = app.test_client()
    for _ in range(10):
        assert attempt(attacker, ADMIN[0], WRONG, address="203.0.113.9").status_code == 422
    assert_locked(attempt(attacker, ADMIN[0], WRONG, address="203.0.113.9"))
    assert attempt(app.test_client(), *ADMIN, address="198.51.100.7").status_code == 303
    record_figure(
        "rate limits (account and address)",
        "10 failures on one account from one address: that address gets 429, the owner elsewhere signs in",
    )


def test_guessing_one_account_from_many_addresses_is_stopped_at_one_hundred_an_hour(app, record_figure):
    """Against distributed guessing: 100 failures an hour on one account, from any addresses, lock it."""
    client = app.test_client()
    for n in range(100):
        address = f"10.{n // 250}.{n % 250}.{1 + n % 7}"
        assert attempt(client, ADMIN[0], WRONG, address=address).status_code == 422, n
    response = attempt(client, *ADMIN, address="198.51.100.8")
    assert_locked(response)
    assert 15 * 60 < int(response.headers["Retry-After"]) <= 3600
    assert attempt(app.test_client(), *STAFF, address="198.51.100.8").status_code == 303  # other accounts unaffected
    record_figure(
        "rate limits (account, all addresses)",
        "101st sign-in after 100 failures from 100 addresses: 429 from a new address, Retry-After "
        f"{response.headers['Retry-After']} s",
    )


def test_the_limit_across_addresses_is_configuration(config):
    config.update(LOGIN_ACCOUNT_ALL_ADDRESSES_RATE_LIMIT="3 per hour")
    client = create_app(config).test_client()
    for n in range(3):
        assert attempt(client, ADMIN[0], WRONG, address=f"192.0.2.{n + 1}").status_code == 422
    assert_locked(attempt(client, *ADMIN, address="192.0.2.99"))


def test_counts_are_shared_by_every_app_instance_on_the_default_database_storage(app, config, record_figure):
    """Another gunicorn worker, another server or a restart sees the same counts: the default
    storage is the app's database, not each process's memory."""
    assert app.config["RATELIMIT_STORAGE_URI"] == "database://"
    client = app.test_client()
    for _ in range(10):
        assert attempt(client, ADMIN[0], WRONG).status_code == 422
    second = create_app(config)
    assert_locked(attempt(second.test_client(), *ADMIN))
    with app.app_context():
        assert RateLimitCounter.select().count() >= 2  # per account and address, per account, per address
    record_figure(
        "rate limits (database)", "a lock made through one app instance holds in a second one (default storage)"
    )


# --- The database storage itself -------------------------------------------------------------


@pytest.fixture
def storage(app):
    from webapp.ratelimit_storage import DatabaseStorage

    with app.app_context():
        yield DatabaseStorage("database://")


def test_database_storage_counts_atomically_under_concurrency(app, storage, record_figure):
    """8 threads x 40 increments of one key, each on its own connection: no update is lost and
    every increment sees its own count (1..320, each once)."""
    threads, each = 8, 40
    seen: list[int] = []
    barrier = threading.Barrier(threads)
    lock = threading.Lock()
    errors = []

    def work():
        try:
            barrier.wait()
            mine = [storage.incr("concurrent-key", 60) for _ in range(each)]
            with lock:
                seen.extend(mine)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            if not db.is_closed():
                db.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    elapsed = time.monotonic() - started
    assert not errors, errors
    assert sorted(seen) == list(range(1, threads * each + 1))
    assert storage.get("concurrent-key") == threads * each
    record_figure(
        "rate limits (atomic increments)",
        f"{threads} threads x {each} increments of one counter: {len(seen)} distinct counts, none lost "
        f"({elapsed:.1f} s)",
    )


def test_database_storage_windows_expire_and_restart(storage):
    assert storage.incr("short", 1) == 1
    assert storage.incr("short", 1) == 2
    assert storage.get("short") == 2
    assert time.time() < storage.get_expiry("short") <= time.time() + 1
    time.sleep(1.1)
    assert storage.get("short") == 0
    assert storage.incr("short", 1) == 1  # a new window, not 3


def test_expired_counters_are_deleted_as_the_app_goes(app, storage):
    from webapp.ratelimit_storage import DatabaseStorage

    for n in range(20):
        storage.incr(f"old-{n}", 1)
    storage.incr("live", 3600)
    time.sleep(1.1)
    with app.app_context():
        assert RateLimitCounter.select().count() == 21
        eager = DatabaseStorage("database://", purge_interval=0)
        eager.incr("another", 60)
        assert RateLimitCounter.select().count() == 2  # "live" and "another"
    assert storage.get("live") == 1


def test_reset_and_clear_forget_counts(storage):
    storage.incr("a", 60)
    storage.incr("b", 60)
    storage.clear("a")
    assert storage.get("a") == 0 and storage.get("b") == 1
    assert storage.reset() == 1
    assert storage.get("b") == 0
    assert storage.check() is True


def test_stored_keys_hold_no_email_or_address(app, client):
    attempt(client, ADMIN[0], WRONG, address="198.51.100.23")
    with app.app_context():
        buckets = [row.bucket for row in RateLimitCounter.select()]
    assert buckets and all(len(b) == 64 for b in buckets)
    assert not any("admin" in b or "198.51" in b for b in buckets)


def test_production_refuses_to_start_with_per_process_storage(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(ConfigError) as refused:
        create_app()
    message = str(refused.value)
    assert "memory://" in message and "each process" in message
    assert "database://" in message and "redis://" in message


@pytest.mark.usefixtures("redis_server")  # skipped without Redis, failed when CI is set
def test_redis_storage_shares_counts_between_app_processes(config, app, record_figure):
    """With Redis, a second app (another gunicorn worker, or a restart) sees the same counts."""
    config.update(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15")
    email = f"redis-{uuid.uuid4().hex[:8]}@example.com"  # no collision with anything else in Redis
    first = create_app(config)
    client = first.test_client()
    for _ in range(10):
        assert attempt(client, email, WRONG).status_code == 422
    assert_locked(attempt(client, email, WRONG))
    second = create_app(config)
    assert_locked(attempt(second.test_client(), email, WRONG))
    assert attempt(second.test_client(), *ADMIN).status_code == 303
    record_figure("rate limits (Redis)", "a lock made through one app instance holds in a second one")


# --- Resending an activation email -------------------------------------------------------------


def _resend(client, customer_id: int, **kwargs):
    return client.post(f"/customers/{customer_id}/activation/resend", data={"csrf_token": csrf_token(client)}, **kwargs)


def test_another_white_label_cannot_use_up_a_customers_resends(
    smtp, app, admin_client, other_admin_client, record_figure
):
    """The resend limit counts only requests that find the customer in the caller's white-label."""
    from testkit.activation import create_pending_customer

    customer_id, _ = create_pending_customer(app, admin_client, smtp)
    assert [_resend(other_admin_client, customer_id).status_code for _ in range(8)] == [404] * 8
    codes = [_resend(admin_client, customer_id).status_code for _ in range(6)]
    assert codes == [303] * 5 + [429]
    record_figure(
        "rate limits (resend)", "8 resends from another white-label: 404, none counted; the owner's 6th in an hour: 429"
    )


def test_a_refused_resend_is_a_429_page_that_says_when(smtp, app, admin_client):
    from testkit.activation import create_pending_customer

    app.config["RESEND_RATE_LIMIT"] = "1 per hour"
    customer_id, _ = create_pending_customer(app, admin_client, smtp)
    assert _resend(admin_client, customer_id).status_code == 303
    for headers in ({}, {"HX-Request": "true"}):
        response = _resend(admin_client, customer_id, headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 429
        # On the customer page itself, beside the Resend button, in the white-label's time (issue 15).
        assert "Too many resends. Try again after" in html and ("NZDT" in html or "NZST" in html)
        assert "Resend activation email" in html
        assert 3500 < int(response.headers["Retry-After"]) <= 3600
    with app.app_context():
        from webapp.models import OutboxEmail

        assert OutboxEmail.select().where(OutboxEmail.kind == "activation").count() == 2  # the first + 1 resend


def test_requests_that_would_not_resend_are_not_counted(app, admin_client):
    """A customer who is not waiting for activation answers 409 however often it is asked."""
    from webapp.models import Customer

    with app.app_context():
        active = Customer.get(Customer.status == Customer.ACTIVE).id
    app.config["RESEND_RATE_LIMIT"] = "2 per hour"
    assert [_resend(admin_client, active).status_code for _ in range(4)] == [409] * 4
