import re
import threading

import pytest

from conftest import ADMIN, OTHER_ADMIN, STAFF, csrf_token, sign_in
from testkit.activation import PASSWORD, create_pending_customer, submit_activation
from testkit.mail import emailed_link, path_of, token_of
from testkit.wizard import complete_white_label_option, plan_id, post
from webapp.models import (
    ALL_MODELS,
    AuditEvent,
    Customer,
    CustomerMembership,
    LedgerEntry,
    OutboxEmail,
    PbxSettings,
    PhoneNumber,
    User,
)

INVITEE = {
    "first_name": "Tama",
    "last_name": "Rangi",
    "email": "tama@matai-joinery.example.com",
    "extension": "201",
    "role": "user",
    "setup": "invite",
}


def snapshot(app):
    with app.app_context():
        return {m.__name__: sorted(map(str, m.select().tuples())) for m in ALL_MODELS}


@pytest.fixture
def managed(app, admin_client):
    """An option-2 customer (the demo administrator is its Account Administrator): its id."""
    base = complete_white_label_option(admin_client, app, plan="Business", numbers=["+6495550100"])
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        return Customer.get(Customer.business_name == "Matai Joinery Ltd").id


def invitation_link(app, smtp, email):
    """The path of the newest invitation link `email` received (delivered to the test SMTP server)."""
    return path_of(emailed_link(app, smtp, email, "/invite/"))


# --- The customer page -------------------------------------------------------------------


def test_customer_page_shows_the_whole_account(app, admin_client, managed):
    html = admin_client.get(f"/customers/{managed}").get_data(as_text=True)
    for text in [
        "Balance and ledger",
        "Phone numbers",
        "09 555 0100",
        "PBX settings",
        "Pacific/Auckland".replace("_", " "),
        "Users",
        "Dana Admin",
        "Account administrator",
        "History",
        "Customer created",
    ]:
        assert text in html, text
    assert "Add a user" in html and "Release" in html and "Hand over to the customer" in html


def test_staff_see_the_customer_page_read_only(app, staff_client, managed):
    html = staff_client.get(f"/customers/{managed}").get_data(as_text=True)
    assert "09 555 0100" in html and "Users" in html
    for control in ["Add a user", "Release", "Change plan", "Hand over", "Suspend", "Assign"]:
        assert control not in html, control


# --- Numbers ------------------------------------------------------------------------------


def number_id(app, number):
    with app.app_context():
        return PhoneNumber.get(PhoneNumber.number == number).id


def test_assign_and_release_numbers(app, admin_client, managed):
    response = post(admin_client, f"/customers/{managed}/numbers", {"number": number_id(app, "+6495550110")})
    assert response.status_code == 303
    with app.app_context():
        assert PhoneNumber.get(PhoneNumber.number == "+6495550110").customer_id == managed
    post(admin_client, f"/customers/{managed}/numbers/{number_id(app, '+6495550100')}/release")
    with app.app_context():
        assert PhoneNumber.get(PhoneNumber.number == "+6495550100").customer_id is None
        actions = [e.action for e in AuditEvent.select().where(AuditEvent.customer == managed)]
    assert "number_assigned" in actions and "number_released" in actions


def test_plan_limit_on_numbers(app, admin_client, managed):
    for n in range(101, 105):
        post(admin_client, f"/customers/{managed}/numbers", {"number": number_id(app, f"+6495550{n}")})
    response = post(
        admin_client, f"/customers/{managed}/numbers", {"number": number_id(app, "+6495550120")}, follow_redirects=True
    )
    assert "The Business plan includes 5 numbers" in response.get_data(as_text=True)
    with app.app_context():
        assert PhoneNumber.select().where(PhoneNumber.customer == managed).count() == 5


