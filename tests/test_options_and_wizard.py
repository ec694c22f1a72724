"""The wizard's options (webapp/onboarding/options.py) and the Wizard class, as units, and the
promise that an option is one object: a third option works end to end once it is declared."""

from __future__ import annotations

import dataclasses

import pytest
from werkzeug.datastructures import MultiDict

from testkit.wizard import ADDRESS, CONTACT, plan_id, post, start
from webapp.extensions import db
from webapp.models import Customer, CustomerDraft, User, WhiteLabel
from webapp.onboarding import options
from webapp.onboarding.options import CUSTOMER, OPTIONS, WHITE_LABEL, option_for
from webapp.onboarding.steps import ADDRESS as ADDRESS_STEP
from webapp.onboarding.steps import PLAN, REVIEW, WHO
from webapp.onboarding.wizard import Wizard


def test_every_option_starts_with_the_choice_and_ends_with_check_your_answers():
    for option in OPTIONS:
        assert option.steps[0] is WHO and option.steps[-1] is REVIEW
        slugs = [step.slug for step in option.steps]
        assert len(slugs) == len(set(slugs)), f"{option.key}: a step slug twice"


def test_an_option_is_found_by_its_stored_key_and_nothing_else():
    assert option_for("customer") is CUSTOMER and option_for("white_label") is WHITE_LABEL
    assert option_for("") is None and option_for(None) is None and option_for("admin") is None


def test_the_customer_option_needs_a_gateway_and_says_which_option_remains(app):
    with app.app_context(), db.connection_context():
        without = WhiteLabel.get(WhiteLabel.slug == "other-voice")  # no payment gateway
        with_gateway = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        reason = CUSTOMER.unavailable_reason(without)
        assert "needs a payment gateway" in reason and "“Me, the white-label administrator”" in reason
        assert CUSTOMER.unavailable_reason(with_gateway) is None
        assert WHITE_LABEL.unavailable_reason(without) is None


def _wizard(app, option=WHITE_LABEL) -> Wizard:
    app.config["WTF_CSRF_ENABLED"] = False  # forms posted straight to the wizard, not over HTTP
    label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
    admin = User.get(User.email == "admin@demo.example.com")
    return Wizard.begin(label, admin, option)


def test_a_new_wizard_opens_only_its_first_unanswered_step(app):
    with app.app_context(), db.connection_context():
        wizard = _wizard(app)
        contact = wizard.steps[1]
        assert wizard.first_incomplete() is contact
        assert wizard.may_open(contact) and not wizard.may_open(ADDRESS_STEP)
        assert wizard.neighbours(contact) == (WHO, ADDRESS_STEP)
        assert wizard.number(contact) == 2


def test_answering_a_step_keeps_an_invalid_answer_and_goes_nowhere(app):
    with app.app_context(), app.test_request_context(), db.connection_context():
        wizard = _wizard(app)
        contact = wizard.steps[1]
        outcome = wizard.answer(contact, MultiDict({**CONTACT, "email": "not an email"}), "continue")
        assert outcome.status == 422 and outcome.go_to is None
        stored = CustomerDraft.get_by_id(wizard.draft.id).data
        assert stored["contact"]["values"]["email"] == "not an email" and stored["contact"]["valid"] is False


def test_back_saves_the_answer_and_goes_to_the_previous_step(app):
    with app.app_context(), app.test_request_context(), db.connection_context():
        wizard = _wizard(app)
        contact = wizard.steps[1]
        outcome = wizard.answer(contact, MultiDict({**CONTACT, "authorized": "y"}), "back")
        assert outcome.go_to is WHO
        assert CustomerDraft.get_by_id(wizard.draft.id).data["contact"]["valid"] is True


def test_changing_the_option_keeps_shared_answers_rechecked_and_drops_the_rest(app):
    with app.app_context(), app.test_request_context(), db.connection_context():
        wizard = _wizard(app, WHITE_LABEL)
        wizard.answer(wizard.steps[1], MultiDict({**CONTACT, "authorized": "y"}), "continue")
        wizard.answer(ADDRESS_STEP, MultiDict(ADDRESS), "continue")
        wizard.change_option(CUSTOMER)
        stored = CustomerDraft.get_by_id(wizard.draft.id)
        assert stored.administered_by == "customer"
        assert "authorized" not in stored.data["contact"]["values"]  # the customer option never asks it
        assert stored.data["contact"]["valid"] and stored.data["address"]["valid"]
        assert Wizard(wizard.white_label, stored).first_incomplete() is PLAN


def test_the_draft_answers_are_one_json_object_parsed_once(app):
    with app.app_context(), db.connection_context():
        wizard = _wizard(app)
        raw = db.execute_sql(f"SELECT data FROM customer_draft WHERE id = {int(wizard.draft.id)}").fetchone()[0]
        assert raw.startswith("{") and '"who"' in raw  # text in the database
        assert isinstance(CustomerDraft.get_by_id(wizard.draft.id).data, dict)  # a dict in Python


@pytest.fixture
def third_option(monkeypatch):
    """A reseller's sub-account: administered by the white-label, charged to it, with the customer
    option's shorter steps. Declared as one object, as options.py promises."""
    sub_account = dataclasses.replace(
        WHITE_LABEL,
        key="sub_account",
        label="A reseller’s sub-account",
        short_label="Sub-account",
        hint="The account belongs to one of your resellers; you run it for them.",
        steps=CUSTOMER.steps,
    )
    monkeypatch.setattr(options, "OPTIONS", (*OPTIONS, sub_account))
    return sub_account


def test_a_third_option_is_one_object_and_its_steps(app, admin_client, smtp, third_option):
    response, base = start(admin_client, third_option.key)
    assert response.status_code == 303 and base, "the first step offers and accepts the new option"
    assert post(admin_client, f"{base}/contact", CONTACT).status_code == 303
    assert post(admin_client, f"{base}/address", ADDRESS).status_code == 303
    assert post(admin_client, f"{base}/plan", {"plan": plan_id(app, "Starter")}).status_code == 303
    review = admin_client.get(f"{base}/review").get_data(as_text=True)
    assert "A reseller’s sub-account" in review
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context(), db.connection_context():
        customer = Customer.get(Customer.business_name == CONTACT["business_name"])
        assert customer.administered_by == "sub_account" and customer.status == Customer.ACTIVE
    page = admin_client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Sub-account" in page


def test_answers_given_all_at_once_are_checked_by_the_same_forms(app, smtp):
    """What the integration API and the import build on: answers without a stored draft."""
    from webapp.onboarding.service import StepProblem, create_customer

    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context(), app.test_request_context(), db.connection_context():
        label = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        admin = User.get(User.email == "admin@demo.example.com")
        answers = {
            "contact": dict(CONTACT),
            "address": dict(ADDRESS, service_same=True),
            "plan": {"plan": plan_id(app, "Starter")},
        }
        bad = Wizard.from_answers(label, CUSTOMER, {**answers, "contact": {**CONTACT, "email": "nope"}})
        with pytest.raises(StepProblem) as problem:
            with db.atomic():
                create_customer(bad, admin)
        assert problem.value.step.slug == "contact" and "email" in problem.value.form.errors
        assert not Customer.select().where(Customer.business_name == CONTACT["business_name"]).exists()
        with db.atomic():
            customer = create_customer(Wizard.from_answers(label, CUSTOMER, answers), admin)
        assert customer.status == Customer.PENDING and customer.contact_phone == "+64211234567"
