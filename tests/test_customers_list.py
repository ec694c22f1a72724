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


# --- Filters, sorting, phone search and export (issue 15, section 3) ---------------------------

NAMES = ["Harbour Plumbing Ltd", "Kauri Dental", "Rimu Accounting", "Tui Cafe", "Pohutukawa Motors", "Kea Couriers"]


def _listed(html: str) -> list[str]:
    """The demo customers a list page shows, in the order it shows them."""
    body = html.split('id="results"', 1)[1]
    return sorted((n for n in NAMES if n in body), key=body.index)


def test_the_list_filters_by_status(admin_client):
    assert _listed(admin_client.get("/customers/?status=active").get_data(as_text=True)) == [
        "Pohutukawa Motors",
        "Kauri Dental",
        "Harbour Plumbing Ltd",
    ]
    assert _listed(admin_client.get("/customers/?status=expired").get_data(as_text=True)) == ["Tui Cafe"]


def test_the_list_filters_by_who_administers(admin_client):
    html = admin_client.get("/customers/?administered_by=white_label").get_data(as_text=True)
    assert _listed(html) == ["Pohutukawa Motors", "Harbour Plumbing Ltd"]
    both = admin_client.get("/customers/?administered_by=customer&status=active").get_data(as_text=True)
    assert _listed(both) == ["Kauri Dental"]


def test_the_filters_show_what_was_chosen_and_an_unknown_value_is_ignored(admin_client):
    html = admin_client.get("/customers/?status=expired&administered_by=customer&sort=name").get_data(as_text=True)
    assert '<option value="expired" selected>' in html
    assert '<option value="customer" selected>' in html
    assert '<option value="name" selected>' in html
    junk = admin_client.get("/customers/?status=%27;drop&administered_by=x&sort=evil&archived=maybe")
    assert junk.status_code == 200
    assert len(_listed(junk.get_data(as_text=True))) == 6


def test_the_list_sorts_by_name_and_by_created_date(admin_client):
    by_name = _listed(admin_client.get("/customers/?sort=name").get_data(as_text=True))
    assert by_name == sorted(NAMES)
    assert _listed(admin_client.get("/customers/?sort=name_desc").get_data(as_text=True)) == sorted(NAMES)[::-1]
    oldest = _listed(admin_client.get("/customers/?sort=oldest").get_data(as_text=True))
    assert oldest[0] == "Harbour Plumbing Ltd" and oldest[-1] == "Rimu Accounting"


def test_filters_with_no_match_say_so(admin_client):
    html = admin_client.get("/customers/?status=suspended").get_data(as_text=True)
    assert "No customers match these filters." in html
    assert "You have no customers yet." not in html


def _walk(client, url: str) -> list[str]:
    """Every demo customer shown by following the Next page links from `url`."""
    import html as html_lib
    import re

    seen = []
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += _listed(page)
        found = re.search(r'<a href="([^"]+)"[^>]*rel="next"', page)
        url = html_lib.unescape(found.group(1)) if found else None
    return seen


@pytest.mark.parametrize(
    "query, expected",
    [
        ("sort=name", sorted(NAMES)),
        ("sort=name_desc", sorted(NAMES)[::-1]),
        (
            "sort=oldest",
            [
                "Harbour Plumbing Ltd",
                "Kauri Dental",
                "Tui Cafe",
                "Pohutukawa Motors",
                "Kea Couriers",
                "Rimu Accounting",
            ],
        ),
        ("administered_by=customer&sort=name", ["Kauri Dental", "Kea Couriers", "Rimu Accounting", "Tui Cafe"]),
    ],
)
def test_keyset_pages_keep_the_filters_and_the_order(app, admin_client, query, expected):
    app.config["CUSTOMERS_PER_PAGE"] = 2
    assert _walk(admin_client, f"/customers/?{query}") == expected


def test_previous_page_keeps_the_filters(app, admin_client):
    import html as html_lib
    import re

    app.config["CUSTOMERS_PER_PAGE"] = 2
    first = admin_client.get("/customers/?sort=name").get_data(as_text=True)
    second_url = html_lib.unescape(re.search(r'<a href="([^"]+)"[^>]*rel="next"', first).group(1))
    third_url = html_lib.unescape(
        re.search(r'<a href="([^"]+)"[^>]*rel="next"', admin_client.get(second_url).get_data(as_text=True)).group(1)
    )
    third = admin_client.get(third_url).get_data(as_text=True)
    back_url = html_lib.unescape(re.search(r'<a href="([^"]+)"[^>]*rel="prev"', third).group(1))
    assert "sort=name" in back_url
    assert _listed(admin_client.get(back_url).get_data(as_text=True)) == sorted(NAMES)[2:4]


