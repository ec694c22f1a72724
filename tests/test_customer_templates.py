"""Customer templates (Settings > Templates): named presets the wizard starts from (issue 17)."""

from __future__ import annotations

import re

import pytest

from testkit.wizard import ADDRESS, CONTACT, PBX, plan_id, post
from webapp.models import AuditEvent, Customer, CustomerDraft, CustomerTemplate, PbxSettings, PhoneNumber, WhiteLabel
from webapp.onboarding.templates import answers_for, free_numbers, option_of_template

OFFICE = {
    "name": "Small office",
    "administered_by": "white_label",
    "number_count": "2",
    "time_zone": "Pacific/Chatham",
    "extension_length": "4",
    "call_recording": "y",
}


def make_template(client, app, **changes):
    data = {**OFFICE, "plan": plan_id(app, "Business"), **changes}
    response = post(client, "/settings/templates/new", data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with app.app_context():
        return CustomerTemplate.get(CustomerTemplate.name == data["name"]).id


def draft_of(app, location: str) -> CustomerDraft:
    key = re.search(r"/customers/new/([^/?]+)/", location).group(1)
    with app.app_context():
        return CustomerDraft.get(CustomerDraft.key == key)


# --- Settings > Templates ------------------------------------------------------------------------


def test_administrator_adds_a_template_and_sees_it_listed(admin_client, app):
    template_id = make_template(admin_client, app)
    page = admin_client.get("/settings/templates").get_data(as_text=True)
    assert "Small office" in page and "Business" in page and "4-digit extensions" in page
    assert f"/customers/new/?template={template_id}" in page
    with app.app_context():
        template = CustomerTemplate.get_by_id(template_id)
        assert (template.number_count, template.time_zone, template.extension_length) == (2, "Pacific/Chatham", 4)
        assert (template.voicemail_to_email, template.call_recording) == (False, True)
        assert AuditEvent.get(AuditEvent.action == "template_created").actor.email == "admin@demo.example.com"


def test_staff_see_templates_but_cannot_change_them(admin_client, staff_client, app):
    template_id = make_template(admin_client, app)
    page = staff_client.get("/settings/templates")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Small office" in text and "Only administrators can add or change them" in text
    assert "/settings/templates/new" not in text and "/edit" not in text
    assert post(staff_client, "/settings/templates/new", {**OFFICE, "name": "Staff's"}).status_code == 403
    assert post(staff_client, f"/settings/templates/{template_id}/edit", OFFICE).status_code == 403
    assert post(staff_client, f"/settings/templates/{template_id}/delete").status_code == 403
    with app.app_context():
        assert CustomerTemplate.select().count() == 1


def test_another_white_label_cannot_see_or_use_the_template(admin_client, other_admin_client, app):
    template_id = make_template(admin_client, app)
    assert "Small office" not in other_admin_client.get("/settings/templates").get_data(as_text=True)
    assert other_admin_client.get(f"/settings/templates/{template_id}/edit").status_code == 404
    assert post(other_admin_client, f"/settings/templates/{template_id}/delete").status_code == 404
    # Not offered in their wizard, and its id chooses nothing there.
    start = other_admin_client.get(f"/customers/new/?template={template_id}", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Small office" not in start and 'name="template"' not in start
    response = post(other_admin_client, "/customers/new/", {"template": str(template_id)})
    assert response.status_code == 422


def test_a_template_without_a_csrf_token_is_refused(admin_client, app):
    response = admin_client.post("/settings/templates/new", data={**OFFICE, "plan": plan_id(app, "Business")})
    assert response.status_code == 400
    with app.app_context():
        assert CustomerTemplate.select().count() == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter a name for the template."),
        ({"administered_by": ""}, "Choose who will administer accounts made from this template."),
        ({"number_count": "9"}, "Choose at most 5: that is what the Business plan includes."),
        ({"administered_by": "customer"}, "Choose 0: numbers are added only for accounts you administer"),
        ({"number_count": "-1"}, "Enter a number of phone numbers from 0 to 50."),
    ],
)
def test_a_template_with_a_mistake_comes_back_with_what_was_typed(admin_client, app, changes, message):
    data = {**OFFICE, "name": "Typed name", "plan": plan_id(app, "Business"), **changes}
    response = post(admin_client, "/settings/templates/new", data)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text.replace("&#34;", '"').replace("&#39;", "'")
    assert "<title>Error: " in text
    if data["name"]:
        assert 'value="Typed name"' in text


