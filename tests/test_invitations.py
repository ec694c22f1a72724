"""Adding people to a customer account (issue 12, items 2 and 3).

Adding someone must never reveal or capture another person's account: the adder gets the same
answer and sees only what they typed, whether or not the email already has an account anywhere;
a membership stays "Invited" until the person accepts, and accepting for an existing account
takes that account's own password. White-label people cannot be customer users. Deactivating
someone withdraws their invitation for good; only Reactivate (a new invitation) brings them back.

Every check runs on both sides: the white-label administrator at /customers/<id>/... for a
customer the white-label administers, and a customer's own Account Administrator at /account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from test_accounts import invitation_link

from conftest import ADMIN, OTHER_ADMIN, STAFF, csrf_token, sign_in
from testkit.activation import PASSWORD, create_pending_customer, submit_activation
from testkit.wizard import complete_white_label_option, post
from webapp.models import (
    ActivationToken,
    Customer,
    CustomerMembership,
    OutboxEmail,
    User,
    utcnow,
)

TEMPORARY = "temporary-harbour-kauri-51"
GRACE = ("grace@wattlelegal.example.com", "wattle-grace-password-77")  # Other Voice's customer, Wattle Legal
AROHA = ("aroha@harbourplumbing.example.com", "harbour-aroha-password-42")  # Demo Telecom's Harbour Plumbing


@dataclass
class Side:
    """Who adds people, where: the white-label administrator or the customer's own administrator."""

    name: str
    app: object
    client: object
    customer_id: int
    account_name: str

    @property
    def base(self) -> str:
        prefix = "/customers" if self.name == "white_label" else "/account"
        return f"{prefix}/{self.customer_id}/users"

    def add(self, follow: bool = False, **fields):
        data = {
            "first_name": "Typed",
            "last_name": "Person",
            "extension": "205",
            "role": "user",
            "setup": "invite",
            **fields,
            "csrf_token": csrf_token(self.client),
        }
        return self.client.post(f"{self.base}/new", data=data, follow_redirects=follow)

    def act(self, membership_id: int, action: str):
        return self.client.post(f"{self.base}/{membership_id}/{action}", data={"csrf_token": csrf_token(self.client)})

    def list_html(self) -> str:
        url = f"/customers/{self.customer_id}" if self.name == "white_label" else "/account/"
        return self.client.get(url).get_data(as_text=True)

    def row(self, email: str) -> str:
        rows = [
            r
            for r in re.findall(r"<tr>.*?</tr>", self.list_html(), re.S)
            if f'<td data-label="Email">{email}</td>' in r
        ]
        assert len(rows) == 1, (email, rows)
        return rows[0]


def _existing_people(app):
    """People who already have accounts with real passwords: a customer user of another white-label
    and one of a customer of the same white-label."""
    from webapp.auth.service import hash_password

    with app.app_context():
        for (email, password), first, last, business in [
            (GRACE, "Grace", "Kelly", "Wattle Legal"),
            (AROHA, "Aroha", "Ngata", "Harbour Plumbing Ltd"),
        ]:
            user = User.create(email=email, password_hash=hash_password(password), first_name=first, last_name=last)
            CustomerMembership.create(
                user=user,
                customer=Customer.get(Customer.business_name == business),
                role=CustomerMembership.ACCOUNT_ADMINISTRATOR,
            )


@pytest.fixture(params=["white_label", "customer"])
def side(smtp, request, app, admin_client):
    _existing_people(app)
    if request.param == "white_label":
        base = complete_white_label_option(admin_client, app, plan="Business")
        assert post(admin_client, f"{base}/review").status_code == 303
        with app.app_context():
            customer_id = Customer.get(Customer.business_name == "Matai Joinery Ltd").id
        return Side("white_label", app, admin_client, customer_id, "Matai Joinery Ltd")
    customer_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    return Side("customer", app, contact, customer_id, "Kowhai Bakery")


def membership(app, customer_id: int, email: str) -> CustomerMembership | None:
    with app.app_context():
        return (
            CustomerMembership.select()
            .join(User)
            .where((CustomerMembership.customer == customer_id) & (User.email == email))
            .first()
        )


def user_row(app, email: str) -> tuple:
    with app.app_context():
        user = User.get(User.email == email)
        return user.password_hash, user.first_name, user.last_name, user.must_change_password, user.active