def _set_phone(app, name: str, e164: str) -> None:
    with app.app_context():
        Customer.update(contact_phone=e164).where(Customer.business_name == name).execute()


@pytest.mark.parametrize("typed", ["09 555 0188", "(09) 555-0188", "+64 9 555 0188", "0064 9 555 0188", "6495550188"])
def test_search_finds_a_contact_phone_typed_in_any_format(app, admin_client, typed):
    _set_phone(app, "Kauri Dental", "+6495550188")
    assert _listed(admin_client.get("/customers/", query_string={"q": typed}).get_data(as_text=True)) == [
        "Kauri Dental"
    ]


def test_search_finds_a_customer_by_one_of_its_numbers(app, admin_client):
    from webapp.models import PhoneNumber

    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
        PhoneNumber.update(customer=harbour).where(PhoneNumber.number == "+6495550101").execute()
    html = admin_client.get("/customers/", query_string={"q": "09 555 0101"}).get_data(as_text=True)
    assert _listed(html) == ["Harbour Plumbing Ltd"]


def test_phone_search_never_finds_another_white_labels_customer(app, other_admin_client):
    _set_phone(app, "Kauri Dental", "+6495550188")
    html = other_admin_client.get("/customers/", query_string={"q": "+64 9 555 0188"}).get_data(as_text=True)
    assert "Kauri Dental" not in html


def _archive(app, name: str) -> None:
    with app.app_context():
        Customer.update(archived_at=dt.datetime(2026, 1, 1)).where(Customer.business_name == name).execute()


def test_archived_customers_are_hidden_unless_asked_for(app, admin_client):
    _archive(app, "Kea Couriers")
    assert "Kea Couriers" not in _listed(admin_client.get("/customers/").get_data(as_text=True))
    assert "Kea Couriers" in _listed(admin_client.get("/customers/?archived=1").get_data(as_text=True))
    assert _listed(admin_client.get("/customers/?archived=1&status=cancelled").get_data(as_text=True)) == [
        "Kea Couriers"
    ]


def _csv_rows(response) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_export_gives_the_filtered_list_as_csv(app, admin_client):
    app.config["CUSTOMERS_PER_PAGE"] = 2  # the export is never cut to a page
    response = admin_client.get("/customers/export.csv?administered_by=customer&sort=name")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv_rows(response)
    assert rows[0][:4] == ["Business name", "Trading name", "Contact name", "Contact email"]
    assert [row[0] for row in rows[1:]] == ["Kauri Dental", "Kea Couriers", "Rimu Accounting", "Tui Cafe"]
    assert rows[1][3] == "ben@kauridental.example.com"
    assert rows[1][7] == "Active"


def test_the_list_links_to_the_export_of_what_it_shows(admin_client):
    html = admin_client.get("/customers/?status=active&sort=name").get_data(as_text=True)
    assert "/customers/export.csv?status=active&amp;sort=name" in html


def test_export_cells_never_run_as_spreadsheet_formulas(app, admin_client):
    with app.app_context():
        kauri = Customer.get(Customer.business_name == "Kauri Dental")
        kauri.business_name = '=HYPERLINK("http://evil.example","x")'
        kauri.trading_name = "+1+1"
        kauri.contact_first_name = "@SUM(A1)"
        kauri.contact_last_name = ""
        kauri.save()
        Customer.update(trading_name="-2").where(Customer.business_name == "Tui Cafe").execute()
        Customer.update(trading_name="\tx").where(Customer.business_name == "Kea Couriers").execute()
    rows = {row[3]: row for row in _csv_rows(admin_client.get("/customers/export.csv"))}
    kauri_row = rows["ben@kauridental.example.com"]
    assert kauri_row[0] == '\'=HYPERLINK("http://evil.example","x")'
    assert kauri_row[1] == "'+1+1"
    assert kauri_row[2] == "'@SUM(A1)"
    assert rows["dev@tuicafe.example.com"][1] == "'-2"
    assert rows["finn@keacouriers.example.com"][1] == "'\tx"


def test_export_is_the_white_labels_own_customers_only(other_admin_client):
    rows = _csv_rows(other_admin_client.get("/customers/export.csv"))
    assert [row[0] for row in rows[1:]] == ["Wattle Legal"]


def test_staff_may_export_too(staff_client):
    assert len(_csv_rows(staff_client.get("/customers/export.csv"))) == 7
