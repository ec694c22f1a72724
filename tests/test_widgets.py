"""The fast html_params renders exactly what WTForms' own does, and the widgets use it."""

import string

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from webapp import widgets

names = st.text(alphabet=string.ascii_letters + "_-", min_size=1, max_size=12)
values = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(),
    st.text(max_size=30),  # quotes, ampersands, angle brackets, any unicode
    st.text(max_size=30).map(Markup),  # already-safe markup, quotes included
)


# As many examples as the suite's Hypothesis profile asks for (conftest.py: 500, 750 in CI).
@given(st.dictionaries(names, values, max_size=8))
def test_same_output_as_wtforms(attributes):
    assert widgets.html_params(**attributes) == widgets.ORIGINAL(**attributes)


def test_examples_from_the_wtforms_docs():
    assert widgets.html_params(name="text1", id="f", class_="text") == 'class="text" id="f" name="text1"'
    assert (
        widgets.html_params(data_attr="user.name", aria_labeledby="name")
        == 'aria-labeledby="name" data-attr="user.name"'
    )
    assert widgets.html_params(value='say "hi" & <go>') == 'value="say &#34;hi&#34; &amp; &lt;go&gt;"'


def test_widgets_render_through_it(app):
    """A form field rendered by WTForms' own widget goes through the fast function."""
    import wtforms.widgets.core
    from wtforms import Form, StringField

    assert wtforms.widgets.core.html_params is widgets.html_params
    assert wtforms.widgets.TextInput.html_params is widgets.html_params
    assert wtforms.widgets.Select.__call__.__globals__["html_params"] is widgets.html_params

    class Probe(Form):
        name = StringField()

    html = Probe(data={"name": 'O"Neil <b>'}).name(class_="wide", required=True, disabled=False)
    assert html == '<input class="wide" id="name" name="name" required type="text" value="O&#34;Neil &lt;b&gt;">'