def test_two_templates_cannot_share_a_name(admin_client, app):
    make_template(admin_client, app)
    response = post(admin_client, "/settings/templates/new", {**OFFICE, "name": "small OFFICE", "number_count": "0"})
    assert response.status_code == 422
    assert "Another template has this name" in response.get_data(as_text=True)


# --- The wizard starts from a template ----------------------------------------------------------


def test_the_first_step_offers_templates_and_preselects_the_templates_option(admin_client, app):
    template_id = make_template(admin_client, app)
    page = admin_client.get("/customers/new/", follow_redirects=True).get_data(as_text=True)
    assert "Start from a template" in page and ">Small office</option>" in page
    chosen = admin_client.get(f"/customers/new/?template={template_id}", follow_redirects=True).get_data(as_text=True)
    assert re.search(r'value="white_label"[^>]*checked', chosen)
    assert re.search(rf'<option selected value="{template_id}">|<option value="{template_id}" selected', chosen)


def test_without_templates_the_first_step_has_no_template_question(admin_client):
    assert "Start from a template" not in admin_client.get("/customers/new/", follow_redirects=True).get_data(
        as_text=True
    )


def test_a_draft_started_from_a_template_holds_its_answers_and_asks_every_step(admin_client, app):
    template_id = make_template(admin_client, app)
    # No option chosen (as with JavaScript off): the template's is used.
    response = post(admin_client, "/customers/new/", {"template": str(template_id)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/contact")
    draft = draft_of(app, response.headers["Location"])
    assert draft.administered_by == "white_label"
    assert draft.data["plan"] == {"values": {"plan": plan_id(app, "Business")}, "valid": False}
    assert draft.data["numbers"]["values"]["numbers"] == ["+6495550100", "+6495550101"]
    assert draft.data["pbx"]["values"] == {
        "time_zone": "Pacific/Chatham",
        "extension_length": "4",
        "default_caller_id": "+6495550100",
        "voicemail_to_email": False,
        "call_recording": True,
    }
    base = response.headers["Location"].rsplit("/", 1)[0]
    # Every step is still asked, showing the template's answers.
    assert post(admin_client, f"{base}/contact", {**CONTACT, "authorized": "y"}).status_code == 303
    assert post(admin_client, f"{base}/address", ADDRESS).status_code == 303
    plan_page = admin_client.get(f"{base}/plan").get_data(as_text=True)
    assert re.search(rf'value="{plan_id(app, "Business")}"[^>]*checked', plan_page)
    assert post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Business")}).status_code == 303
    numbers_page = admin_client.get(f"{base}/numbers").get_data(as_text=True)
    assert re.search(r'checked[^>]*value="\+6495550100"|value="\+6495550100"[^>]*checked', numbers_page)
    assert post(admin_client, f"{base}/numbers", {"numbers": ["+6495550100"]}).status_code == 303
    pbx_page = admin_client.get(f"{base}/pbx").get_data(as_text=True)
    assert re.search(r'<option[^>]*selected[^>]*value="Pacific/Chatham"|value="Pacific/Chatham"[^>]*selected', pbx_page)
    assert re.search(r'id="call_recording"[^>]*checked|checked[^>]*id="call_recording"', pbx_page)


def test_every_answer_from_a_template_can_be_changed(admin_client, app):
    template_id = make_template(admin_client, app)
    # The administrator chooses the other option than the template's: that choice wins.
    response = post(admin_client, "/customers/new/", {"template": str(template_id), "administered_by": "customer"})
    draft = draft_of(app, response.headers["Location"])
    assert draft.administered_by == "customer"
    assert "numbers" not in draft.data and "pbx" not in draft.data  # that option asks neither
    base = response.headers["Location"].rsplit("/", 1)[0]
    assert post(admin_client, f"{base}/contact", CONTACT).status_code == 303
    assert post(admin_client, f"{base}/address", ADDRESS).status_code == 303
    assert post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Starter")}).status_code == 303
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        customer = Customer.get(Customer.contact_email == CONTACT["email"])
        assert customer.plan.name == "Starter" and customer.administered_by == "customer"


def _finish_white_label_draft(client, base: str, **pbx):
    assert post(client, f"{base}/contact", {**CONTACT, "authorized": "y"}).status_code == 303
    assert post(client, f"{base}/address", ADDRESS).status_code == 303


def test_changing_or_deleting_a_template_changes_no_customer_and_no_draft(admin_client, app):
    template_id = make_template(admin_client, app)
    # A customer made from the template, with its answers as given...
    made = post(admin_client, "/customers/new/", {"template": str(template_id)}).headers["Location"]
    base = made.rsplit("/", 1)[0]
    _finish_white_label_draft(admin_client, base)
    assert post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Business")}).status_code == 303
    assert post(admin_client, f"{base}/numbers", {"numbers": ["+6495550100", "+6495550101"]}).status_code == 303
    assert (
        post(admin_client, f"{base}/pbx", {**PBX, "time_zone": "Pacific/Chatham", "extension_length": "4"}).status_code
        == 303
    )
    assert post(admin_client, f"{base}/review").status_code == 303
    # ...and a draft started from it, not finished.
    waiting = draft_of(app, post(admin_client, "/customers/new/", {"template": str(template_id)}).headers["Location"])
    with app.app_context():
        customer = Customer.get(Customer.contact_email == CONTACT["email"])
        before = (customer.plan_id, PbxSettings.get(PbxSettings.customer == customer).__data__.copy())
        numbers_before = sorted(n.number for n in PhoneNumber.select().where(PhoneNumber.customer == customer))

    changed = {**OFFICE, "plan": plan_id(app, "Call Centre"), "number_count": "0", "extension_length": "5"}
    changed.pop("call_recording")
    assert post(admin_client, f"/settings/templates/{template_id}/edit", changed).status_code == 303
    with app.app_context():
        assert CustomerTemplate.get_by_id(template_id).extension_length == 5
        assert CustomerDraft.get_by_id(waiting.id).data == waiting.data
    assert post(admin_client, f"/settings/templates/{template_id}/delete").status_code == 303

    with app.app_context():
        assert not CustomerTemplate.select().exists()
        assert CustomerDraft.get_by_id(waiting.id).data == waiting.data
        customer = Customer.get_by_id(customer.id)
        after = (customer.plan_id, PbxSettings.get(PbxSettings.customer == customer).__data__.copy())
        assert after == before
        assert sorted(n.number for n in PhoneNumber.select().where(PhoneNumber.customer == customer)) == numbers_before
        assert AuditEvent.select().where(AuditEvent.action == "template_deleted").count() == 1
    # The draft carries on with its own answers.
    assert admin_client.get(f"/customers/new/{waiting.key}/pbx").status_code in (200, 303)


def test_a_deleted_plan_leaves_the_plan_to_the_wizard(admin_client, app):
    template_id = make_template(admin_client, app, number_count="0")
    with app.app_context():
        template = CustomerTemplate.get_by_id(template_id)
        template.plan = None
        template.save()
    draft = draft_of(app, post(admin_client, "/customers/new/", {"template": str(template_id)}).headers["Location"])
    assert "plan" not in draft.data


# --- For the import: answers_for ------------------------------------------------------------------


def test_answers_for_gives_answers_the_wizards_own_checks_accept(admin_client, app):
    from webapp.models import User
    from webapp.onboarding.service import checked_forms
    from webapp.onboarding.wizard import Wizard

    template_id = make_template(admin_client, app)
    with app.app_context():
        template = CustomerTemplate.get_by_id(template_id)
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        numbers = free_numbers(template, exclude=["+6495550100"])
        assert numbers == ["+6495550101", "+6495550102"]
        answers = answers_for(template, numbers=numbers)
        assert answers["who"] == {"administered_by": "white_label"}
        row = {"contact": {**CONTACT, "authorized": "y"}, "address": ADDRESS}
        wizard = Wizard.from_answers(demo, option_of_template(template), {**answers, **row})
        forms = checked_forms(wizard)
        assert forms["numbers"].numbers.data == numbers
        assert forms["pbx"].time_zone.data == "Pacific/Chatham"
        assert User.select().count() > 0


def test_a_withdrawn_plan_is_left_to_the_wizard_too(admin_client, app):
    from webapp.models import Plan

    template_id = make_template(admin_client, app, number_count="0")
    with app.app_context():
        Plan.update(active=False).where(Plan.name == "Business").execute()
    draft = draft_of(app, post(admin_client, "/customers/new/", {"template": str(template_id)}).headers["Location"])
    assert "plan" not in draft.data
