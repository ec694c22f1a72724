import datetime as dt
import hashlib
import re

import pytest

from conftest import csrf_token
from testkit.wizard import (
    ADDRESS,
    CONTACT,
    PBX,
    complete_customer_option,
    complete_white_label_option,
    plan_id,
    post,
    start,
)
from webapp.mail import deliver_due
from webapp.models import (
    ActivationToken,
    AuditEvent,
    Customer,
    CustomerDraft,
    CustomerMembership,
    LedgerEntry,
    OutboxEmail,
    PbxSettings,
    PhoneNumber,
    User,
    WhiteLabel,
    utcnow,
)

STEPS_CUSTOMER = ["contact", "address", "plan", "review"]
STEPS_WHITE_LABEL = ["contact", "address", "plan", "numbers", "pbx", "review"]


def count(app, model, *where):
    with app.app_context():
        query = model.select()
        if where:
            query = query.where(*where)
        return query.count()


# --- Entry and the first choice -------------------------------------------------------


def test_first_step_asks_who_administers_and_creates_no_draft(app, admin_client):
    html = admin_client.get("/customers/new/", follow_redirects=True).get_data(as_text=True)
    assert "Who will administer this account?" in html
    assert "The new customer" in html and "Me, the white-label administrator" in html
    assert (
        "you will not be able to activate it for them" in html.lower()
        or "You will not be able to activate it for them" in html
    )
    assert "step 1 of 5" in html
    assert count(app, CustomerDraft) == 0


def test_staff_cannot_open_or_post_the_wizard(app, staff_client):
    assert staff_client.get("/customers/new/").status_code == 403
    assert post(staff_client, "/customers/new/", {"administered_by": "white_label"}).status_code == 403
    assert count(app, CustomerDraft) == 0


def test_first_step_answer_creates_a_draft_and_moves_on(app, admin_client):
    response, base = start(admin_client, "customer")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/contact")
    assert count(app, CustomerDraft) == 1


def test_first_step_without_a_choice_is_422_with_a_message(app, admin_client):
    response = post(admin_client, "/customers/new/", {})
    assert response.status_code == 422
    assert "Choose who will administer this account." in response.get_data(as_text=True)
    assert count(app, CustomerDraft) == 0


def test_new_customer_option_is_disabled_and_refused_without_a_gateway(app, other_admin_client):
    html = other_admin_client.get("/customers/new/", follow_redirects=True).get_data(as_text=True)
    radio = re.search(r'<input[^>]*value="customer"[^>]*>', html).group(0)
    assert "disabled" in radio
    assert "no payment gateway" in html
    assert 'href="/settings/payment-gateway"' in html
    response = post(other_admin_client, "/customers/new/", {"administered_by": "customer"})
    assert response.status_code == 422
    assert "needs a payment gateway" in response.get_data(as_text=True)
    assert count(app, CustomerDraft) == 0


def test_white_label_option_works_without_a_gateway(other_admin_client):
    response, base = start(other_admin_client, "white_label")
    assert response.status_code == 303 and base


# --- Steps, partials and status codes --------------------------------------------------


@pytest.mark.parametrize("option,steps", [("customer", STEPS_CUSTOMER), ("white_label", STEPS_WHITE_LABEL)])
def test_each_step_has_a_full_page_and_an_htmx_partial(app, admin_client, option, steps):
    base = (complete_customer_option if option == "customer" else complete_white_label_option)(admin_client, app)
    total = len(steps) + 1
    for number, slug in enumerate(steps, start=2):
        full = admin_client.get(f"{base}/{slug}")
        partial = admin_client.get(f"{base}/{slug}", headers={"HX-Request": "true"})
        assert full.status_code == partial.status_code == 200, slug
        assert "<html" in full.get_data(as_text=True)
        partial_html = partial.get_data(as_text=True)
        assert "<html" not in partial_html
        # The tab's title first (htmx takes it only from the top level), then the wizard itself.
        assert re.match(r'\s*<title>[^<]+</title>\s*<div id="wizard"', partial_html), partial_html[:200]
        assert f"step {number} of {total}" in partial_html
        assert "HX-Request" in full.headers["Vary"] and "HX-Request" in partial.headers["Vary"]


def test_valid_step_with_htmx_returns_the_next_step_and_pushes_its_url(admin_client):
    _, base = start(admin_client, "customer")
    response = post(admin_client, f"{base}/contact", CONTACT, htmx=True)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == f"{base}/address"
    assert "Address details" in response.get_data(as_text=True)


