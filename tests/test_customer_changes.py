"""Administrators fix mistakes (issue 15, section 2): edit a customer's details, resend and cancel
for expired customers, cancel a pending hand-over, archive, and what staff may do."""

from __future__ import annotations

import json

import pytest

from testkit.activation import create_pending_customer
from testkit.mail import emailed_link, token_of
from testkit.wizard import complete_white_label_option, post
from webapp.models import ActivationToken, AuditEvent, Customer


def _id(app, name: str) -> int:
    with app.app_context():
        return Customer.get(Customer.business_name == name).id


def _listed(client, url: str = "/customers/") -> str:
    """The results part of a list page (not its flash messages)."""
    return client.get(url).get_data(as_text=True).split('id="results"', 1)[1]


def _details(**overrides) -> dict:
    """Every field of the edit form, as the browser posts it."""
    data = {
        "business_name": "Harbour Plumbing Ltd",
        "trading_name": "",
        "business_number": "",
        "first_name": "Aroha",
        "last_name": "Ngata",
        "email": "aroha@harbourplumbing.example.com",
        "phone": "09 555 0150",
        "address_line1": "12 Quay Street",
        "address_line2": "",
        "city": "Auckland",
        "region": "",
        "postcode": "1010",
        "country": "NZ",
        "service_same": "y",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def managed(app, admin_client):
    """A customer the white-label administers, created through the wizard: its id."""
    base = complete_white_label_option(admin_client, app, plan="Business", numbers=["+6495550100"])
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        return Customer.get(Customer.business_name == "Matai Joinery Ltd").id


# --- Editing -----------------------------------------------------------------------------------


def test_the_customer_page_offers_edit_details_for_a_customer_the_white_label_runs(app, admin_client, managed):
    html = admin_client.get(f"/customers/{managed}").get_data(as_text=True)
    assert f'href="/customers/{managed}/edit"' in html
    form = admin_client.get(f"/customers/{managed}/edit").get_data(as_text=True)
    assert 'value="Matai Joinery Ltd"' in form


def test_editing_saves_the_details_and_the_history_says_what_changed(app, admin_client):
    harbour = _id(app, "Harbour Plumbing Ltd")
    response = post(
        admin_client,
        f"/customers/{harbour}/edit",
        _details(business_name="Harbour Plumbing & Gas", phone="021 555 0199"),
    )
    assert response.status_code == 303
    with app.app_context():
        customer = Customer.get_by_id(harbour)
        assert customer.business_name == "Harbour Plumbing & Gas"
        assert customer.contact_phone == "+64215550199"
        assert customer.address_line1 == "12 Quay Street" and customer.service_line1 == "12 Quay Street"
        assert "harbour plumbing & gas" in customer.search_text
        event = AuditEvent.get((AuditEvent.customer == harbour) & (AuditEvent.action == "customer_edited"))
        changes = json.loads(event.detail)["changes"]
    assert changes["business_name"] == ["Harbour Plumbing Ltd", "Harbour Plumbing & Gas"]
    assert changes["contact_phone"] == ["", "+64215550199"]
    assert "contact_email" not in changes  # only what changed
    page = admin_client.get(f"/customers/{harbour}").get_data(as_text=True)
    assert "Customer edited by Dana Admin" in page
    assert "Business name: Harbour Plumbing Ltd → Harbour Plumbing &amp; Gas" in page
    assert "Contact phone: (empty) → 021 555 0199" in page


def test_an_edit_is_checked_as_the_wizard_checks_and_keeps_what_was_typed(app, admin_client):
    harbour = _id(app, "Harbour Plumbing Ltd")
    response = post(
        admin_client,
        f"/customers/{harbour}/edit",
        _details(
            email="not-an-email", business_name="Typed Name", postcode="", service_same=None, service_line1="PO Box 12"
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an email address in the right format" in html
    assert "Enter the postcode." in html
    assert "PO Box" in html and "Enter a street address" in html
    assert 'value="Typed Name"' in html and 'value="not-an-email"' in html
    assert "<title>Error: " in html
    with app.app_context():
        assert Customer.get_by_id(harbour).business_name == "Harbour Plumbing Ltd"


def test_another_customers_contact_email_is_refused_but_keeping_ones_own_is_fine(app, admin_client):
    harbour = _id(app, "Harbour Plumbing Ltd")
    taken = post(admin_client, f"/customers/{harbour}/edit", _details(email="ben@kauridental.example.com"))
    assert taken.status_code == 422
    assert "already the contact of another of your customers" in taken.get_data(as_text=True)
    assert post(admin_client, f"/customers/{harbour}/edit", _details()).status_code == 303


def test_nothing_changed_writes_no_history(app, admin_client, managed):
    with app.app_context():
        customer = Customer.get_by_id(managed)
        same = _details(
            business_name=customer.business_name,
            first_name=customer.contact_first_name,
            last_name=customer.contact_last_name,
            email=customer.contact_email,
            phone=customer.contact_phone,
            address_line1=customer.address_line1,
            city=customer.city,
            postcode=customer.postcode,
            trading_name=customer.trading_name,
            business_number=customer.business_number,
            region=customer.region,
            address_line2=customer.address_line2,
        )
    assert post(admin_client, f"/customers/{managed}/edit", same).status_code == 303
    with app.app_context():
        assert not AuditEvent.select().where(AuditEvent.action == "customer_edited").exists()


def test_a_customer_who_runs_their_account_cannot_be_edited(app, admin_client):
    kauri = _id(app, "Kauri Dental")
    assert admin_client.get(f"/customers/{kauri}/edit").status_code == 403
    assert post(admin_client, f"/customers/{kauri}/edit", _details(business_name="X")).status_code == 403
    assert f"/customers/{kauri}/edit" not in admin_client.get(f"/customers/{kauri}").get_data(as_text=True)


def test_a_new_email_for_a_pending_customer_revokes_the_old_link_and_sends_a_new_one(app, admin_client, client, smtp):
    customer_id, old_token = create_pending_customer(app, admin_client, smtp)
    with app.app_context():
        customer = Customer.get_by_id(customer_id)
        fields = _details(
            business_name=customer.business_name,
            first_name=customer.contact_first_name,
            last_name=customer.contact_last_name,
            email="new-owner@matai-joinery.example.com",
            phone=customer.contact_phone,
            address_line1=customer.address_line1,
            city=customer.city,
            postcode=customer.postcode,
        )
    response = post(admin_client, f"/customers/{customer_id}/edit", fields)
    assert response.status_code == 303
    new_token = token_of(emailed_link(app, smtp, "new-owner@matai-joinery.example.com"))
    assert client.get(f"/activate/{old_token}").status_code == 410
    assert client.get(f"/activate/{new_token}").status_code == 200
    with app.app_context():
        assert Customer.get_by_id(customer_id).contact_email == "new-owner@matai-joinery.example.com"
    page = admin_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Contact email: " in page and "→ new-owner@matai-joinery.example.com" in page


def test_staff_cannot_edit(app, staff_client):
    harbour = _id(app, "Harbour Plumbing Ltd")
    assert staff_client.get(f"/customers/{harbour}/edit").status_code == 403
    assert post(staff_client, f"/customers/{harbour}/edit", _details(business_name="Staff Was Here")).status_code == 403
    with app.app_context():
        assert Customer.get_by_id(harbour).business_name == "Harbour Plumbing Ltd"


# --- Resend and cancel, expired customers, staff ------------------------------------------------


def test_an_expired_customer_offers_resend_and_cancel(app, admin_client):
    tui = _id(app, "Tui Cafe")  # expired, with no link on record (the demo's)
    html = admin_client.get(f"/customers/{tui}").get_data(as_text=True)
    assert "Resend activation email" in html
    assert f"/customers/{tui}/activation/cancel" in html
    assert post(admin_client, f"/customers/{tui}/activation/resend").status_code == 303
    with app.app_context():
        assert Customer.get_by_id(tui).status == Customer.PENDING
        assert ActivationToken.select().where(ActivationToken.customer == tui).count() == 1


def test_an_expired_customer_can_be_cancelled(app, admin_client):
    tui = _id(app, "Tui Cafe")
    assert post(admin_client, f"/customers/{tui}/activation/cancel").status_code == 303
    with app.app_context():
        assert Customer.get_by_id(tui).status == Customer.CANCELLED


def test_staff_may_resend_an_activation_email_and_nothing_else(app, staff_client):
    rimu = _id(app, "Rimu Accounting")
    html = staff_client.get(f"/customers/{rimu}").get_data(as_text=True)
    assert "Resend activation email" in html
    assert f"/customers/{rimu}/activation/cancel" not in html
    assert post(staff_client, f"/customers/{rimu}/activation/resend").status_code == 303
    with app.app_context():
        assert ActivationToken.select().where(ActivationToken.customer == rimu).count() == 1
        event = AuditEvent.get((AuditEvent.customer == rimu) & (AuditEvent.action == "activation_resent"))
        assert event.actor.email == "staff@demo.example.com"
    assert post(staff_client, f"/customers/{rimu}/activation/cancel").status_code == 403
    with app.app_context():
        assert Customer.get_by_id(rimu).status == Customer.PENDING


def test_resend_is_refused_for_an_active_customer(app, admin_client, staff_client):
    kauri = _id(app, "Kauri Dental")
    assert post(admin_client, f"/customers/{kauri}/activation/resend").status_code == 409
    assert post(staff_client, f"/customers/{kauri}/activation/resend").status_code == 409


# --- Hand-over ---------------------------------------------------------------------------------


def test_a_pending_hand_over_can_be_cancelled_and_is_not_offered_twice(app, admin_client, client, smtp, managed):
    assert post(admin_client, f"/customers/{managed}/hand-over").status_code == 303
    with app.app_context():
        email = Customer.get_by_id(managed).contact_email
    token = token_of(emailed_link(app, smtp, email))
    page = admin_client.get(f"/customers/{managed}").get_data(as_text=True)
    assert "Hand over to the customer" not in page
    assert "Cancel the hand-over" in page
    assert admin_client.get(f"/customers/{managed}/hand-over").status_code == 409
    assert post(admin_client, f"/customers/{managed}/hand-over").status_code == 409

    assert post(admin_client, f"/customers/{managed}/hand-over/cancel").status_code == 303
    assert client.get(f"/activate/{token}").status_code == 410
    page = admin_client.get(f"/customers/{managed}").get_data(as_text=True)
    assert "Hand over to the customer" in page and "Cancel the hand-over" not in page
    assert "Hand over cancelled by Dana Admin" in page
    with app.app_context():
        assert Customer.get_by_id(managed).status == Customer.ACTIVE
    # Nothing left to cancel.
    assert post(admin_client, f"/customers/{managed}/hand-over/cancel").status_code == 409


def test_staff_cannot_cancel_a_hand_over(app, admin_client, staff_client, smtp, managed):
    assert post(admin_client, f"/customers/{managed}/hand-over").status_code == 303
    assert post(staff_client, f"/customers/{managed}/hand-over/cancel").status_code == 403


# --- Archive -----------------------------------------------------------------------------------


def test_archive_hides_a_cancelled_customer_from_the_list_and_unarchive_brings_it_back(app, admin_client):
    kea = _id(app, "Kea Couriers")  # cancelled
    assert "Archive" in admin_client.get(f"/customers/{kea}").get_data(as_text=True)
    assert post(admin_client, f"/customers/{kea}/archive").status_code == 303
    assert "Kea Couriers" not in _listed(admin_client)
    assert "Kea Couriers" in _listed(admin_client, "/customers/?archived=1")
    page = admin_client.get(f"/customers/{kea}").get_data(as_text=True)
    assert "Customer archived by Dana Admin" in page and "Unarchive" in page
    with app.app_context():
        assert Customer.get_by_id(kea).status == Customer.CANCELLED  # nothing deleted or changed
    assert post(admin_client, f"/customers/{kea}/unarchive").status_code == 303
    assert "Kea Couriers" in _listed(admin_client)


def test_only_cancelled_and_expired_customers_can_be_archived(app, admin_client):
    kauri = _id(app, "Kauri Dental")
    assert post(admin_client, f"/customers/{kauri}/archive").status_code == 409
    assert "Archive" not in admin_client.get(f"/customers/{kauri}").get_data(as_text=True).split("History")[0]
    with app.app_context():
        assert Customer.get_by_id(kauri).archived_at is None


def test_resending_to_an_archived_expired_customer_brings_it_back_to_the_list(app, admin_client):
    tui = _id(app, "Tui Cafe")
    assert post(admin_client, f"/customers/{tui}/archive").status_code == 303
    assert post(admin_client, f"/customers/{tui}/activation/resend").status_code == 303
    assert "Tui Cafe" in _listed(admin_client)


def test_staff_cannot_archive(app, staff_client):
    kea = _id(app, "Kea Couriers")
    assert post(staff_client, f"/customers/{kea}/archive").status_code == 403
    with app.app_context():
        assert Customer.get_by_id(kea).archived_at is None


def test_the_role_matrix_is_written_down():
    from webapp.accounts.permissions import Action
    from webapp.config import PROJECT_ROOT

    roles = (PROJECT_ROOT / "docs" / "roles.md").read_text()
    for action in Action:
        assert action.value in roles, f"docs/roles.md does not say who may {action.value}"


def test_a_cancelled_customer_cannot_be_edited(app, admin_client):
    kea = _id(app, "Kea Couriers")
    assert admin_client.get(f"/customers/{kea}/edit").status_code == 409
