"""The integration API (issue 16): keys, the endpoints on the console's own rules, idempotency,
problem details, rate limits and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest

from conftest import ADMIN, sign_in
from testkit.api import (
    DEMO,
    OTHER,
    auth,
    customer_body,
    make_key,
    new_idempotency_key,
    plan_id,
    revoke,
    white_label_body,
)
from testkit.wizard import complete_customer_option, post
from webapp.models import (
    ApiIdempotencyKey,
    ApiKey,
    AuditEvent,
    Customer,
    CustomerDraft,
    CustomerMembership,
    LedgerEntry,
    OutboxEmail,
    PhoneNumber,
    User,
    WhiteLabel,
    utcnow,
)
from webapp.onboarding.forms import EMAIL_TAKEN, PO_BOX_MESSAGE, ContactForm
from webapp.onboarding.options import CUSTOMER

PROBLEM = "application/problem+json"


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["type"].endswith(f"/api/docs#problem-{slug}"), body
    assert body["title"] and body["detail"]
    return body


def _errors(response) -> dict[str, str]:
    body = _problem(response, 422, "validation")
    return {e.get("pointer") or e.get("parameter"): e["detail"] for e in body["errors"]}


def count(app, model, *where) -> int:
    with app.app_context():
        query = model.select()
        return (query.where(*where) if where else query).count()


# --- API keys (Settings > API keys) ------------------------------------------------------------


def test_an_administrator_creates_a_key_whose_secret_is_shown_once_and_stored_only_as_a_hash(app, admin_client):
    response = post(admin_client, "/settings/api-keys/", {"name": "Web shop", "scope": ApiKey.READ_WRITE})
    assert response.status_code == 201
    assert "no-store" in response.headers["Cache-Control"]
    secret = re.search(r'value="(pbx_[0-9a-f]{8}_[A-Za-z0-9_-]{43})"', response.get_data(as_text=True)).group(1)
    with app.app_context():
        key = ApiKey.get(ApiKey.name == "Web shop")
        assert secret.startswith(f"pbx_{key.prefix}_") and key.scope == ApiKey.READ_WRITE
        stored = json.dumps(list(ApiKey.select().tuples()), default=str)
        assert secret not in stored and secret.split("_", 2)[2] not in stored
        audit = AuditEvent.get(AuditEvent.action == "api_key_created")
        assert audit.customer_id is None and key.prefix in audit.detail and secret not in audit.detail
    listing = admin_client.get("/settings/api-keys/").get_data(as_text=True)
    assert f"pbx_{key.prefix}_" in listing and secret not in listing  # never shown again
    assert app.test_client().get("/api/v1/plans", headers=auth(secret)).status_code == 200


def test_a_key_needs_a_name_and_a_scope(app, admin_client):
    response = post(admin_client, "/settings/api-keys/", {"name": "  ", "scope": "everything"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a name for the key" in page and "There is a problem" in page
    assert count(app, ApiKey) == 0


def test_staff_see_the_keys_but_cannot_create_or_revoke_them(app, staff_client):
    secret = make_key(app, name="Shop key")
    page = staff_client.get("/settings/api-keys/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Shop key" in html and "Create API key" not in html and ">Revoke" not in html
    assert post(staff_client, "/settings/api-keys/", {"name": "Mine", "scope": ApiKey.READ_WRITE}).status_code == 403
    with app.app_context():
        key_id = ApiKey.get(ApiKey.name == "Shop key").id
    assert post(staff_client, f"/settings/api-keys/{key_id}/revoke").status_code == 403
    assert count(app, ApiKey) == 1 and count(app, ApiKey, ApiKey.revoked_at.is_null()) == 1
    assert app.test_client().get("/api/v1/plans", headers=auth(secret)).status_code == 200


def test_revoking_a_key_refuses_its_next_request_and_is_audited(app, admin_client):
    secret = make_key(app, name="Old shop")
    client = app.test_client()
    assert client.get("/api/v1/plans", headers=auth(secret)).status_code == 200
    with app.app_context():
        key_id = ApiKey.get(ApiKey.name == "Old shop").id
    response = post(admin_client, f"/settings/api-keys/{key_id}/revoke")
    assert response.status_code == 303
    _problem(client.get("/api/v1/plans", headers=auth(secret)), 401, "unauthorized")
    with app.app_context():
        assert ApiKey.get_by_id(key_id).revoked_at is not None
        assert AuditEvent.select().where(AuditEvent.action == "api_key_revoked").count() == 1
    assert "Revoked" in admin_client.get("/settings/api-keys/").get_data(as_text=True)


def test_other_white_labels_keys_cannot_be_revoked(app, admin_client):
    make_key(app, OTHER, name="Other shop")
    with app.app_context():
        key_id = ApiKey.get(ApiKey.name == "Other shop").id
    assert post(admin_client, f"/settings/api-keys/{key_id}/revoke").status_code == 404
    assert count(app, ApiKey, ApiKey.revoked_at.is_null()) == 1


def test_last_used_is_recorded_without_a_write_on_every_request(app):
    secret = make_key(app)
    client = app.test_client()
    writes = []
    from webapp.extensions import db

    original = db.obj.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        if sql.startswith('UPDATE "api_key"'):
            writes.append(sql)
        return original(sql, params, *args, **kwargs)

    db.obj.execute_sql = spy
    try:
        for _ in range(5):
            assert client.get("/api/v1/plans", headers=auth(secret)).status_code == 200
    finally:
        del db.obj.execute_sql
    assert len(writes) == 1
    with app.app_context():
        assert ApiKey.get().last_used_at is not None


# --- Authentication and scope ------------------------------------------------------------------


def test_wrong_revoked_and_malformed_keys_get_the_same_401(app):
    live = make_key(app)
    revoked = make_key(app, name="Revoked")
    revoke(app, revoked)
    wrong = live[:-4] + ("AAAA" if not live.endswith("AAAA") else "BBBB")
    client = app.test_client()
    answers = set()
    for headers in (
        {},
        auth(revoked),
        auth(wrong),
        auth("pbx_nonsense"),
        {"Authorization": "Basic abc"},
        {"Authorization": f"Bearer {live} extra"},
        {"Authorization": "Bearer"},
    ):
        response = client.get("/api/v1/customers", headers=headers)
        body = _problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
        answers.add(json.dumps(body, sort_keys=True))
    assert len(answers) == 1  # no hint which was wrong


def test_a_key_stops_working_when_its_administrator_is_no_longer_one(app):
    from webapp.models import WhiteLabelMembership

    secret = make_key(app)
    client = app.test_client()
    assert client.get("/api/v1/plans", headers=auth(secret)).status_code == 200
    with app.app_context():
        admin = User.get(User.email == ADMIN[0])
        WhiteLabelMembership.update(role=WhiteLabelMembership.STAFF).where(
            WhiteLabelMembership.user == admin.id
        ).execute()
    _problem(client.get("/api/v1/plans", headers=auth(secret)), 401, "unauthorized")


def test_a_read_only_key_reads_but_every_write_is_403(app, smtp):
    secret = make_key(app, scope=ApiKey.READ)
    client = app.test_client()
    assert client.get("/api/v1/customers", headers=auth(secret)).status_code == 200
    body = _problem(
        client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret)), 403, "read-only-key"
    )
    assert "read-only" in body["detail"]
    assert count(app, Customer, Customer.contact_email == "hana@matai-joinery.example.com") == 0


def test_a_browser_session_never_authenticates_an_api_call(app, admin_client):
    """Signed in as the administrator (session cookie and CSRF token), without a key: 401."""
    from conftest import csrf_token

    token = csrf_token(admin_client)
    for method, url in (("GET", "/api/v1/customers"), ("POST", "/api/v1/customers")):
        response = admin_client.open(url, method=method, json=customer_body(app), headers={"X-CSRFToken": token})
        _problem(response, 401, "unauthorized")
        assert "Set-Cookie" not in response.headers
    assert count(app, Customer, Customer.contact_email == "hana@matai-joinery.example.com") == 0


def test_the_api_ignores_the_password_change_a_session_owes(app, smtp):
    """A session whose user must change their password is redirected everywhere in the
    console; the API neither sees the session nor redirects."""
    with app.app_context():
        User.update(must_change_password=True).where(User.email == ADMIN[0]).execute()
    client = app.test_client()
    sign_in(client, *ADMIN)
    assert client.get("/customers/").status_code == 302
    secret = make_key(app)
    assert client.get("/api/v1/plans", headers=auth(secret)).status_code == 200


# --- Creating customers: the wizard's rules and words ------------------------------------------


def test_creating_a_customer_option_sends_the_activation_email_and_answers_pending(app, smtp):
    secret = make_key(app)
    response = app.test_client().post("/api/v1/customers", json=customer_body(app), headers=auth(secret))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/customers/{body['id']}"
    assert body["status"] == "pending_activation" and body["administered_by"]["option"] == "customer"
    assert body["activation"]["state"] == "pending" and body["activation"]["expires_at"].endswith("Z")
    assert body["contact"]["phone"] == "+64211234567"
    with app.app_context():
        customer = Customer.get_by_id(body["id"])
        assert (
            OutboxEmail.select().where((OutboxEmail.customer == customer) & (OutboxEmail.kind == "activation")).count()
            == 1
        )
        assert customer.created_by.email == ADMIN[0]
        audit = AuditEvent.get((AuditEvent.customer == customer) & (AuditEvent.action == "customer_created"))
        assert "api key" in audit.detail


def test_creating_a_white_label_option_charges_the_ledger_and_answers_active(app):
    secret = make_key(app)
    body = white_label_body(
        app,
        numbers=["+6495550100", "+6495550101"],
        pbx={
            "time_zone": "Pacific/Auckland",
            "extension_length": 4,
            "default_caller_id": "+6495550101",
            "call_recording": True,
        },
    )
    response = app.test_client().post("/api/v1/customers", json=body, headers=auth(secret))
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] == "active" and answer["activation"] is None
    assert answer["numbers"] == ["+6495550100", "+6495550101"]
    with app.app_context():
        customer = Customer.get_by_id(answer["id"])
        entry = LedgerEntry.get(LedgerEntry.customer == customer)
        assert entry.account == LedgerEntry.WHITE_LABEL and entry.amount == 7900
        assert CustomerMembership.get(CustomerMembership.customer == customer).user.email == ADMIN[0]
        settings = customer.pbx_settings.get()
        assert settings.extension_length == 4 and settings.default_caller_id == "+6495550101"
        assert settings.call_recording and settings.voicemail_to_email
        assert OutboxEmail.select().where(OutboxEmail.customer == customer).count() == 0
    assert answer["administered_by"]["account_administrators"] == [{"name": "Dana Admin", "email": ADMIN[0]}]


@pytest.mark.parametrize("option", ["customer", "white_label"])
def test_the_create_answers_exactly_what_a_get_of_the_new_customer_answers(app, smtp, option):
    """The create's answer skips look-ups that cannot apply to a customer made a moment ago
    (customer_json's just_created): it must not differ from what the customer's URL says."""
    secret, client = make_key(app), app.test_client()
    body = customer_body(app) if option == "customer" else white_label_body(app, numbers=["+6495550102"])
    created = client.post("/api/v1/customers", json=body, headers=auth(secret))
    assert created.status_code == 201, created.get_data(as_text=True)
    shown = client.get(created.headers["Location"], headers=auth(secret))
    assert shown.status_code == 200
    assert created.get_json() == shown.get_json()


def test_the_api_refuses_the_customer_option_without_a_payment_gateway_in_the_consoles_words(app):
    secret = make_key(app, OTHER)
    body = customer_body(app)
    body["plan"]["plan_id"] = plan_id(app, "Solo", OTHER)
    body["contact"]["phone"] = "02 5555 0123"
    body["address"].update(country="AU", postcode="2000", city="Sydney")
    errors = _errors(app.test_client().post("/api/v1/customers", json=body, headers=auth(secret)))
    with app.app_context():
        expected = CUSTOMER.unavailable_reason(WhiteLabel.get(WhiteLabel.slug == OTHER))
    assert errors == {"/option": expected}
    assert count(app, Customer, Customer.contact_email == "hana@matai-joinery.example.com") == 0


def _email_check_that_missed_the_other_create(monkeypatch):
    """The contact step's email check as it runs just before another create commits: it finds
    nobody, so only the database's unique index (migration 016) stands between the two."""

    def missed(form, field):
        form.normalised["email"] = field.data.strip().lower()

    monkeypatch.setattr(ContactForm, "validate_email", missed)


def test_the_email_index_refuses_a_second_live_customer_in_the_words_of_the_contact_step(
    app, admin_client, smtp, monkeypatch
):
    taken = "aroha@harbourplumbing.example.com"  # a demo customer's contact, pending activation
    before = count(app, Customer, Customer.contact_email == taken), count(app, OutboxEmail)
    _email_check_that_missed_the_other_create(monkeypatch)
    secret, key = make_key(app), new_idempotency_key()
    response = app.test_client().post(
        "/api/v1/customers", json=customer_body(app, email=taken), headers=auth(secret, key)
    )
    assert _errors(response) == {"/contact/email": EMAIL_TAKEN}
    assert count(app, ApiIdempotencyKey, ApiIdempotencyKey.key == key) == 0  # refused: the key is free again
    # The console's submit: back to the contact step with the field's error, the draft not used up.
    base = complete_customer_option(admin_client, app, business_name="Second Aroha Ltd", email=taken)
    response = post(admin_client, f"{base}/review")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert html.escape(EMAIL_TAKEN) in page and "<title>Error: " in page
    assert (count(app, Customer, Customer.contact_email == taken), count(app, OutboxEmail)) == before
    with app.app_context():
        assert CustomerDraft.get(CustomerDraft.key == base.rsplit("/", 1)[1]).submitted_at is None


def test_a_cancelled_customers_email_can_be_used_again_and_a_live_ones_cannot(app, smtp, monkeypatch):
    secret, client = make_key(app), app.test_client()
    body = customer_body(app, email="kauri@example.com")
    first = client.post("/api/v1/customers", json=body, headers=auth(secret))
    assert first.status_code == 201
    refused = client.post("/api/v1/customers", json=body, headers=auth(secret))
    assert _errors(refused) == {"/contact/email": EMAIL_TAKEN}
    cancel = client.post(f"/api/v1/customers/{first.get_json()['id']}/activation/cancel", headers=auth(secret))
    assert cancel.status_code == 200
    _email_check_that_missed_the_other_create(monkeypatch)  # the index, not the form, decides here
    assert client.post("/api/v1/customers", json=body, headers=auth(secret)).status_code == 201
    assert _errors(client.post("/api/v1/customers", json=body, headers=auth(secret))) == {"/contact/email": EMAIL_TAKEN}
    statuses = sorted(c.status for c in _customers(app, "kauri@example.com"))
    assert statuses == [Customer.CANCELLED, Customer.PENDING]


def _customers(app, email: str) -> list[Customer]:
    with app.app_context():
        return list(Customer.select().where(Customer.contact_email == email))


def test_the_api_refuses_a_po_box_service_address_and_a_taken_email_like_the_wizard(app, smtp):
    secret = make_key(app)
    body = customer_body(app, email="aroha@harbourplumbing.example.com")
    body["service_address"] = {"line1": "PO Box 4123", "city": "Wellington", "postcode": "6140"}
    errors = _errors(app.test_client().post("/api/v1/customers", json=body, headers=auth(secret)))
    assert errors["/contact/email"].startswith("This email is already the contact of another of your customers")
    # (the wizard stops at the first step with a problem; the address step's problem comes next)
    body["contact"]["email"] = "new@matai.example.com"
    errors = _errors(app.test_client().post("/api/v1/customers", json=body, headers=auth(secret)))
    assert errors == {"/service_address/line1": PO_BOX_MESSAGE}


def test_the_api_refuses_a_plan_beyond_the_white_labels_credit(app):
    secret = make_key(app)
    with app.app_context():
        WhiteLabel.update(credit_limit=1000).where(WhiteLabel.slug == DEMO).execute()
    errors = _errors(app.test_client().post("/api/v1/customers", json=white_label_body(app), headers=auth(secret)))
    assert list(errors) == ["/plan/plan_id"] and "Choose a smaller plan or add funds" in errors["/plan/plan_id"]
    assert count(app, LedgerEntry, LedgerEntry.reason.contains("Matai")) == 0


def test_the_api_refuses_a_taken_number_and_too_many_numbers(app):
    secret = make_key(app)
    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
        PhoneNumber.update(customer=harbour).where(PhoneNumber.number == "+6495550100").execute()
    errors = _errors(
        app.test_client().post(
            "/api/v1/customers", json=white_label_body(app, numbers=["+6495550100"]), headers=auth(secret)
        )
    )
    assert errors == {"/numbers": "09 555 0100 is no longer available. Choose another number."}
    too_many = white_label_body(app, plan="Business", numbers=[f"+649555{n:04d}" for n in range(101, 107)])
    errors = _errors(app.test_client().post("/api/v1/customers", json=too_many, headers=auth(secret)))
    assert errors["/numbers"].startswith("Choose at most 5 numbers")


def test_a_customer_option_request_cannot_carry_the_white_label_options_fields(app):
    secret = make_key(app)
    body = customer_body(app)
    body["numbers"] = ["+6495550100"]
    body["contact"]["authorized"] = True
    errors = _errors(app.test_client().post("/api/v1/customers", json=body, headers=auth(secret)))
    assert set(errors) == {"/numbers", "/contact/authorized"}
    assert _errors(
        app.test_client().post("/api/v1/customers", json={**body, "option": "reseller"}, headers=auth(secret))
    ).keys() == {"/option"}


# --- Problem details ---------------------------------------------------------------------------


def test_bad_requests_are_problems_never_500s(app):
    secret = make_key(app)
    client = app.test_client()
    json_headers = {**auth(secret), "Content-Type": "application/json"}
    _problem(client.post("/api/v1/customers", data="{not json", headers=json_headers), 400, "bad-request")
    _problem(client.post("/api/v1/customers", data="x" * 40_000, headers=json_headers), 413, "too-large")
    _problem(
        client.post(
            "/api/v1/customers",
            data="option=customer",
            headers={**auth(secret), "Content-Type": "application/x-www-form-urlencoded"},
        ),
        415,
        "unsupported-media-type",
    )
    _problem(client.post("/api/v1/customers", headers=auth(secret)), 415, "unsupported-media-type")
    for body in ([], "text", 5, None, {"option": 5}, {"option": "customer", "contact": "x"}):
        _problem(client.post("/api/v1/customers", data=json.dumps(body), headers=json_headers), 422, "validation")
    errors = _errors(
        client.post("/api/v1/customers", json={**customer_body(app), "plan": {"plan_id": "1"}}, headers=auth(secret))
    )
    assert list(errors) == ["/plan/plan_id"]  # "1" is not 1: no guessing at types
    errors = _errors(
        client.post(
            "/api/v1/customers",
            json={**customer_body(app), "contact": {**customer_body(app)["contact"], "business_name": "Nul\x00Ltd"}},
            headers=auth(secret),
        )
    )
    assert list(errors) == ["/contact/business_name"]
    _problem(client.get("/api/v1/customers/999999", headers=auth(secret)), 404, "not-found")
    _problem(client.get("/api/v1/no-such-thing", headers=auth(secret)), 404, "not-found")
    response = client.delete("/api/v1/customers", headers=auth(secret))
    _problem(response, 405, "method-not-allowed")
    assert "POST" in response.headers["Allow"]
    errors = _errors(client.get("/api/v1/customers?limit=1000&colour=red", headers=auth(secret)))
    assert set(errors) == {"limit", "colour"}
    assert set(_errors(client.get("/api/v1/customers?cursor=yesterday", headers=auth(secret)))) == {"cursor"}
    _problem(
        client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret, "has space")), 400, "bad-request"
    )


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_the_same_key_and_body_replay_the_first_answer_and_create_once(app, smtp):
    secret = make_key(app)
    client = app.test_client()
    key = new_idempotency_key()
    first = client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret, key))
    # The same body with its keys in another order is the same request.
    body = customer_body(app)
    again = client.post(
        "/api/v1/customers",
        data=json.dumps(dict(reversed(list(body.items())))),
        headers={**auth(secret, key), "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert count(app, Customer, Customer.contact_email == "hana@matai-joinery.example.com") == 1
    assert (
        count(
            app,
            OutboxEmail,
            OutboxEmail.kind == "activation",
            OutboxEmail.recipient == "hana@matai-joinery.example.com",
        )
        == 1
    )


def test_the_same_key_with_another_body_is_refused(app, smtp):
    secret = make_key(app)
    client = app.test_client()
    key = new_idempotency_key()
    assert client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret, key)).status_code == 201
    other = customer_body(app, email="someone-else@matai.example.com")
    body = _problem(
        client.post("/api/v1/customers", json=other, headers=auth(secret, key)), 422, "idempotency-key-reused"
    )
    assert "different" in body["detail"]
    cancel = client.post("/api/v1/customers/1/activation/cancel", headers=auth(secret, key))  # another URL
    _problem(cancel, 422, "idempotency-key-reused")
    assert count(app, Customer, Customer.contact_email == "someone-else@matai.example.com") == 0


