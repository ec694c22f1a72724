"""The base of every form in the app, and the one rule every single-line text field follows.

`AppForm` binds `SingleLine` to each single-line text field a form has (StringField and its
kinds: EmailField, SearchField, TelField, URLField, PasswordField), whoever wrote the form and
whether or not they remembered: a line break in a name or an email ends up in an email header,
a CSV export, a log line or a PBX setting, and a bidirectional override makes a name display as
something else. Multi-line fields (TextAreaField) and hidden fields (machine-made values) are
left alone. Every form in the app inherits from AppForm; tests/test_forms.py fails for one that
does not.
"""

from __future__ import annotations

import re

import click
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField, TextAreaField
from wtforms.validators import StopValidation

CONTROL_CHARACTERS_MESSAGE = "Remove line breaks and other control characters."

# C0 controls (NUL, tab, line feed, carriage return, escape...), DEL, C1 controls (NEL...), the
# Unicode line and paragraph separators, and the bidirectional embedding, override and isolate
# controls that make text display in another order than it is stored ("Trojan Source").
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def has_control_characters(value: object) -> bool:
    """Whether a single-line value holds a character that does not belong on one line."""
    return isinstance(value, str) and CONTROL_CHARACTERS.search(value) is not None


class SingleLine:
    """Validator: refuse control characters (line breaks, tabs, NUL, C1, U+2028/9, bidi controls),
    in what was typed as well as in what the field's filters made of it."""

    def __init__(self, message: str = CONTROL_CHARACTERS_MESSAGE):
        self.message = message

    def __call__(self, form, field: Field) -> None:
        typed = field.raw_data or []
        if has_control_characters(field.data) or any(has_control_characters(value) for value in typed):
            raise StopValidation(self.message)


def is_single_line(field: Field) -> bool:
    """A text field people type one line into."""
    return isinstance(field, StringField) and not isinstance(field, (TextAreaField, HiddenField))


class AppForm(FlaskForm):
    """FlaskForm whose single-line text fields all refuse control characters (checked first, so
    the person sees that message alone)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            if is_single_line(field):
                field.validators = [SingleLine(), *field.validators]
            return field


def form_status(form: FlaskForm) -> int:
    """The status of a page showing `form`: 422 when it was submitted and came back with errors
    (htmx swaps 422 in place; see base.html), else 200."""
    return 422 if form.is_submitted() and form.errors else 200


class SingleLineText(click.ParamType):
    """A click type for every text option of the CLI: the same rule as the forms."""

    name = "text"

    def convert(self, value, param, ctx):
        if has_control_characters(value):
            self.fail(f"{CONTROL_CHARACTERS_MESSAGE} ({value!r})", param, ctx)
        return value


SINGLE_LINE_TEXT = SingleLineText()
