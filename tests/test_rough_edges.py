"""Rough edges found in use (issue 15, section 6)."""

import importlib
import pkgutil
import re

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import PasswordField
from wtforms.meta import DefaultMeta

import webapp
from testkit.activation import PASSWORD, create_pending_customer, submit_activation
from testkit.wizard import complete_white_label_option, post
from webapp.forms import AppForm


def _all_form_classes():
    for module in pkgutil.walk_packages(webapp.__path__, "webapp."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    seen, todo = set(), [AppForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return seen


@pytest.fixture
def pending(app, admin_client, smtp):
    return create_pending_customer(app, admin_client, smtp)


def test_no_password_field_ever_renders_what_was_typed(app):
    checked = 0
    with app.test_request_context(method="POST"):
        for form_class in _all_form_classes():
            for name, unbound in vars(form_class).items():
                if getattr(unbound, "field_class", None) is not PasswordField:
                    continue
                field = unbound.bind(form=None, name=name, _meta=DefaultMeta())
                field.process(MultiDict({name: "typed-secret-value"}))
                assert "typed-secret-value" not in field(), f"{form_class.__name__}.{name}"
                checked += 1
    assert checked >= 8


def test_activation_with_an_error_comes_back_with_empty_password_fields(app, client, pending):
    _, token = pending
    response = submit_activation(client, token, opening_balance="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert PASSWORD not in html


# --- One minus sign for negative money ------------------------------------------------------


def test_negative_money_has_one_minus_sign_everywhere(app, admin_client):
    from webapp.money import format_money

    assert format_money(-7900, "NZD") == "\u2212NZ$79.00"
    assert format_money(7900, "NZD") == "NZ$79.00"
    base = complete_white_label_option(admin_client, app, plan="Business", numbers=["+6495550100"])
    assert post(admin_client, f"{base}/review").status_code == 303
    html = admin_client.get("/settings/billing").get_data(as_text=True)
    balance = re.search(r'<dd class="balance">([^<]*)</dd>', html).group(1)
    assert balance == "\u2212NZ$79.00"  # the balance, as in the ledger rows below it
    assert "-NZ$" not in html