def test_a_refused_request_keeps_no_key_so_the_corrected_one_goes_through(app, smtp):
    secret = make_key(app)
    client = app.test_client()
    key = new_idempotency_key()
    wrong = customer_body(app, email="not an email")
    assert client.post("/api/v1/customers", json=wrong, headers=auth(secret, key)).status_code == 422
    assert count(app, ApiIdempotencyKey) == 0
    assert client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret, key)).status_code == 201


def test_keys_are_forgotten_after_24_hours_and_belong_to_one_white_label(app, smtp):
    secret, other = make_key(app), make_key(app, OTHER)
    client = app.test_client()
    key = new_idempotency_key()
    assert client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret, key)).status_code == 201
    # Other Voice using the same key string is another request of another white-label.
    response = client.get("/api/v1/plans", headers=auth(other, key))
    assert response.status_code == 200
    with app.app_context():
        ApiIdempotencyKey.update(created_at=utcnow() - dt.timedelta(hours=24, seconds=1)).execute()
    second = client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret, key))
    errors = _errors(second)  # not a replay any more: the wizard's rule about the email answers
    assert "/contact/email" in errors
    # The expired key was forgotten when it came again; the refused request stored none.
    assert count(app, ApiIdempotencyKey) == 0
    fresh = client.post(
        "/api/v1/customers",
        json=customer_body(app, email="fresh@matai.example.com"),
        headers=auth(secret, new_idempotency_key()),
    )
    assert fresh.status_code == 201
    with app.app_context():
        from webapp.api.idempotency import purge_expired

        assert purge_expired() == 0  # a fresh key stays
        ApiIdempotencyKey.update(created_at=utcnow() - dt.timedelta(days=2)).execute()
        assert purge_expired() == 1
        assert ApiIdempotencyKey.select().count() == 0


