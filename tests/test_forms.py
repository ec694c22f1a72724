"""One rule for every single-line text field (issue 12 item 7): no control characters.

Line breaks, tabs, NUL, C1 controls, U+2028/U+2029 and bidirectional overrides do not belong in
a name, an email, a postcode or a password. Nobody lists the forms or fields here:

- every FlaskForm subclass in the `webapp` package must inherit `webapp.forms.AppForm`, and
  every field of it that renders as a single-line text input must refuse each control
  character with "Remove line breaks and other control characters." (so a new form that does
  not inherit AppForm, or a new kind of field the rule misses, fails here);
- every POST form on every page the app shows (walked from app.url_map as the white-label
  administrator, plus sign-in, activation and the customer's own pages) is sent back with
  "line one\\r\\nline two" in each of its single-line fields in turn: each must be a 422 that
  says what is wrong;
- every text option of every CLI command refuses them too.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import click
import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

import webapp
from conftest import csrf_token
from testkit.activation import create_pending_customer
from testkit.url_map_walk import build_targets, routes
from testkit.wizard import complete_white_label_option
from webapp.forms import CONTROL_CHARACTERS_MESSAGE, SINGLE_LINE_TEXT, AppForm, SingleLine, has_control_characters

CONTROL_SAMPLES = [
    "line one\r\nline two",
    "one\ntwo",
    "one\rtwo",
    "tab\there",
    "nul\x00",
    "esc\x1b[31m",
    "del\x7f",
    "next\x85line",
    "line\u2028sep",
    "para\u2029sep",
    "rtl\u202eoverride",
    "isolate\u2066x\u2069",
]
ORDINARY = [
    "Kōwhai Bakery",
    "Ngā Hau e Whā Ltd",
    "O'Brien & Sons (NZ)",
    "名前",
    "café—deli",
    "👩‍👩‍👧 Family Co",
    "שלום\u200f",
    "a b  c",
    "100% pure",
]
SINGLE_LINE_INPUT_TYPES = {"text", "email", "password", "search", "tel", "url"}


def all_form_classes() -> list[type]:
    """Every FlaskForm subclass defined anywhere in the webapp package."""
    for module in pkgutil.walk_packages(webapp.__path__, "webapp."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found, todo = set(), [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted((c for c in found if c.__module__.startswith("webapp.")), key=lambda c: (c.__module__, c.__name__))


def bound_fields(form_class) -> list:
    """Each field of the class, bound the way an instance binds it (through the class's Meta)."""
    metas = [klass.Meta for klass in form_class.__mro__ if "Meta" in klass.__dict__]
    meta = type("Meta", tuple(metas), {})()
    form = SimpleNamespace(meta=meta)
    fields = []
    for name in dir(form_class):
        unbound = getattr(form_class, name)
        if not name.startswith("_") and hasattr(unbound, "_formfield"):
            field = meta.bind_field(form, unbound, {"name": name, "prefix": "", "translations": None})
            field.process(None)
            fields.append(field)
    return fields


def renders_as_single_line_text(field) -> bool:
    tag = re.match(r"\s*<input\b[^>]*>", str(field()))
    if not tag:
        return False
    kind = re.search(r'\btype="([^"]*)"', tag.group(0))
    return (kind.group(1).lower() if kind else "text") in SINGLE_LINE_INPUT_TYPES


def test_every_form_inherits_app_form():
    classes = all_form_classes()
    assert len(classes) >= 15
    strays = [f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, AppForm)]
    assert not strays, f"forms that do not inherit webapp.forms.AppForm (and so accept line breaks): {strays}"


