"""A faster `html_params` for every WTForms widget (same output, about 8 times quicker).

WTForms builds each attribute with `Markup('{k}="{v}"').format(...)`, which goes through
`string.Formatter` in pure Python: rendering one text input took about 60 µs, and a wizard step
renders fifteen of them, so it was the largest single cost of answering a step. This version
escapes and joins with plain strings. `tests/test_widgets.py` checks that it returns exactly
what WTForms' own returns for generated attributes, so a WTForms upgrade that changes the
format fails a test instead of changing the HTML quietly.

`install()` puts it where WTForms' widgets look it up: the module global most of them call, and
the `html_params` static method of `Input` and `Button` (and so of every input subclass). The
widget classes themselves are used as they are.
"""

from __future__ import annotations

import wtforms.widgets.core as wtforms_widgets
from markupsafe import Markup, escape

ORIGINAL = wtforms_widgets.html_params
clean_key = wtforms_widgets.clean_key


def html_params(**kwargs) -> Markup:
    """WTForms' `html_params`: sorted attributes; True is a bare attribute, False is left out."""
    parts = []
    for key, value in sorted(kwargs.items()):
        if value is False:
            continue
        name = escape(clean_key(key))
        if value is True:
            parts.append(name)
        else:
            # escape() leaves a Markup value as it is; WTForms still turns its quotes into &quot;.
            parts.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(parts))


def install() -> None:
    wtforms_widgets.html_params = html_params
    for widget in (wtforms_widgets.Input, wtforms_widgets.Button):
        widget.html_params = staticmethod(html_params)