def test_a_post_without_an_idempotency_key_is_accepted_and_a_blind_retry_is_refused_not_doubled(app, smtp):
    secret = make_key(app)
    client = app.test_client()
    assert client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret)).status_code == 201
    errors = _errors(client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret)))
    assert "/contact/email" in errors
    assert count(app, Customer, Customer.contact_email == "hana@matai-joinery.example.com") == 1


# --- Reading -------------------------------------------------------------------------------------


def test_the_customer_list_pages_by_cursor_without_repeats_when_customers_are_added(app, smtp):
    secret = make_key(app)
    client = app.test_client()
    with app.app_context():
        total = Customer.select().join(WhiteLabel).where(WhiteLabel.slug == DEMO).count()
    first = client.get("/api/v1/customers?limit=2", headers=auth(secret)).get_json()
    assert len(first["data"]) == 2 and first["has_more"]
    # A customer created meanwhile goes to the top and shifts nothing that is still to come.
    assert client.post("/api/v1/customers", json=customer_body(app), headers=auth(secret)).status_code == 201
    seen = [c["id"] for c in first["data"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/customers?limit=2&cursor={cursor}", headers=auth(secret)).get_json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == total


def test_the_customer_list_filters_by_status_and_searches(app):
    secret = make_key(app)
    client = app.test_client()
    pending = client.get("/api/v1/customers?status=pending_activation", headers=auth(secret)).get_json()["data"]
    assert [c["business_name"] for c in pending] == ["Rimu Accounting"]
    found = client.get("/api/v1/customers?q=harbour", headers=auth(secret)).get_json()["data"]
    assert [c["business_name"] for c in found] == ["Harbour Plumbing Ltd"]
    other = client.get("/api/v1/customers", headers=auth(make_key(app, OTHER))).get_json()["data"]
    assert [c["business_name"] for c in other] == ["Wattle Legal"]


def test_one_customer_shows_status_administrator_activation_balance_plan_and_numbers(app, admin_client, smtp):
    secret = make_key(app)
    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
    body = app.test_client().get(f"/api/v1/customers/{harbour.id}", headers=auth(secret)).get_json()
    assert body["status"] == "active" and body["administered_by"]["option"] == "white_label"
    assert body["administered_by"]["label"] == "White-label"
    assert body["plan"]["name"] == "Business" and body["balance"]["currency"] == "NZD"
    base = complete_customer_option(admin_client, app, email="tracked@matai.example.com")
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        tracked = Customer.get(Customer.contact_email == "tracked@matai.example.com")
    body = app.test_client().get(f"/api/v1/customers/{tracked.id}", headers=auth(secret)).get_json()
    assert body["activation"]["state"] == "pending" and body["activation"]["emails_sent"] == 1


def test_plans_and_available_numbers(app):
    secret = make_key(app)
    client = app.test_client()
    plans = client.get("/api/v1/plans", headers=auth(secret)).get_json()["data"]
    assert [p["name"] for p in plans] == ["Starter", "Business", "Call Centre"]
    assert plans[0]["monthly_price"] == {"amount": 2900, "currency": "NZD"}
    page = client.get("/api/v1/numbers/available?limit=10", headers=auth(secret)).get_json()
    numbers = [n["number"] for n in page["data"]]
    rest = client.get(
        "/api/v1/numbers/available", query_string={"limit": 100, "cursor": page["next_cursor"]}, headers=auth(secret)
    ).get_json()
    assert len(numbers + [n["number"] for n in rest["data"]]) == 25 and not rest["has_more"]
    found = client.get("/api/v1/numbers/available?contains=0123", headers=auth(secret)).get_json()["data"]
    assert [n["display"] for n in found] == ["+64 9 555 0123"]


# --- Following up: resend, cancel, invite ----------------------------------------------------------


def test_resend_and_cancel_follow_the_consoles_rules(app, smtp):
    secret = make_key(app)
    client = app.test_client()
    with app.app_context():
        rimu = Customer.get(Customer.business_name == "Rimu Accounting")
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
        tui = Customer.get(Customer.business_name == "Tui Cafe")
    resent = client.post(f"/api/v1/customers/{rimu.id}/activation/resend", headers=auth(secret))
    assert resent.status_code == 200 and resent.get_json()["activation"]["state"] == "pending"
    assert count(app, OutboxEmail, OutboxEmail.customer == rimu.id, OutboxEmail.kind == "activation") == 1
    body = _problem(
        client.post(f"/api/v1/customers/{harbour.id}/activation/resend", headers=auth(secret)), 409, "conflict"
    )
    assert "Harbour Plumbing Ltd is active" in body["detail"]
    revived = client.post(f"/api/v1/customers/{tui.id}/activation/resend", headers=auth(secret)).get_json()
    assert revived["status"] == "pending_activation"
    cancelled = client.post(f"/api/v1/customers/{rimu.id}/activation/cancel", headers=auth(secret))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["activation"]["state"] == "cancelled"
    _problem(client.post(f"/api/v1/customers/{rimu.id}/activation/cancel", headers=auth(secret)), 409, "conflict")


def test_resends_through_the_api_and_the_console_share_one_limit(app, admin_client, smtp):
    app.config["RESEND_RATE_LIMIT"] = "3 per hour"
    secret = make_key(app)
    with app.app_context():
        rimu = Customer.get(Customer.business_name == "Rimu Accounting")
    for _ in range(2):
        assert post(admin_client, f"/customers/{rimu.id}/activation/resend").status_code == 303
    client = app.test_client()
    assert client.post(f"/api/v1/customers/{rimu.id}/activation/resend", headers=auth(secret)).status_code == 200
    response = client.post(f"/api/v1/customers/{rimu.id}/activation/resend", headers=auth(secret))
    _problem(response, 429, "rate-limited")
    assert int(response.headers["Retry-After"]) > 0


def test_inviting_a_user_into_a_white_label_administered_account(app, smtp):
    secret = make_key(app)
    client = app.test_client()
    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
        kauri = Customer.get(Customer.business_name == "Kauri Dental")
    person = {"first_name": "Mere", "last_name": "Tawhiri", "email": "Mere@Harbour.example.com", "extension": "201"}
    response = client.post(f"/api/v1/customers/{harbour.id}/users", json=person, headers=auth(secret))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["email"] == "mere@harbour.example.com" and response.get_json()["invited"]
    assert (
        count(app, OutboxEmail, OutboxEmail.kind == "invitation", OutboxEmail.recipient == "mere@harbour.example.com")
        == 1
    )
    errors = _errors(
        client.post(
            f"/api/v1/customers/{harbour.id}/users",
            json={**person, "email": "x@harbour.example.com"},
            headers=auth(secret),
        )
    )
    assert errors == {"/extension": "Extension 201 is already taken in this account. Choose another."}
    errors = _errors(
        client.post(f"/api/v1/customers/{harbour.id}/users", json={**person, "extension": "20"}, headers=auth(secret))
    )
    assert errors == {"/extension": "Enter an extension of exactly 3 digits."}
    body = _problem(
        client.post(f"/api/v1/customers/{kauri.id}/users", json=person, headers=auth(secret)), 403, "forbidden"
    )
    assert "administers their own account" in body["detail"]


def test_inviting_someone_who_has_an_account_reveals_nothing_of_it_through_the_api(app, smtp):
    """As in the console (issue 12): the answer shows only what the shop sent, and the person
    stays Invited; the API must not be a second door to another account's name."""
    secret = make_key(app)
    client = app.test_client()
    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
    answers = {}
    for email in ("grace@wattlelegal.example.com", "nobody-yet@harbour.example.com"):  # has an account / has not
        person = {
            "first_name": "Typed",
            "last_name": "Name",
            "email": email,
            "extension": "201" if email.startswith("grace") else "202",
        }
        response = client.post(f"/api/v1/customers/{harbour.id}/users", json=person, headers=auth(secret))
        assert response.status_code == 201, response.get_data(as_text=True)
        answer = response.get_json()
        answers[email] = {k: v for k, v in answer.items() if k not in ("id", "email", "extension")}
    assert answers["grace@wattlelegal.example.com"] == answers["nobody-yet@harbour.example.com"]
    assert answers["grace@wattlelegal.example.com"]["first_name"] == "Typed"
    assert answers["grace@wattlelegal.example.com"]["status"] == "invited"


# --- Rate limits ----------------------------------------------------------------------------------


def test_each_key_has_its_own_rate_limit_with_retry_after_and_ratelimit_headers(app):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    first, second = make_key(app), make_key(app, name="Second")
    client = app.test_client()
    for remaining in (2, 1, 0):
        response = client.get("/api/v1/plans", headers=auth(first))
        assert response.status_code == 200
        assert response.headers["RateLimit-Policy"] == '"per-key";q=3;w=60'
        assert response.headers["RateLimit"].startswith(f'"per-key";r={remaining};t=')
    refused = client.get("/api/v1/plans", headers=auth(first))
    body = _problem(refused, 429, "rate-limited")
    assert 0 < int(refused.headers["Retry-After"]) <= 60 and "seconds" in body["detail"]
    assert client.get("/api/v1/plans", headers=auth(second)).status_code == 200


# --- The document ---------------------------------------------------------------------------------


def test_the_openapi_document_is_3_1_generated_and_covers_every_api_route(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    routes = {
        (rule.rule.replace("<int:customer_id>", "{customer_id}"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert routes == documented
    for ops in document["paths"].values():
        for method, op in ops.items():
            assert {"400", "401", "429"} <= set(op["responses"])
            if method == "post":
                assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])
            for status, answer in op["responses"].items():
                if status >= "400":
                    assert list(answer["content"]) == ["application/problem+json"]
    contact = document["components"]["schemas"]["Contact"]
    assert contact["additionalProperties"] is False and contact["properties"]["business_name"]["maxLength"] == 200


def test_the_reference_page_is_built_from_the_document_under_the_strict_csp(app):
    response = app.test_client().get("/api/docs/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "https://cdn" not in html and "unpkg" not in html
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    for ops in document["paths"].values():
        for op in ops.values():
            assert f'id="{op["operationId"]}"' in html
    for slug in ("validation", "idempotency-key-reused", "unauthorized", "rate-limited"):
        assert f'id="problem-{slug}"' in html
    assert "/contact/email" in html or "contact" in html


def test_the_purge_command_forgets_keys_older_than_24_hours(app, runner, smtp):
    secret = make_key(app)
    client = app.test_client()
    for email in ("old@matai.example.com", "new@matai.example.com"):
        response = client.post(
            "/api/v1/customers", json=customer_body(app, email=email), headers=auth(secret, new_idempotency_key())
        )
        assert response.status_code == 201
    with app.app_context():
        oldest = ApiIdempotencyKey.select().order_by(ApiIdempotencyKey.id).first()
        ApiIdempotencyKey.update(created_at=utcnow() - dt.timedelta(hours=25)).where(
            ApiIdempotencyKey.id == oldest.id
        ).execute()
    result = runner.invoke(args=["api", "purge-idempotency-keys"])
    assert result.exit_code == 0 and "Forgot 1 Idempotency-Keys" in result.output
    assert count(app, ApiIdempotencyKey) == 1


def test_an_archived_customer_is_still_listed_and_says_when_it_was_archived(app, admin_client):
    """Archiving tidies the console's list; a shop that follows its customers by the API still
    finds each one, and can tell the archived ones apart."""
    secret, client = make_key(app), app.test_client()
    with app.app_context():
        kea = Customer.get(Customer.business_name == "Kea Couriers").id  # cancelled, so it may be archived
    assert client.get(f"/api/v1/customers/{kea}", headers=auth(secret)).get_json()["archived_at"] is None
    assert post(admin_client, f"/customers/{kea}/archive").status_code == 303
    shown = client.get(f"/api/v1/customers/{kea}", headers=auth(secret)).get_json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", shown["archived_at"]), shown["archived_at"]
    listed = client.get("/api/v1/customers?q=Kea", headers=auth(secret)).get_json()["data"]
    assert [(c["id"], c["archived_at"]) for c in listed] == [(kea, shown["archived_at"])]
    others = client.get("/api/v1/customers?limit=100", headers=auth(secret)).get_json()["data"]
    assert all(c["archived_at"] is None for c in others if c["id"] != kea)