def test_every_single_line_field_of_every_form_refuses_control_characters(app, record_figure):
    problems, fields_checked, forms = [], 0, all_form_classes()
    with app.test_request_context():
        for form_class in forms:
            for field in bound_fields(form_class):
                where = f"{form_class.__module__}.{form_class.__name__}.{field.name}"
                if not renders_as_single_line_text(field):
                    if any(isinstance(v, SingleLine) for v in field.validators) and "<textarea" in str(field()):
                        problems.append(f"{where}: a multi-line field refuses line breaks")
                    continue
                fields_checked += 1
                for sample in CONTROL_SAMPLES:
                    field.process(MultiDict({field.name: sample}))
                    try:
                        accepted = field.validate(SimpleNamespace(meta=field.meta))
                    except Exception as error:  # a validator that reached for the rest of the form
                        accepted, field.errors = True, [repr(error)]
                    if accepted or field.errors != [CONTROL_CHARACTERS_MESSAGE]:
                        problems.append(f"{where}: {sample!r} gave {field.errors}")
                        break
    assert not problems, "\n".join(problems)
    assert fields_checked >= 30
    record_figure(
        "control characters (forms)",
        f"{fields_checked} single-line fields in {len(forms)} form classes: "
        f"each refuses {len(CONTROL_SAMPLES)} kinds of control character",
    )


def test_ordinary_text_is_not_refused():
    for text in ORDINARY:
        assert not has_control_characters(text), text
    for text in CONTROL_SAMPLES:
        assert has_control_characters(text), text


# --- Every form the app shows, posted back with a line break in each field --------------------


class _Forms(HTMLParser):
    """The POST forms of a page: action, fields with their current values, submit buttons."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {
                "method": (a.get("method") or "get").lower(),
                "action": a.get("action"),
                "fields": [],
                "buttons": [],
                "text": [],
            }
            self.forms.append(self._form)
        if self._form is None or "disabled" in a:
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            name = a.get("name")
            if not name:
                return
            if kind in ("submit", "image"):
                self._form["buttons"].append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append([name, a.get("value", "on")])
            else:
                self._form["fields"].append([name, a.get("value", "")])
                if kind in SINGLE_LINE_INPUT_TYPES:
                    self._form["text"].append(name)
        elif tag == "button" and (a.get("type") or "submit") == "submit" and a.get("name"):
            self._form["buttons"].append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select = [a["name"], None, None]
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select[1] is None:
                self._select[1] = value
            if "selected" in a:
                self._select[2] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, first, chosen = self._select
            self._form["fields"].append([name, chosen if chosen is not None else (first or "")])
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form["fields"].append(self._textarea)
            self._textarea = None


def _post_forms(page_url: str, html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return [f for f in parser.forms if f["method"] == "post" and f["text"]]


def _submission(form: dict, field: str, value: str) -> MultiDict:
    data = MultiDict([(name, value if name == field else current) for name, current in form["fields"]])
    buttons = form["buttons"]
    if buttons:  # the button that submits rather than refreshes or goes back
        name, button_value = next((b for b in buttons if b[1] == "continue"), buttons[0])
        data.add(name, button_value)
    return data


def _pages(smtp, app, admin_client):
    """(client, url) for every page with a form: the administrator's walk, the wizard's steps,
    sign-in, an activation link, and the customer's own pages."""
    from webapp.onboarding.options import WHITE_LABEL

    targets = build_targets(app, admin_client)
    pages = [(admin_client, url) for _, _, url, _ in routes(app, targets, method="GET")]
    # Each wizard step of its own finished draft: a step answered badly closes the steps after it.
    for n, step in enumerate(WHITE_LABEL.steps):
        base = complete_white_label_option(admin_client, app, email=f"step{n}@matai.example.com")
        pages.append((admin_client, f"{base}/{step.slug}"))
    pages += [(app.test_client(), "/login")]
    _, token = create_pending_customer(
        app, admin_client, smtp, email="lines@example.com", business_name="Line Break Ltd"
    )
    pages += [(app.test_client(), f"/activate/{token}")]
    return pages