def test_a_number_is_never_on_two_customers_under_concurrent_requests(
    app, admin_client, managed, monkeypatch, record_figure
):
    from testkit.races import Overlap
    from webapp.accounts import service

    race = Overlap("assign_number()")
    race.patch(monkeypatch, service, "assign_number")
    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd").id
    target = number_id(app, "+6495550115")
    clients = [app.test_client(), app.test_client()]
    for c in clients:
        sign_in(c, *ADMIN)
    tokens = [csrf_token(c) for c in clients]
    barrier = threading.Barrier(2)

    def run(i, customer_id):
        barrier.wait()
        clients[i].post(f"/customers/{customer_id}/numbers", data={"number": target, "csrf_token": tokens[i]})

    threads = [threading.Thread(target=run, args=(0, managed)), threading.Thread(target=run, args=(1, harbour))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    together = race.assert_overlapped()
    with app.app_context():
        assert PhoneNumber.get_by_id(target).customer_id in (managed, harbour)
        assert AuditEvent.select().where(AuditEvent.action == "number_assigned").count() == 1
    record_figure(
        "concurrency (one number, two customers)",
        f"both inside assign_number() at once ({together:.0f} ms together): assigned once",
    )


# --- PBX settings and plan --------------------------------------------------------------


def test_edit_pbx_settings(app, admin_client, managed):
    response = post(
        admin_client,
        f"/customers/{managed}/pbx",
        {
            "time_zone": "Pacific/Chatham",
            "extension_length": "4",
            "default_caller_id": "+6495550100",
            "call_recording": "y",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        s = PbxSettings.get(PbxSettings.customer == managed)
        assert (s.time_zone, s.extension_length, s.default_caller_id, s.call_recording, s.voicemail_to_email) == (
            "Pacific/Chatham",
            4,
            "+6495550100",
            True,
            False,
        )


def test_dearer_plan_charges_the_difference_to_the_white_label(app, admin_client, managed):
    response = post(admin_client, f"/customers/{managed}/plan", {"plan": plan_id(app, "Call Centre")})
    assert response.status_code == 303
    with app.app_context():
        entries = [
            (e.kind, e.amount)
            for e in LedgerEntry.select()
            .where((LedgerEntry.customer == managed) & (LedgerEntry.account == "white_label"))
            .order_by(LedgerEntry.id)
        ]
        assert entries == [("debit", 7900), ("debit", 24900 - 7900)]
        assert Customer.get_by_id(managed).plan.name == "Call Centre"


# --- Users -------------------------------------------------------------------------------


def test_invited_user_sets_a_password_and_signs_in_to_the_account(app, admin_client, managed, smtp):
    response = post(admin_client, f"/customers/{managed}/users/new", INVITEE)
    assert response.status_code == 303
    link = invitation_link(app, smtp, INVITEE["email"])
    invitee = app.test_client()
    page = invitee.get(link)
    assert page.status_code == 200 and "Join Matai Joinery Ltd" in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    joined = invitee.post(link, data={"csrf_token": token, "password": PASSWORD, "confirm_password": PASSWORD})
    assert joined.status_code == 303 and joined.headers["Location"] == "/account/"
    home = invitee.get("/account/").get_data(as_text=True)
    assert "Matai Joinery Ltd" in home and "201" in home
    assert "Add a user" not in home  # a User, not an Account Administrator
    assert invitee.get(link).status_code == 410
    fresh = app.test_client()
    assert sign_in(fresh, INVITEE["email"], PASSWORD).headers["Location"] == "/account/"


def test_invitation_resend_revokes_the_old_link(app, admin_client, managed, smtp):
    post(admin_client, f"/customers/{managed}/users/new", INVITEE)
    old = invitation_link(app, smtp, INVITEE["email"])
    with app.app_context():
        membership = CustomerMembership.get(CustomerMembership.extension == "201")
    post(admin_client, f"/customers/{managed}/users/{membership.id}/resend")
    new = invitation_link(app, smtp, INVITEE["email"])
    client = app.test_client()
    assert old != new
    assert client.get(old).status_code == 410 and client.get(new).status_code == 200


def test_set_password_now_forces_a_change_at_first_sign_in(app, admin_client, managed):
    temporary = "temporary-harbour-kauri-51"
    post(admin_client, f"/customers/{managed}/users/new", {**INVITEE, "setup": "password", "password": temporary})
    person = app.test_client()
    sign_in(person, INVITEE["email"], temporary)
    response = person.get("/account/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile")
    page = person.get("/profile").get_data(as_text=True)
    assert "Choose your own password" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    person.post(
        "/profile/password",
        data={"csrf_token": token, "current_password": temporary, "password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert person.get("/account/").status_code == 200
    with app.app_context():
        assert User.get(User.email == INVITEE["email"]).must_change_password is False


def test_duplicate_email_in_the_account_is_refused(app, admin_client, managed):
    post(admin_client, f"/customers/{managed}/users/new", INVITEE)
    response = post(admin_client, f"/customers/{managed}/users/new", {**INVITEE, "extension": "202"})
    assert response.status_code == 422
    assert "already a user in this account" in response.get_data(as_text=True)


def test_the_same_person_may_belong_to_two_customers(app, admin_client, managed):
    post(admin_client, f"/customers/{managed}/users/new", INVITEE)
    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd").id
    assert post(admin_client, f"/customers/{harbour}/users/new", INVITEE).status_code == 303
    with app.app_context():
        assert CustomerMembership.select().join(User).where(User.email == INVITEE["email"]).count() == 2


@pytest.mark.parametrize(
    "extension,message", [("20", "exactly 3 digits"), ("2a1", "exactly 3 digits"), ("2011", "exactly 3 digits")]
)
def test_extension_rules(app, admin_client, managed, extension, message):
    response = post(admin_client, f"/customers/{managed}/users/new", {**INVITEE, "extension": extension})
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_extension_is_unique_within_the_customer(app, admin_client, managed):
    post(admin_client, f"/customers/{managed}/users/new", INVITEE)
    response = post(admin_client, f"/customers/{managed}/users/new", {**INVITEE, "email": "other@matai.example.com"})
    assert response.status_code == 422 and "Extension 201 is already taken" in response.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in(app, admin_client, managed):
    temporary = "temporary-harbour-kauri-51"
    post(admin_client, f"/customers/{managed}/users/new", {**INVITEE, "setup": "password", "password": temporary})
    with app.app_context():
        membership = CustomerMembership.get(CustomerMembership.extension == "201")
    assert post(admin_client, f"/customers/{managed}/users/{membership.id}/deactivate").status_code == 303
    response = sign_in(app.test_client(), INVITEE["email"], temporary)
    assert response.status_code == 403 and "disabled" in response.get_data(as_text=True)
    with app.app_context():
        assert CustomerMembership.get_by_id(membership.id).active is False  # history stays


# --- The customer's own portal -------------------------------------------------------------


@pytest.fixture
def activated(app, admin_client, smtp):
    """An option-1 customer activated by its contact; returns (customer id, signed-in contact client)."""
    customer_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    return customer_id, contact


def test_account_administrator_tops_up_by_card(app, activated):
    """The amount first, then the card on a step whose button says the amount (issue 13)."""
    customer_id, contact = activated
    token = csrf_token(contact)
    chosen = contact.post(f"/account/{customer_id}/top-up", data={"csrf_token": token, "amount": "25.50"})
    assert chosen.status_code == 303
    pay_url = chosen.headers["Location"]
    page = contact.get(pay_url).get_data(as_text=True)
    assert "Pay NZ$25.50" in page
    hidden = {
        "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1),
        "attempt": re.search(r'id="attempt" name="attempt" type="hidden" value="([^"]*)"', page).group(1),
        "amount": "2550",
    }
    card = {"card_name": "Hana", "card_number": "4242 4242 4242 4242", "card_expiry": "12/34", "security_code": "737"}
    response = contact.post(pay_url, data={**hidden, **card})
    assert response.status_code == 303
    again = contact.post(pay_url, data={**hidden, **card})
    assert again.status_code == 303  # the same attempt twice charges once
    home = contact.get("/account/").get_data(as_text=True)
    assert "NZ$100.50" in home  # 75.00 opening + 25.50
    declined = contact.post(pay_url, data={**hidden, "attempt": "b" * 32, **card, "card_number": "4000 0000 0000 0002"})
    assert declined.status_code == 422 and "declined" in declined.get_data(as_text=True)


def test_account_administrator_manages_users_and_pbx(app, activated):
    customer_id, contact = activated
    token = csrf_token(contact)
    response = contact.post(
        f"/account/{customer_id}/users/new", data={**INVITEE, "email": "sam@matai.example.com", "csrf_token": token}
    )
    assert response.status_code == 303
    response = contact.post(
        f"/account/{customer_id}/pbx",
        data={"time_zone": "Pacific/Auckland", "extension_length": "4", "default_caller_id": "", "csrf_token": token},
    )
    assert response.status_code == 303
    home = contact.get("/account/").get_data(as_text=True)
    assert "sam@matai.example.com" in home and "4 digits" in home


def test_white_label_sees_but_cannot_change_a_customer_administered_account(app, admin_client, activated):
    customer_id, _ = activated
    before = snapshot(app)
    assert post(admin_client, f"/customers/{customer_id}/users/new", INVITEE).status_code == 403
    assert (
        post(admin_client, f"/customers/{customer_id}/pbx", {"time_zone": "UTC", "extension_length": "3"}).status_code
        == 403
    )
    assert post(admin_client, f"/customers/{customer_id}/plan", {"plan": plan_id(app, "Starter")}).status_code == 403
    assert snapshot(app) == before
    html = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "The customer administers this account" in html and "NZ$75.00" in html


def test_suspend_and_reactivate_with_a_reason(app, admin_client, activated):
    customer_id, _ = activated
    assert post(admin_client, f"/customers/{customer_id}/status", {"reason": ""}).status_code == 422
    assert post(admin_client, f"/customers/{customer_id}/status", {"reason": "Unpaid invoice"}).status_code == 303
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.SUSPENDED
        event = AuditEvent.select().where(AuditEvent.action == "suspended").get()
        assert "Unpaid invoice" in event.detail
    post(admin_client, f"/customers/{customer_id}/status", {"reason": "Paid"})
    with app.app_context():
        assert Customer.get_by_id(customer_id).status == Customer.ACTIVE


# --- White-label billing -----------------------------------------------------------------


def test_billing_shows_balance_and_debits_with_links_and_exports_csv(app, admin_client, managed):
    html = admin_client.get("/settings/billing").get_data(as_text=True)
    assert "−NZ$79.00" in html and f'href="/customers/{managed}"' in html
    assert "NZ$4,921.00" in html  # available: 5,000 credit − 79
    csv = admin_client.get("/settings/billing.csv")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("date_utc,type,amount")
    assert ",debit,-79.00,NZD,First month of Business for Matai Joinery Ltd," in lines[1]


def test_the_billing_export_never_runs_a_cell_as_a_formula(app, admin_client, managed):
    """A business name or reason that starts like a formula (a tab or carriage return before it
    too) is quoted; the amounts stay numbers."""
    from csv import reader
    from io import StringIO

    with app.app_context():
        Customer.update(business_name="\t=HYPERLINK(1)").where(Customer.id == managed).execute()
        LedgerEntry.update(reason="\r@SUM(1)").where(LedgerEntry.customer == managed).execute()
    text = admin_client.get("/settings/billing.csv").get_data(as_text=True)
    row = list(reader(StringIO(text)))[1]
    assert row[2] == "-79.00" and row[4] == "'\r@SUM(1)" and row[6] == "'\t=HYPERLINK(1)"


def test_staff_and_other_white_labels_cannot_see_billing(app, staff_client, other_admin_client, managed):
    assert staff_client.get("/settings/billing").status_code == 403
    assert "Matai" not in other_admin_client.get("/settings/billing.csv").get_data(as_text=True)


# --- Hand-over ---------------------------------------------------------------------------


def test_hand_over_makes_the_customer_the_administrator(app, admin_client, managed, smtp):
    assert "Hand over to the customer" in admin_client.get(f"/customers/{managed}/hand-over").get_data(as_text=True)
    assert post(admin_client, f"/customers/{managed}/hand-over").status_code == 303
    with app.app_context():
        email = OutboxEmail.select().where(OutboxEmail.kind == "activation").get()
        assert Customer.get_by_id(managed).administered_by == "white_label"  # nothing changes until they activate
    contact = app.test_client()
    assert submit_activation(contact, token_of(emailed_link(app, smtp, email.recipient))).status_code == 303
    with app.app_context():
        customer = Customer.get_by_id(managed)
        admin = User.get(User.email == ADMIN[0])
        assert customer.administered_by == "customer" and customer.status == "active"
        assert (
            not CustomerMembership.select()
            .where((CustomerMembership.customer == managed) & (CustomerMembership.user == admin.id))
            .exists()
        )
    assert post(admin_client, f"/customers/{managed}/users/new", INVITEE).status_code == 403


# --- Authorization matrix ------------------------------------------------------------------


def _people(app, managed, activated_id):
    """Clients for every role, signed in."""
    clients = {}
    for role, creds in {"wl_admin": ADMIN, "wl_staff": STAFF, "other_wl_admin": OTHER_ADMIN}.items():
        c = app.test_client()
        sign_in(c, *creds)
        clients[role] = c
    return clients


def test_authorization_matrix(app, admin_client, managed, activated, smtp):
    activated_id, contact = activated
    # A user (not administrator) in the activated account, and the administrator of another customer.
    contact.post(
        f"/account/{activated_id}/users/new",
        data={
            **INVITEE,
            "setup": "password",
            "password": "temporary-harbour-kauri-51",
            "csrf_token": csrf_token(contact),
        },
    )
    user = app.test_client()
    sign_in(user, INVITEE["email"], "temporary-harbour-kauri-51")
    user.post(
        "/profile/password",
        data={
            "csrf_token": csrf_token(user),
            "current_password": "temporary-harbour-kauri-51",
            "password": PASSWORD,
            "confirm_password": PASSWORD,
        },
    )
    clients = _people(app, managed, activated_id)
    clients["customer_admin"] = contact
    clients["customer_user"] = user
    other_customer_id, other_token = create_pending_customer(
        app, admin_client, smtp, email="x@other-biz.example.com", business_name="Other Biz"
    )
    other_admin = app.test_client()
    submit_activation(other_admin, other_token)
    clients["other_customer_admin"] = other_admin

    m = managed
    a = activated_id
    # (method, url, data) -> {role: expected status}; anything unlisted is a refusal (403/404/302).
    cases = [
        ("GET", f"/customers/{m}", {"wl_admin": 200, "wl_staff": 200}),
        ("GET", f"/customers/{m}/users/new", {"wl_admin": 200}),
        ("POST", f"/customers/{m}/users/new", {"wl_admin": 303}),
        ("POST", f"/customers/{m}/numbers", {"wl_admin": 303}),
        ("POST", f"/customers/{m}/pbx", {"wl_admin": 303}),
        ("GET", f"/customers/{m}/hand-over", {"wl_admin": 200}),
        ("GET", "/settings/billing", {"wl_admin": 200, "other_wl_admin": 200}),  # each their own ledger
        # The white-label administrator is Account Administrator of the customer they administer.
        (
            "GET",
            "/account/",
            {"customer_admin": 200, "customer_user": 200, "other_customer_admin": 200, "wl_admin": 200},
        ),
        ("GET", f"/account/{a}/top-up", {"customer_admin": 200}),
        ("POST", f"/account/{a}/users/new", {"customer_admin": 303}),
        ("POST", f"/account/{a}/pbx", {"customer_admin": 303}),
        ("GET", f"/account/{a}/pbx", {"customer_admin": 200}),
    ]
    payloads = {
        "users/new": {**INVITEE, "email": "matrix@example.com", "extension": "209"},
        "numbers": {"number": str(number_id(app, "+6495550118"))},
        "pbx": {"time_zone": "Pacific/Auckland", "extension_length": "3", "default_caller_id": ""},
    }
    for method, url, allowed in cases:
        for role, client in clients.items():
            data = next((v for k, v in payloads.items() if url.endswith(k)), {})
            before = snapshot(app) if role not in allowed else None
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={**data, "csrf_token": csrf_token(client)})
            if role in allowed:
                assert response.status_code == allowed[role], (method, url, role, response.status_code)
            else:
                assert response.status_code in (302, 403, 404), (method, url, role, response.status_code)
                assert snapshot(app) == before, (method, url, role)
    # Customer people never see white-label pages.
    for role in ("customer_admin", "customer_user", "other_customer_admin"):
        assert clients[role].get("/customers/").status_code == 403
        assert clients[role].get(f"/customers/{a}").status_code == 403


def test_customer_pages_wear_the_white_labels_brand(app, activated):
    _, contact = activated
    html = contact.get("/account/").get_data(as_text=True)
    assert re.search(r'<a class="brand"[^>]*>\s*Demo Telecom', html)
    assert re.search(r'href="/brand/\d+\.css\?v=0f766e"', html)


def test_numbers_are_shown_as_people_of_the_white_labels_country_read_them(app, admin_client, managed):
    """Stored in E.164, shown in national format on the customer page (and its contact phone)."""
    html = admin_client.get(f"/customers/{managed}").get_data(as_text=True)
    assert "09 555 0100" in html and "021 123 4567" in html
    assert ">+6495550100<" not in html and "+64211234567" not in html