def flash_of(response) -> str:
    return re.search(r'<div id="status"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S).group(1).strip()


def comparable(row: str, email: str, extension: str) -> str:
    """A users-list row with what legitimately differs (email, extension, ids) taken out."""
    row = row.replace(email, "EMAIL").replace(
        f'<td data-label="Extension">{extension}</td>', '<td data-label="Extension">EXT</td>'
    )
    row = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value="TOKEN"', row)
    return re.sub(r"/users/\d+/", "/users/ID/", row)


def invitee_page(app, smtp, email: str):
    """A fresh browser with the invitation link of `email` open: (client, link, CSRF token, page)."""
    link = invitation_link(app, smtp, email)
    client = app.test_client()
    page = client.get(link)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    return client, link, match.group(1) if match else csrf_token(client), page


# --- Item 2: the same answer whether or not the email has an account ---------------------------------


@pytest.mark.parametrize(
    "existing",
    [GRACE[0], AROHA[0], OTHER_ADMIN[0]],
    ids=["other white-label's customer user", "same white-label's customer user", "other white-label's administrator"],
)
@pytest.mark.parametrize("setup", ["invite", "password"])
def test_adding_an_existing_account_looks_exactly_like_adding_a_new_person(app, side, existing, setup):
    before = user_row(app, existing)
    fields = {"setup": setup, "password": TEMPORARY if setup == "password" else ""}
    new = side.add(email="newcomer@example.com", extension="206", **fields)
    old = side.add(email=existing, extension="205", **fields)
    assert (old.status_code, old.headers.get("Location")) == (new.status_code, new.headers.get("Location"))
    assert new.status_code == 303
    row_new, row_old = side.row("newcomer@example.com"), side.row(existing)
    assert "Typed Person" in row_old and "Invited" in row_old
    assert comparable(row_old, existing, "205") == comparable(row_new, "newcomer@example.com", "206")
    for real_name in ("Grace", "Kelly", "Aroha", "Ngata", "Olive", "Other"):
        assert real_name not in row_old
    # Their account is untouched: password, name, state.
    assert user_row(app, existing) == before
    found = membership(app, side.customer_id, existing)
    assert found.status == CustomerMembership.INVITED and not found.active
    # The existing person gets an invitation (the temporary password never applies to them).
    with app.app_context():
        assert (
            OutboxEmail.select().where((OutboxEmail.kind == "invitation") & (OutboxEmail.recipient == existing)).count()
            == 1
        )
    if setup == "password":
        assert sign_in(app.test_client(), existing, TEMPORARY).status_code == 422


@pytest.mark.parametrize("setup", ["invite", "password"])
def test_the_flash_is_the_same_for_an_existing_account_and_a_new_person(app, side, setup):
    fields = {"setup": setup, "password": TEMPORARY if setup == "password" else ""}
    new = side.add(email="newcomer@example.com", extension="206", follow=True, **fields)
    old = side.add(email=GRACE[0], extension="205", follow=True, **fields)
    verb = "invited" if setup == "invite" else "added"
    assert flash_of(new) == flash_of(old) != ""
    assert f"Typed Person has been {verb}." in flash_of(old)


def test_an_invited_existing_person_cannot_use_the_account_before_accepting(app, side):
    assert side.add(email=GRACE[0], role="account_administrator").status_code == 303
    grace = app.test_client()
    assert sign_in(grace, *GRACE).status_code == 303
    assert side.account_name not in grace.get("/account/").get_data(as_text=True)
    assert grace.get(f"/account/{side.customer_id}/pbx").status_code == 404
    assert grace.get(f"/account/{side.customer_id}/users/new").status_code == 404


def test_accepting_for_an_existing_account_asks_for_its_password(smtp, app, side):
    side.add(email=GRACE[0])
    client, link, token, page = invitee_page(app, smtp, GRACE[0])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Your current password" in html
    for wrong in ("", "not-graces-password-at-all"):
        response = client.post(link, data={"csrf_token": token, "current_password": wrong})
        assert response.status_code == 422
        assert (
            "Enter the password you sign in with" if not wrong else "That is not the password for"
        ) in response.get_data(as_text=True)
        assert membership(app, side.customer_id, GRACE[0]).status == CustomerMembership.INVITED
        assert client.get("/account/").status_code == 302  # not signed in
    with app.app_context():
        assert (
            ActivationToken.select()
            .where(ActivationToken.used_at.is_null(False) & (ActivationToken.purpose == "invitation"))
            .count()
            == 0
        )
    before = user_row(app, GRACE[0])
    joined = client.post(link, data={"csrf_token": token, "current_password": GRACE[1]})
    assert joined.status_code == 303 and joined.headers["Location"] == "/account/"
    assert side.account_name in client.get("/account/").get_data(as_text=True)
    found = membership(app, side.customer_id, GRACE[0])
    assert found.status == CustomerMembership.ACTIVE and found.active
    assert user_row(app, GRACE[0]) == before  # their password is theirs
    # Once accepted, the list shows the person as they are.
    assert "Grace Kelly" in side.row(GRACE[0]) and "Active" in side.row(GRACE[0])


def test_a_new_person_still_chooses_a_password_with_the_rules(smtp, app, side):
    side.add(email="newcomer@example.com")
    client, link, token, page = invitee_page(app, smtp, "newcomer@example.com")
    assert "Your current password" not in page.get_data(as_text=True)
    weak = client.post(link, data={"csrf_token": token, "password": "password", "confirm_password": "password"})
    assert weak.status_code == 422 and "Use at least 15 characters" in weak.get_data(as_text=True)
    assert membership(app, side.customer_id, "newcomer@example.com").status == CustomerMembership.INVITED
    joined = client.post(link, data={"csrf_token": token, "password": PASSWORD, "confirm_password": PASSWORD})
    assert joined.status_code == 303
    assert membership(app, side.customer_id, "newcomer@example.com").status == CustomerMembership.ACTIVE


def test_set_a_password_now_stays_invited_until_the_person_chooses_their_own(app, side):
    side.add(email="newcomer@example.com", setup="password", password=TEMPORARY)
    assert membership(app, side.customer_id, "newcomer@example.com").status == CustomerMembership.INVITED
    assert "Invited" in side.row("newcomer@example.com")
    person = app.test_client()
    assert sign_in(person, "newcomer@example.com", TEMPORARY).status_code == 303
    assert person.get(f"/account/{side.customer_id}/pbx").headers["Location"].endswith("/profile")
    assert membership(app, side.customer_id, "newcomer@example.com").status == CustomerMembership.INVITED
    changed = person.post(
        "/profile/password",
        data={
            "csrf_token": csrf_token(person),
            "current_password": TEMPORARY,
            "password": PASSWORD,
            "confirm_password": PASSWORD,
        },
    )
    assert changed.status_code == 303
    assert membership(app, side.customer_id, "newcomer@example.com").status == CustomerMembership.ACTIVE
    assert side.account_name in person.get("/account/").get_data(as_text=True)
    assert "Active" in side.row("newcomer@example.com")


def test_own_white_label_people_are_refused_on_the_form(app, side):
    for email in (STAFF[0], ADMIN[0].upper()):
        with app.app_context():
            emails = OutboxEmail.select().count()
        response = side.add(email=email)
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "White-label staff and administrators cannot be customer users" in html
        assert 'value="Typed"' in html  # what was typed is kept
        with app.app_context():
            assert OutboxEmail.select().count() == emails
        found = membership(app, side.customer_id, email.lower())
        # (Demo Telecom's administrator is the Account Administrator of the account they created.)
        assert found is None or (side.name == "white_label" and email.lower() == ADMIN[0])


def test_another_white_labels_administrator_is_refused_on_the_invitation_page(smtp, app, side):
    assert side.add(email=OTHER_ADMIN[0]).status_code == 303  # the adder learns nothing
    client, link, token, page = invitee_page(app, smtp, OTHER_ADMIN[0])
    assert page.status_code == 403
    assert "White-label staff and administrators cannot join customer accounts" in page.get_data(as_text=True)
    refused = client.post(link, data={"csrf_token": token, "current_password": OTHER_ADMIN[1]})
    assert refused.status_code == 403
    found = membership(app, side.customer_id, OTHER_ADMIN[0])
    assert found.status == CustomerMembership.INVITED and not found.active
    assert client.get("/account/").status_code == 302


def test_the_administrator_who_created_the_account_stays_its_account_administrator(app, admin_client):
    """Not "adding a user": the white-label option makes its administrator the Account Administrator."""
    base = complete_white_label_option(admin_client, app, plan="Business")
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        customer_id = Customer.get(Customer.business_name == "Matai Joinery Ltd").id
    side = Side("white_label", app, admin_client, customer_id, "Matai Joinery Ltd")
    found = membership(app, customer_id, ADMIN[0])
    assert found.role == CustomerMembership.ACCOUNT_ADMINISTRATOR and found.status == CustomerMembership.ACTIVE
    assert "Dana Admin" in side.row(ADMIN[0]) and "Active" in side.row(ADMIN[0])
    assert admin_client.get(f"/account/{customer_id}/pbx").status_code == 200


# --- Item 3: deactivation is final until reactivated --------------------------------------------------


def test_deactivating_withdraws_the_invitation(smtp, app, side):
    side.add(email="newcomer@example.com")
    link = invitation_link(app, smtp, "newcomer@example.com")
    found = membership(app, side.customer_id, "newcomer@example.com")
    assert side.act(found.id, "deactivate").status_code == 303
    client = app.test_client()
    assert client.get(link).status_code == 410
    token = csrf_token(client)
    assert (
        client.post(link, data={"csrf_token": token, "password": PASSWORD, "confirm_password": PASSWORD}).status_code
        == 410
    )
    assert membership(app, side.customer_id, "newcomer@example.com").status == CustomerMembership.DEACTIVATED
    with app.app_context():
        assert (
            ActivationToken.select()
            .where(
                (ActivationToken.purpose == "invitation")
                & ActivationToken.revoked_at.is_null()
                & ActivationToken.used_at.is_null()
            )
            .count()
            == 0
        )
    assert "Deactivated" in side.row("newcomer@example.com")


def test_an_old_link_never_reactivates_a_deactivated_person(smtp, app, side):
    """Even a link that somehow still works (issued before revocation existed) is refused."""
    side.add(email=GRACE[0])
    link = invitation_link(app, smtp, GRACE[0])
    found = membership(app, side.customer_id, GRACE[0])
    side.act(found.id, "deactivate")
    with app.app_context():
        ActivationToken.update(revoked_at=None).where(ActivationToken.purpose == "invitation").execute()
    client = app.test_client()
    assert client.get(link).status_code == 410
    response = client.post(link, data={"csrf_token": csrf_token(client), "current_password": GRACE[1]})
    assert response.status_code == 410
    assert membership(app, side.customer_id, GRACE[0]).status == CustomerMembership.DEACTIVATED
    assert client.get("/account/").status_code == 302


def test_reactivate_sends_a_new_invitation_and_is_the_only_way_back(smtp, app, side):
    side.add(email="newcomer@example.com")
    old_link = invitation_link(app, smtp, "newcomer@example.com")
    found = membership(app, side.customer_id, "newcomer@example.com")
    side.act(found.id, "deactivate")
    assert "Reactivate" in side.row("newcomer@example.com")
    assert side.act(found.id, "reactivate").status_code == 303
    assert membership(app, side.customer_id, "newcomer@example.com").status == CustomerMembership.INVITED
    new_link = invitation_link(app, smtp, "newcomer@example.com")
    assert new_link != old_link
    client = app.test_client()
    assert client.get(old_link).status_code == 410
    client, link, token, _ = invitee_page(app, smtp, "newcomer@example.com")
    assert (
        client.post(link, data={"csrf_token": token, "password": PASSWORD, "confirm_password": PASSWORD}).status_code
        == 303
    )
    assert membership(app, side.customer_id, "newcomer@example.com").status == CustomerMembership.ACTIVE


def test_reactivate_is_only_for_deactivated_people(app, side):
    side.add(email="newcomer@example.com")
    found = membership(app, side.customer_id, "newcomer@example.com")
    with app.app_context():
        emails = OutboxEmail.select().count()
    side.act(found.id, "reactivate")
    assert membership(app, side.customer_id, "newcomer@example.com").status == CustomerMembership.INVITED
    with app.app_context():
        assert OutboxEmail.select().count() == emails


def test_deactivating_an_accepted_person_ends_their_sessions(smtp, app, side):
    side.add(email=GRACE[0])
    client, link, token, _ = invitee_page(app, smtp, GRACE[0])
    assert client.post(link, data={"csrf_token": token, "current_password": GRACE[1]}).status_code == 303
    elsewhere = app.test_client()
    assert sign_in(elsewhere, *GRACE).status_code == 303
    side.act(membership(app, side.customer_id, GRACE[0]).id, "deactivate")
    for session in (client, elsewhere):
        assert session.get("/account/").status_code == 302  # back to sign in
    # Grace still runs Wattle Legal: she signs in again and carries on there.
    again = app.test_client()
    assert sign_in(again, *GRACE).status_code == 303
    html = again.get("/account/").get_data(as_text=True)
    assert "Wattle Legal" in html and side.account_name not in html


def test_deactivating_someone_who_never_accepted_leaves_their_account_alone(app, side):
    grace = app.test_client()
    assert sign_in(grace, *GRACE).status_code == 303
    side.add(email=GRACE[0])
    side.act(membership(app, side.customer_id, GRACE[0]).id, "deactivate")
    assert grace.get("/account/").status_code == 200  # still signed in to Wattle Legal
    with app.app_context():
        assert User.get(User.email == GRACE[0]).active


def test_expired_invitation_is_gone(smtp, app, side):
    side.add(email="newcomer@example.com")
    link = invitation_link(app, smtp, "newcomer@example.com")
    with app.app_context():
        ActivationToken.update(expires_at=utcnow()).where(ActivationToken.purpose == "invitation").execute()
    assert app.test_client().get(link).status_code == 410