def test_every_form_page_answers_a_line_break_in_any_text_field_with_422(app, admin_client, smtp, record_figure):
    problems, posted, forms_seen = [], 0, set()
    sample = "line one\r\nline two"
    adapter = app.url_map.bind("localhost")
    for client, url in _pages(smtp, app, admin_client):
        page = client.get(url, buffered=True)
        if page.status_code != 200 or page.mimetype != "text/html":
            continue
        for form in _post_forms(url, page.get_data(as_text=True)):
            action = urljoin(url, form["action"] or url)
            endpoint = adapter.match(urlsplit(action).path, method="POST")[0]
            for field in form["text"]:
                if (endpoint, field) in forms_seen:
                    continue
                forms_seen.add((endpoint, field))
                response = client.post(
                    action, data=_submission(form, field, sample), headers={"X-CSRFToken": csrf_token(client)}
                )
                posted += 1
                html = response.get_data(as_text=True)
                if response.status_code != 422 or CONTROL_CHARACTERS_MESSAGE not in html:
                    problems.append(
                        f"POST {action} with a line break in {field} (form on {url}): {response.status_code}"
                        + ("" if CONTROL_CHARACTERS_MESSAGE in html else ", without the message")
                    )
    assert not problems, "\n".join(problems)
    assert posted >= 25
    endpoints = {e for e, _ in forms_seen}
    assert {"onboarding.step", "auth.login", "activation.activate_account", "accounts.top_up"} <= endpoints
    record_figure(
        "control characters (pages)",
        f"{posted} posts with CR/LF in one text field of the forms of "
        f"{len(endpoints)} routes found on the app's pages: all 422 with the message",
    )


def test_the_inline_email_check_says_so_too(app, admin_client):
    targets = build_targets(app, admin_client)
    response = admin_client.post(
        f"/customers/new/{targets.draft_key}/check/email",
        data={"email": "a@example.com\r\nBcc: b@example.com", "csrf_token": csrf_token(admin_client)},
    )
    assert CONTROL_CHARACTERS_MESSAGE in response.get_data(as_text=True)


# --- The command line --------------------------------------------------------------------------


def _text_options(app):
    for name, command in app.cli.commands.items():
        for param in command.params:
            if (
                isinstance(param, click.Option)
                and not param.is_flag
                and isinstance(param.type, click.types.StringParamType)
            ):
                yield name, param


def test_every_text_option_of_the_cli_refuses_control_characters(app):
    stray = [f"flask {name} {'/'.join(p.opts)}" for name, p in _text_options(app)]
    assert not stray, f"text options without type=SINGLE_LINE_TEXT (webapp/forms.py): {stray}"
    options = [
        (name, p)
        for name, command in app.cli.commands.items()
        for p in command.params
        if getattr(p, "type", None) is SINGLE_LINE_TEXT
    ]
    assert len(options) >= 9


@pytest.mark.parametrize(
    "args",
    [
        [
            "create-whitelabel",
            "--name",
            "Acme\r\nVoice",
            "--slug",
            "acme",
            "--country",
            "NZ",
            "--currency",
            "NZD",
            "--support-email",
            "help@acme.example.com",
        ],
        [
            "create-whitelabel",
            "--name",
            "Acme Voice",
            "--slug",
            "acme\t",
            "--country",
            "NZ",
            "--currency",
            "NZD",
            "--support-email",
            "help@acme.example.com",
        ],
        [
            "create-user",
            "--email",
            "new@demo.example.com",
            "--white-label",
            "demo-telecom",
            "--first-name",
            "Ana\u2028Bel",
            "--password",
            "a-long-enough-password-1",
        ],
        [
            "create-user",
            "--email",
            "new@demo.example.com\n",
            "--white-label",
            "demo-telecom",
            "--password",
            "a-long-enough-password-1",
        ],
    ],
)
def test_create_whitelabel_and_create_user_refuse_control_characters(app, runner, args):
    from webapp.models import User, WhiteLabel

    result = runner.invoke(args=args)
    assert result.exit_code == 2, result.output
    assert CONTROL_CHARACTERS_MESSAGE in result.output
    with app.app_context():
        assert not WhiteLabel.select().where(WhiteLabel.slug.startswith("acme")).exists()
        assert not User.select().where(User.email.startswith("new@")).exists()