def test_invalid_step_is_422_with_summary_messages_and_typed_values_kept(admin_client):
    _, base = start(admin_client, "customer")
    response = post(
        admin_client, f"{base}/contact", {**CONTACT, "business_name": "", "email": "not-an-email"}, htmx=True
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html
    assert '<a href="#business_name">Enter the business name.</a>' in html
    assert "Enter an email address in the right format" in html
    assert 'value="not-an-email"' in html
    assert 'value="Hana"' in html and 'value="021 123 4567"' in html
    assert 'aria-invalid="true"' in html


def test_required_fields_each_have_a_message(admin_client):
    _, base = start(admin_client, "white_label")
    html = post(admin_client, f"{base}/contact", {}).get_data(as_text=True)
    for message in [
        "Enter the business name.",
        "Enter the contact’s first name.",
        "Enter the contact’s last name.",
        "Enter the contact’s email address.",
        "Enter the contact’s phone number.",
        "Confirm that this person is authorized to act for the business.",
    ]:
        assert message in html, message


def test_phone_is_validated_and_stored_in_e164(app, admin_client):
    _, base = start(admin_client, "customer")
    bad = post(admin_client, f"{base}/contact", {**CONTACT, "phone": "12"})
    assert bad.status_code == 422
    assert "Enter a valid phone number" in bad.get_data(as_text=True)
    assert post(admin_client, f"{base}/contact", CONTACT).status_code == 303
    with app.app_context():
        draft = CustomerDraft.get()
        assert draft.data["contact"]["values"]["phone"] == "+64211234567"


def test_business_number_is_checked_for_the_white_labels_country(admin_client):
    _, base = start(admin_client, "customer")
    response = post(admin_client, f"{base}/contact", {**CONTACT, "business_number": "1234"})
    assert response.status_code == 422
    assert "An NZBN has 13 digits; this has 4." in response.get_data(as_text=True)
    assert post(admin_client, f"{base}/contact", {**CONTACT, "business_number": "9429041535837"}).status_code == 303


def test_email_already_a_contact_of_another_customer_is_refused(admin_client):
    _, base = start(admin_client, "customer")
    response = post(admin_client, f"{base}/contact", {**CONTACT, "email": "Ben@KauriDental.example.com"})
    assert response.status_code == 422
    assert "already the contact of another of your customers" in response.get_data(as_text=True)


def test_another_white_labels_contact_email_is_fine(other_admin_client):
    _, base = start(other_admin_client, "white_label")
    response = post(
        other_admin_client,
        f"{base}/contact",
        {**CONTACT, "authorized": "y", "email": "ben@kauridental.example.com", "phone": "02 9555 0100"},
    )
    assert response.status_code == 303


def test_email_and_phone_are_checked_as_the_user_leaves_the_field(admin_client):
    _, base = start(admin_client, "customer")
    response = post(admin_client, f"{base}/check/email", {"email": "dev@tuicafe.example.com"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div class="field field--error" id="email-field"')
    assert "already the contact of another of your customers" in html
    ok = post(admin_client, f"{base}/check/phone", {"phone": "021 123 4567"}, htmx=True).get_data(as_text=True)
    assert "field--error" not in ok and 'id="phone-field"' in ok
    bad = post(admin_client, f"{base}/check/phone", {"phone": "abc"}, htmx=True).get_data(as_text=True)
    assert "Enter a valid phone number" in bad


def test_plain_post_gets_303_to_the_next_step(admin_client):
    _, base = start(admin_client, "customer")
    response = post(admin_client, f"{base}/contact", CONTACT)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{base}/address"


def test_po_box_service_address_is_refused_with_the_reason(admin_client):
    _, base = start(admin_client, "customer")
    post(admin_client, f"{base}/contact", CONTACT)
    same = post(admin_client, f"{base}/address", {**ADDRESS, "address_line1": "PO Box 1234"})
    assert same.status_code == 422
    assert "Emergency services are sent to the service address" in same.get_data(as_text=True)
    separate = post(
        admin_client,
        f"{base}/address",
        {
            **ADDRESS,
            "address_line1": "PO Box 1234",
            "service_same": "",
            "service_line1": "Private Bag 99",
            "service_city": "Wellington",
            "service_postcode": "6011",
        },
    )
    html = separate.get_data(as_text=True)
    assert separate.status_code == 422
    assert "cannot be a PO Box" in html
    # A PO Box is fine as the postal address when the service address is a street.
    ok = post(
        admin_client,
        f"{base}/address",
        {
            **ADDRESS,
            "address_line1": "PO Box 1234",
            "service_same": "",
            "service_line1": "5 Rata Road",
            "service_city": "Wellington",
            "service_postcode": "6011",
            "service_country": "NZ",
        },
    )
    assert ok.status_code == 303


def test_unchecked_service_address_requires_its_fields(admin_client):
    _, base = start(admin_client, "customer")
    post(admin_client, f"{base}/contact", CONTACT)
    response = post(admin_client, f"{base}/address", {**ADDRESS, "service_same": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the first line of the service address." in html
    assert "Enter the service address city." in html


@pytest.mark.parametrize("field", ["country", "service_country"])
def test_a_country_that_is_not_in_the_list_is_refused(admin_client, field):
    _, base = start(admin_client, "customer")
    post(admin_client, f"{base}/contact", CONTACT)
    service = {"service_same": "", "service_line1": "5 Rata Road", "service_city": "Wellington"}
    service |= {"service_postcode": "6011", "service_country": "AU"}
    assert post(admin_client, f"{base}/address", {**ADDRESS, **service}).status_code == 303
    for wrong in ("ZZ", "nz", "New Zealand"):
        response = post(admin_client, f"{base}/address", {**ADDRESS, **service, field: wrong})
        assert response.status_code == 422, wrong
        assert "Not a valid choice." in response.get_data(as_text=True)


def test_service_address_fields_appear_when_the_box_is_unchecked(admin_client):
    _, base = start(admin_client, "customer")
    post(admin_client, f"{base}/contact", CONTACT)
    shown = post(admin_client, f"{base}/address/service", {**ADDRESS, "service_same": ""}, htmx=True).get_data(
        as_text=True
    )
    hidden = post(admin_client, f"{base}/address/service", ADDRESS, htmx=True).get_data(as_text=True)
    assert "Service address line 1" in shown
    assert "Service address line 1" not in hidden
    # Without JavaScript the full page always shows them.
    assert "Service address line 1" in admin_client.get(f"{base}/address").get_data(as_text=True)


def test_plan_step_explains_payment_for_each_option(app, admin_client):
    _, base = start(admin_client, "customer")
    post(admin_client, f"{base}/contact", CONTACT)
    post(admin_client, f"{base}/address", ADDRESS)
    html = admin_client.get(f"{base}/plan").get_data(as_text=True)
    assert "Minimum opening balance: NZ$20.00, paid by the customer by card" in html
    assert "NZ$29.00" in html

    _, base2 = start(admin_client, "white_label")
    post(admin_client, f"{base2}/contact", {**CONTACT, "authorized": "y", "email": "other@matai.example.com"})
    post(admin_client, f"{base2}/address", ADDRESS)
    html = admin_client.get(f"{base2}/plan").get_data(as_text=True)
    assert "First month: NZ$79.00 charged to your white-label account" in html


def test_white_label_without_enough_credit_is_refused_with_the_figures(app, admin_client):
    with app.app_context():
        WhiteLabel.update(credit_limit=5000).where(WhiteLabel.slug == "demo-telecom").execute()
    _, base = start(admin_client, "white_label")
    post(admin_client, f"{base}/contact", {**CONTACT, "authorized": "y"})
    post(admin_client, f"{base}/address", ADDRESS)
    response = post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Business")})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The first month of Business costs NZ$79.00" in html
    assert "only NZ$50.00 available" in html
    assert post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Starter")}).status_code == 303


def test_numbers_are_limited_to_the_plans_included_numbers(app, admin_client):
    _, base = start(admin_client, "white_label")
    post(admin_client, f"{base}/contact", {**CONTACT, "authorized": "y"})
    post(admin_client, f"{base}/address", ADDRESS)
    post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Starter")})
    response = post(admin_client, f"{base}/numbers", {"numbers": ["+6495550100", "+6495550101"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose at most 1 number: that is what the Starter plan includes." in html
    assert 'value="+6495550101" checked' in html
    assert post(admin_client, f"{base}/numbers", {}).status_code == 303  # none is fine


def test_numbers_can_be_filtered_keeping_the_chosen_ones(app, admin_client):
    _, base = start(admin_client, "white_label")
    post(admin_client, f"{base}/contact", {**CONTACT, "authorized": "y"})
    post(admin_client, f"{base}/address", ADDRESS)
    post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Business")})
    html = post(
        admin_client, f"{base}/numbers/choices", {"filter": "0111", "numbers": ["+6495550100"]}, htmx=True
    ).get_data(as_text=True)
    assert "09 555 0111" in html
    assert "09 555 0100" in html  # chosen, so still shown
    assert "09 555 0112" not in html
    # Without JavaScript, the Filter button re-shows the step.
    page = post(admin_client, f"{base}/numbers", {"filter": "0112", "action": "refresh"}).get_data(as_text=True)
    assert "09 555 0112" in page and "09 555 0113" not in page


def test_number_taken_by_another_customer_is_not_offered(app, admin_client):
    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
        PhoneNumber.update(customer=harbour).where(PhoneNumber.number == "+6495550105").execute()
    base = complete_white_label_option(admin_client, app)
    html = admin_client.get(f"{base}/numbers").get_data(as_text=True)
    assert "09 555 0104" in html and "09 555 0105" not in html


def test_pbx_caller_id_offers_only_the_chosen_numbers(app, admin_client):
    base = complete_white_label_option(admin_client, app, numbers=["+6495550107"])
    html = admin_client.get(f"{base}/pbx").get_data(as_text=True)
    assert '<option value="+6495550107">09 555 0107</option>' in html
    assert "+6495550108" not in html
    assert '<option selected value="Pacific/Auckland">' in html
    bad = post(admin_client, f"{base}/pbx", {**PBX, "default_caller_id": "+6495550108"})
    assert bad.status_code == 422


# --- Drafts ----------------------------------------------------------------------------


def test_steps_cannot_be_skipped(admin_client):
    _, base = start(admin_client, "customer")
    response = admin_client.get(f"{base}/plan")
    assert response.status_code == 303 and response.headers["Location"] == f"{base}/contact"
    assert post(admin_client, f"{base}/review").status_code == 303


def test_back_keeps_what_was_typed_in_the_step(admin_client):
    _, base = start(admin_client, "customer")
    post(admin_client, f"{base}/contact", CONTACT)
    typed = {**ADDRESS, "address_line1": "77 Kowhai Lane", "city": ""}
    response = post(admin_client, f"{base}/address", {**typed, "action": "back"})
    assert response.status_code == 303 and response.headers["Location"] == f"{base}/contact"
    html = admin_client.get(f"{base}/address").get_data(as_text=True)
    assert 'value="77 Kowhai Lane"' in html


def test_draft_resumes_after_refresh_and_in_another_session(app, admin_client):
    from conftest import ADMIN, sign_in

    _, base = start(admin_client, "customer")
    post(admin_client, f"{base}/contact", CONTACT)
    other_tab = app.test_client()
    sign_in(other_tab, *ADMIN)
    html = other_tab.get(f"{base}/contact").get_data(as_text=True)
    assert 'value="Matai Joinery Ltd"' in html
    listing = other_tab.get("/customers/").get_data(as_text=True)
    assert "Your unfinished customers" in listing and "Matai Joinery Ltd" in listing
    assert f'href="{base}/address"' in listing  # Resume goes to the next step


def test_another_white_labels_or_administrators_draft_is_404(app, admin_client, other_admin_client):
    _, base = start(admin_client, "white_label")
    assert other_admin_client.get(f"{base}/contact").status_code == 404
    assert post(other_admin_client, f"{base}/contact", CONTACT).status_code == 404
    assert post(other_admin_client, f"{base}/discard").status_code == 404
    assert count(app, CustomerDraft) == 1


def test_discarding_a_draft_removes_it(app, admin_client):
    _, base = start(admin_client, "customer")
    response = post(admin_client, f"{base}/discard")
    assert response.status_code == 303
    assert count(app, CustomerDraft) == 0
    assert "Draft discarded." in admin_client.get("/customers/").get_data(as_text=True)


def test_changing_the_option_keeps_shared_answers_and_drops_the_rest(app, admin_client):
    base = complete_white_label_option(admin_client, app, plan="Business", numbers=["+6495550100"])
    response = post(admin_client, f"{base}/who", {"administered_by": "customer"})
    assert response.status_code == 303
    with app.app_context():
        data = CustomerDraft.get().data
    assert set(data) == {"who", "contact", "address", "plan"}
    assert data["contact"]["values"]["business_name"] == "Matai Joinery Ltd"
    review = admin_client.get(f"{base}/review")
    assert review.status_code == 200
    assert "step 5 of 5" in review.get_data(as_text=True)
    # Back to option 2: the authorized-contact box must be confirmed again.
    response = post(admin_client, f"{base}/who", {"administered_by": "white_label"})
    assert response.headers["Location"] == f"{base}/contact"


def test_change_link_returns_to_check_your_answers(app, admin_client):
    base = complete_customer_option(admin_client, app)
    html = admin_client.get(f"{base}/review").get_data(as_text=True)
    assert f'href="{base}/address?return=review"' in html
    response = post(admin_client, f"{base}/address?return=review", {**ADDRESS, "city": "Porirua"})
    assert response.headers["Location"] == f"{base}/review"
    assert "Porirua" in admin_client.get(f"{base}/review").get_data(as_text=True)


def test_purge_drafts_removes_only_old_unfinished_drafts(app, admin_client, runner):
    _, old = start(admin_client, "customer")
    _, fresh = start(admin_client, "customer")
    with app.app_context():
        CustomerDraft.update(updated_at=utcnow() - dt.timedelta(days=31)).where(
            CustomerDraft.key == old.rsplit("/", 1)[1]
        ).execute()
    result = runner.invoke(args=["purge-drafts"])
    assert "Removed 1 draft(s)." in result.output
    with app.app_context():
        assert [d.key for d in CustomerDraft.select()] == [fresh.rsplit("/", 1)[1]]


# --- Submitting ------------------------------------------------------------------------


def test_option_one_creates_a_pending_customer_token_and_activation_email(app, admin_client, smtp):
    base = complete_customer_option(admin_client, app, plan="Business")
    response = post(admin_client, f"{base}/review")
    assert response.status_code == 303 and response.headers["Location"] == f"{base}/done"
    done = admin_client.get(f"{base}/done").get_data(as_text=True)
    assert "Your new customer has been successfully created!" in done
    assert "Pending activation" in done and "expires" in done
    with app.app_context():
        customer = Customer.get(Customer.business_name == "Matai Joinery Ltd")
        assert customer.status == Customer.PENDING
        assert customer.administered_by == "customer"
        assert customer.contact_phone == "+64211234567"
        assert customer.service_line1 == "12 Totara Street"
        token = ActivationToken.get(ActivationToken.customer == customer)
        assert len(token.token_hash) == 64
        assert token.expires_at - token.created_at == dt.timedelta(days=7)
        email = OutboxEmail.get(OutboxEmail.customer == customer)
        assert email.kind == "activation" and email.recipient == "hana@matai-joinery.example.com"
        assert LedgerEntry.select().count() == 0
        assert CustomerMembership.select().count() == 0
        assert AuditEvent.get(AuditEvent.customer == customer).action == "customer_created"
        deliver_due()
    message = smtp.wait_for(1)[0]
    text = smtp.text(message)
    link = re.search(r"https://onboarding\.example\.com/activate/([A-Za-z0-9_-]{43})", text)
    assert link, text
    assert hashlib.sha256(link.group(1).encode()).hexdigest() == token.token_hash
    assert "Demo Telecom" in message["From"]
    assert "NZ$50.00" in text and "Business" in text
    assert "support@demo.example.com" in text


def test_option_two_creates_an_active_customer_charged_to_the_white_label(app, admin_client):
    base = complete_white_label_option(admin_client, app, plan="Business", numbers=["+6495550100", "+6495550101"])
    post(admin_client, f"{base}/pbx", {**PBX, "default_caller_id": "+6495550101", "extension_length": "4"})
    response = post(admin_client, f"{base}/review", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == f"{base}/done"
    assert "Your new customer has been successfully created!" in html
    assert "Add a user" in html
    with app.app_context():
        customer = Customer.get(Customer.business_name == "Matai Joinery Ltd")
        admin = User.get(User.email == "admin@demo.example.com")
        assert customer.status == Customer.ACTIVE and customer.activated_at is not None
        assert CustomerMembership.get(CustomerMembership.customer == customer).user_id == admin.id
        entry = LedgerEntry.get(LedgerEntry.customer == customer)
        assert (entry.account, entry.kind, entry.amount, entry.currency) == ("white_label", "debit", 7900, "NZD")
        assert sorted(n.number for n in customer.phone_numbers) == ["+6495550100", "+6495550101"]
        settings = PbxSettings.get(PbxSettings.customer == customer)
        assert (settings.extension_length, settings.default_caller_id, settings.time_zone) == (
            4,
            "+6495550101",
            "Pacific/Auckland",
        )
        assert OutboxEmail.select().count() == 0
        assert ActivationToken.select().count() == 0


def test_double_submit_creates_exactly_one_customer_entry_and_email(app, admin_client):
    base = complete_customer_option(admin_client, app)
    first = post(admin_client, f"{base}/review")
    second = post(admin_client, f"{base}/review")
    assert first.status_code == 303
    assert second.status_code == 303  # the draft now leads to the customer
    with app.app_context():
        assert Customer.select().where(Customer.business_name == "Matai Joinery Ltd").count() == 1
        assert OutboxEmail.select().count() == 1
        assert ActivationToken.select().count() == 1
    assert admin_client.get(f"{base}/contact").headers["Location"].startswith("/customers/")


def test_number_taken_meanwhile_sends_the_user_back_with_nothing_created(app, admin_client):
    base = complete_white_label_option(admin_client, app, numbers=["+6495550100"])
    with app.app_context():
        harbour = Customer.get(Customer.business_name == "Harbour Plumbing Ltd")
        PhoneNumber.update(customer=harbour).where(PhoneNumber.number == "+6495550100").execute()
    response = post(admin_client, f"{base}/review", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert response.headers["HX-Push-Url"] == f"{base}/numbers"
    assert "09 555 0100 is no longer available" in html
    with app.app_context():
        assert Customer.select().where(Customer.business_name == "Matai Joinery Ltd").count() == 0
        assert LedgerEntry.select().count() == 0
        assert CustomerDraft.get().submitted_at is None


def test_credit_used_up_meanwhile_sends_the_user_back_to_the_plan(app, admin_client):
    base = complete_white_label_option(admin_client, app, plan="Business")
    with app.app_context():
        WhiteLabel.update(credit_limit=0).where(WhiteLabel.slug == "demo-telecom").execute()
    response = post(admin_client, f"{base}/review")
    assert response.status_code == 422
    assert "The first month of Business costs NZ$79.00" in response.get_data(as_text=True)
    assert count(app, LedgerEntry) == 0


def test_submitted_customer_appears_first_in_the_list(app, admin_client):
    base = complete_customer_option(admin_client, app)
    post(admin_client, f"{base}/review")
    html = admin_client.get("/customers/").get_data(as_text=True)
    assert html.index("Matai Joinery Ltd") < html.index("Rimu Accounting")
    assert "Your unfinished customers" not in html


def test_wizard_posts_need_the_csrf_token(app, admin_client):
    response = admin_client.post("/customers/new/", data={"administered_by": "customer"})
    assert response.status_code == 400
    assert count(app, CustomerDraft) == 0
    token = csrf_token(admin_client)
    response = admin_client.post(
        "/customers/new/", data={"administered_by": "customer"}, headers={"X-CSRFToken": token, "HX-Request": "true"}
    )
    assert response.status_code == 200
    assert count(app, CustomerDraft) == 1


def test_country_defaults_to_the_white_labels_and_keeps_a_choice(admin_client, other_admin_client):
    _, base = start(admin_client, "customer")
    post(admin_client, f"{base}/contact", CONTACT)
    html = admin_client.get(f"{base}/address").get_data(as_text=True)
    assert '<option selected value="NZ">New Zealand</option>' in html
    kept = post(admin_client, f"{base}/address", {**ADDRESS, "country": "AU", "city": ""}).get_data(as_text=True)
    assert "Enter the city." in kept
    assert '<option selected value="AU">Australia</option>' in kept
    _, other = start(other_admin_client, "white_label")
    post(other_admin_client, f"{other}/contact", {**CONTACT, "authorized": "y", "phone": "02 9555 0100"})
    assert '<option selected value="AU">Australia</option>' in other_admin_client.get(f"{other}/address").get_data(
        as_text=True
    )


def test_back_on_check_your_answers_does_not_create_the_customer(app, admin_client):
    base = complete_customer_option(admin_client, app)
    response = post(admin_client, f"{base}/review", {"action": "back"})
    assert response.status_code == 303 and response.headers["Location"] == f"{base}/plan"
    assert count(app, Customer, Customer.business_name == "Matai Joinery Ltd") == 0


def test_discard_through_htmx_redirects_the_whole_page(app, admin_client):
    _, base = start(admin_client, "customer")
    response = post(admin_client, f"{base}/discard", htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/customers/"
    assert count(app, CustomerDraft) == 0
