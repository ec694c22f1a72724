import datetime as dt

import pytest
from flask import url_for

from webapp.models import Customer, WhiteLabel


def test_list_shows_own_customers_newest_first(admin_client):
    html = admin_client.get("/customers/").get_data(as_text=True)
    assert html.index("Rimu Accounting") < html.index("Pohutukawa Motors") < html.index("Harbour Plumbing Ltd")
    assert "Pending activation" in html
    assert "Wattle Legal" not in html


def test_administrator_sees_create_button(admin_client):
    assert "Create new customer" in admin_client.get("/customers/").get_data(as_text=True)


def test_staff_see_the_list_but_no_create_button(staff_client):
    html = staff_client.get("/customers/").get_data(as_text=True)
    assert "Harbour Plumbing Ltd" in html
    assert "Create new customer" not in html


def test_staff_get_403_on_an_administrator_url(staff_client):
    response = staff_client.get("/customers/new/")
    assert response.status_code == 403
    assert "You do not have permission to do that" in response.get_data(as_text=True)


def test_search_narrows_the_list(admin_client):
    html = admin_client.get("/customers/?q=kauri").get_data(as_text=True)
    assert "Kauri Dental" in html
    assert "Harbour Plumbing Ltd" not in html


def test_search_matches_contact_email_and_name(admin_client):
    assert "Tui Cafe" in admin_client.get("/customers/?q=dev@tuicafe").get_data(as_text=True)
    assert "Tui Cafe" in admin_client.get("/customers/?q=PATEL").get_data(as_text=True)


def test_search_as_htmx_returns_only_the_results_partial(admin_client):
    response = admin_client.get("/customers/?q=kauri", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_full_page_also_varies_on_hx_request(admin_client):
    response = admin_client.get("/customers/")
    assert "<html" in response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]


def test_search_with_no_match_shows_an_empty_state(admin_client):
    html = admin_client.get("/customers/?q=zzznothing").get_data(as_text=True)
    assert "No customers match" in html


def test_white_label_without_customers_sees_empty_state(app, admin_client):
    with app.app_context():
        Customer.delete().execute()
    html = admin_client.get("/customers/").get_data(as_text=True)
    assert "You have no customers yet." in html


def test_pagination_walks_through_all_customers(app, admin_client):
    app.config["CUSTOMERS_PER_PAGE"] = 4
    first = admin_client.get("/customers/").get_data(as_text=True)
    second = admin_client.get("/customers/?page=2").get_data(as_text=True)
    assert "Next page" in first and "Previous page" not in first
    assert "Previous page" in second and "Next page" not in second
    demo = ["Harbour Plumbing Ltd", "Kauri Dental", "Rimu Accounting", "Tui Cafe", "Pohutukawa Motors", "Kea Couriers"]
    for name in demo:
        assert (name in first) != (name in second), name


def test_bad_page_numbers_do_not_break_the_list(admin_client):
    for value in ["abc", "-3", "0", "99999999999999999999"]:
        assert admin_client.get(f"/customers/?page={value}").status_code == 200


def test_other_white_label_admin_never_sees_demo_customers(app, other_admin_client):
    html = other_admin_client.get("/customers/").get_data(as_text=True)
    assert "Wattle Legal" in html
    assert "Harbour Plumbing Ltd" not in html
    assert "Harbour" not in other_admin_client.get("/customers/?q=harbour").get_data(as_text=True).split("<main", 1)[1]
    with app.app_context():
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        harbour = Customer.get((Customer.white_label == demo) & (Customer.business_name == "Harbour Plumbing Ltd"))
    assert other_admin_client.get(f"/customers/{harbour.id}").status_code == 404


def test_customer_page_shows_the_customer(app, admin_client):
    with app.app_context():
        kauri = Customer.get(Customer.business_name == "Kauri Dental")
        with app.test_request_context():
            page_url = url_for("customers.show", customer_id=kauri.id)
    # The list links each row to the customer's own page.
    listed = admin_client.get("/customers/").get_data(as_text=True)
    assert f'<a href="{page_url}">Kauri Dental</a>' in listed
    html = admin_client.get(page_url).get_data(as_text=True)
    assert "ben@kauridental.example.com" in html
    assert "Starter" in html


def test_unknown_customer_is_404(admin_client):
    assert admin_client.get("/customers/999999").status_code == 404


def test_user_entered_text_is_escaped(app, admin_client):
    with app.app_context():
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        customer = Customer(
            white_label=demo,
            business_name='<div hx-get="/x">Evil</div>',
            contact_email="evil@example.com",
            administered_by="customer",
            status="pending_activation",
            created_at=dt.datetime(2030, 1, 1),
        )
        customer.refresh_search_text()
        customer.save()
    html = admin_client.get("/customers/").get_data(as_text=True)
    assert '<div hx-get="/x">' not in html
    assert "&lt;div hx-get=&#34;/x&#34;&gt;Evil&lt;/div&gt;" in html


def test_postgresql_search_has_its_trigram_index_and_statistics(app):
    """Migrations 004 and 006 (PostgreSQL only): the index that makes a rare word an index
    lookup, and the histogram size that lets the planner tell a rare word from a common one.
    The plans and timings they buy are measured by `make bench` (target 2)."""
    from webapp.database import is_sqlite
    from webapp.extensions import db

    with app.app_context(), db.connection_context():
        if is_sqlite():
            pytest.skip("PostgreSQL only: SQLite search walks the newest-first index")
        index = db.execute_sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'customer' AND indexname = 'customer_search_text_trgm'"
        ).fetchone()
        target = db.execute_sql(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'customer'::regclass AND attname = 'search_text'"
        ).fetchone()
    assert index and "gin_trgm_ops" in index[0]
    assert target[0] == 250
