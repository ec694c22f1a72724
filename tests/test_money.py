"""Amounts are read exactly, by the white-label's locale: what a person types is what is charged."""

from __future__ import annotations

import re
import unicodedata

import pytest
from babel import Locale
from babel.numbers import format_decimal, get_currency_symbol, get_decimal_symbol, get_group_symbol
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from testkit.activation import create_pending_customer, submit_activation
from testkit.top_up import top_up
from webapp.ledger import customer_balance
from webapp.models import Customer, Payment, WhiteLabel

# Where people type numbers differently: decimal point or comma; comma, point, space or
# apostrophe between thousands; Indian grouping.
LOCALES = [
    ("en_NZ", "NZD"),
    ("en_AU", "AUD"),
    ("de_DE", "EUR"),
    ("fr_FR", "EUR"),
    ("de_CH", "CHF"),
    ("hi_IN", "INR"),
    ("sv_SE", "SEK"),
    ("nl_BE", "EUR"),
    ("en_ZA", "ZAR"),
]
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(text, locale="en_NZ", currency="NZD"):
    from webapp.money import parse_amount

    return parse_amount(text, locale=locale, currency=currency)


# --- Examples ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed,meant",
    [
        ("20,50", "20.50"),
        ("60,50", "60.50"),
        ("0,50", "0.50"),
        ("1,234,56", "1,234.56"),
        ("20 50", "20.50"),
        ("1.250,00", "1,250.00"),
        ("20'50", "20.50"),
    ],
)
def test_a_comma_before_cents_is_refused_with_what_was_understood(typed, meant):
    with pytest.raises(ValueError) as refused:
        parse(typed)
    assert f"Did you mean {meant}?" in str(refused.value)
    assert "a comma only separates thousands, like 1,250.00" in str(refused.value)


@pytest.mark.parametrize(
    "typed,minor",
    [
        ("2,050", 205000),
        ("1,250.00", 125000),
        ("1 250.00", 125000),
        ("$1,250.00", 125000),
        ("NZ$75.00", 7500),
        ("NZD 75", 7500),
        ("75 NZD", 7500),
        ("nzd75.5", 7550),
        ("  $ 20.50  ", 2050),
        ("NZ$\u00a020.50", 2050),
        (".5", 50),
        ("0", 0),
        ("1,000,000", 100000000),
        ("２０.５０", 2050),
    ],
)
def test_amounts_people_type_in_new_zealand(typed, minor):
    assert parse(typed) == minor


@pytest.mark.parametrize(
    "typed,minor",
    [
        ("20,50", 2050),
        ("1.250,00", 125000),
        ("1250,5", 125050),
        ("€ 20,50", 2050),
        ("20,50 €", 2050),
        ("EUR 1.000", 100000),
        ("1 250,00", 125000),
    ],
)
def test_a_german_reads_a_comma_as_the_decimal_separator(typed, minor):
    assert parse(typed, "de_DE", "EUR") == minor


@pytest.mark.parametrize(
    "typed,message",
    [
        ("20.50", "Did you mean 20,50? Type the cents after a comma"),
        ("1,250.00", "Did you mean 1.250,00?"),
        ("1.5000", "Enter the amount"),
        ("-5", "without a minus sign"),
    ],
)
def test_a_german_is_asked_about_a_decimal_point(typed, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(typed, "de_DE", "EUR")


@pytest.mark.parametrize(
    "typed,locale,currency,minor",
    [
        ("1 234,50", "fr_FR", "EUR", 123450),
        ("1\u202f234,50 €", "fr_FR", "EUR", 123450),
        ("1'234.50", "de_CH", "CHF", 123450),
        ("1’234.50", "de_CH", "CHF", 123450),
        ("CHF 20.50", "de_CH", "CHF", 2050),
        ("12,34,567.50", "hi_IN", "INR", 123456750),
        ("₹500", "hi_IN", "INR", 50000),
        ("1 234,50 kr", "sv_SE", "SEK", 123450),
    ],
)
def test_other_locales_read_their_own_way(typed, locale, currency, minor):
    assert parse(typed, locale, currency) == minor


@pytest.mark.parametrize(
    "typed,message",
    [
        ("-5", "without a minus sign"),
        ("−5", "without a minus sign"),
        ("$-5", "without a minus sign"),
        ("(5.00)", "without a minus sign"),
        ("5-", "without a minus sign"),
        ("abc", "as a number"),
        ("", "as a number"),
        ("NaN", "as a number"),
        ("1e9", "as a number"),
        ("Infinity", "as a number"),
        ("5_000", "as a number"),
        ("US$5", "as a number"),
        ("€5", "as a number"),
        ("NZ$5 NZD", "as a number"),
        ("1.2.3", "as a number"),
        ("٣", "as a number"),
        ("$", "as a number"),
        ("5 .00", "as a number"),
        ("50.555", "whole cents"),
        ("1.500", "whole cents"),
        ("50.500", "whole cents"),
        ("9" * 13, "smaller number"),
        ("9" * 40, "smaller number"),
        ("1e309", "as a number"),
        ("9" * 100_000, "as a number"),
    ],
)
def test_anything_else_is_refused_with_a_message(typed, message):
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        parse(typed)
    assert str(refused.value).startswith(("Enter the amount", "Did you mean"))


def test_the_locale_comes_from_the_country():
    from webapp.money import locale_for_country

    assert [locale_for_country(c) for c in ("NZ", "DE", "fr", "CH", "", "XX")] == [
        "en_NZ",
        "de_DE",
        "fr_FR",
        "de_CH",
        "en",
        "en",
    ]


# --- Properties ---------------------------------------------------------------------------


def _typed_ways(draw, minor: int, locale: str, currency: str) -> tuple[str, bool]:
    """`minor` written the way a person might type it in `locale`; the flag says whether the
    locale's own rules make it unambiguous (so it must be read, not refused)."""
    babel_locale = Locale.parse(locale)
    decimal, group = get_decimal_symbol(babel_locale), get_group_symbol(babel_locale)
    whole, cents = divmod(minor, 100)
    decimals = draw(
        st.sampled_from(["always"] + (["none"] if cents == 0 else []) + (["one"] if cents % 10 == 0 else []))
    )
    fraction = {"always": f"{cents:02d}", "one": f"{cents // 10}", "none": ""}[decimals]
    if draw(st.booleans()):  # grouped as the locale groups
        digits = format_decimal(
            whole, locale=babel_locale, format=babel_locale.decimal_formats[None].pattern.split(".")[0]
        )
        digits = digits.replace(group, draw(st.sampled_from([group, " "])) if group.isspace() else group)
    else:
        digits = str(whole)
    swapped = draw(st.booleans()) and (decimal, group) in ((".", ","), (",", "."))
    if swapped:  # the other convention: 1.234,50 in en_NZ, 1,234.50 in de_DE
        digits = digits.replace(group, decimal)
        decimal = group
    number = digits + (decimal + fraction if fraction else "")
    symbol = draw(
        st.sampled_from(
            [
                "",
                currency,
                currency.lower(),
                get_currency_symbol(currency, babel_locale),
                get_currency_symbol(currency, "en"),
            ]
        )
    )
    space = draw(st.sampled_from(["", " ", "\u00a0"]))
    text = draw(st.sampled_from([symbol + space + number, number + space + symbol])) if symbol else number
    padding = draw(st.sampled_from(["", " ", "  "]))
    return padding + text + padding, not swapped


@st.composite
def typed_amounts(draw):
    locale, currency = draw(st.sampled_from(LOCALES))
    minor = draw(st.one_of(st.integers(0, 10**6), st.integers(0, 10**13)))
    text, unambiguous = _typed_ways(draw, minor, locale, currency)
    return locale, currency, minor, text, unambiguous


@PROPERTY
@given(typed_amounts())
@example(("en_NZ", "NZD", 2050, "20,50", False))
@example(("en_NZ", "NZD", 2050, "NZ$20,50", False))
@example(("de_DE", "EUR", 2050, "20.50", False))
@example(("en_NZ", "NZD", 150, "1,50", False))
@example(("en_NZ", "NZD", 150000, "1.500,00", False))
def test_a_typed_amount_is_read_exactly_or_refused(record_figure_session, case):
    """However a person types an amount in the white-label's locale, it is read as exactly that
    amount or refused; written the locale's own way, it is always read."""
    from webapp.money import AmountError

    locale, currency, minor, text, unambiguous = case
    try:
        read = parse(text, locale, currency)
    except AmountError:
        assert not unambiguous, f"{text!r} in {locale} refused"
        _count(record_figure_session, "typed", "refused (another convention's separators)")
        return
    assert read == minor, f"{text!r} in {locale} read as {read}, typed for {minor}"
    _count(record_figure_session, "typed", "read exactly")


COUNTS: dict[str, dict[str, int]] = {"typed": {}, "text": {}}


def _count(record, which: str, outcome: str) -> None:
    counts = COUNTS[which]
    counts[outcome] = counts.get(outcome, 0) + 1
    typed, text = COUNTS["typed"], COUNTS["text"]
    record(
        "amounts read exactly",
        f"{sum(typed.values()):,} amounts typed the ways people type them in {len(LOCALES)} locales: "
        + ", ".join(f"{n:,} {k}" for k, n in sorted(typed.items()))
        + f", 0 misread; {sum(text.values()):,} arbitrary texts: "
        + ", ".join(f"{n:,} {k}" for k, n in sorted(text.items()))
        + ", 0 read as more than their digits",
    )


TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789012345678901234567890123456789.,,.' -$€NZDkr()e\u00a0\u202f٣２")),
    max_size=20,
)


@PROPERTY
@given(st.sampled_from(LOCALES), TEXT)
@example(("en_NZ", "NZD"), "20,50")
@example(("en_NZ", "NZD"), "1,000")
@example(("de_DE", "EUR"), "1.000,5")
def test_no_text_is_read_as_more_than_its_digits(record_figure_session, locale_currency, text):
    """For any text at all, a successful read is the number formed by the digits before the
    locale's decimal separator, with the digits after it as the cents: never more."""
    from webapp.money import AmountError

    locale, currency = locale_currency
    try:
        read = parse(text, locale, currency)
    except AmountError:
        _count(record_figure_session, "text", "refused")
        return
    _count(record_figure_session, "text", "read")
    decimal = get_decimal_symbol(Locale.parse(locale))
    before, _, after = unicodedata.normalize("NFKC", text).partition(decimal)
    whole = int("".join(c for c in before if c in "0123456789") or "0")
    cents = "".join(c for c in after if c in "0123456789")
    assert read // 100 == whole and read <= whole * 100 + 99, (text, read)
    assert read % 100 == int((cents or "0").ljust(2, "0")), (text, read)


# --- In the product -------------------------------------------------------------------------


@pytest.fixture
def activated(smtp, app, admin_client):
    customer_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token).status_code == 303
    return customer_id, contact


def _balance(app, customer_id):
    with app.app_context():
        return customer_balance(Customer.get_by_id(customer_id)), Payment.select().where(
            Payment.customer == customer_id
        ).count()


def test_a_top_up_of_20_comma_50_is_refused_with_what_was_understood(app, activated):
    customer_id, contact = activated
    before = _balance(app, customer_id)
    response = top_up(contact, customer_id, "20,50")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Did you mean 20.50?" in html and 'value="20,50"' in html
    assert _balance(app, customer_id) == before
    response = top_up(contact, customer_id, "NZ$ 2,050")
    assert response.status_code == 303
    assert _balance(app, customer_id) == (before[0] + 205000, before[1] + 1)


def test_an_opening_balance_of_60_comma_50_is_a_question_not_a_limit(smtp, app, admin_client):
    _, token = create_pending_customer(app, admin_client, smtp)
    response = submit_activation(app.test_client(), token, opening_balance="60,50")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Did you mean 60.50?" in html and "at most" not in html


def _make_german(app):
    with app.app_context():
        WhiteLabel.update(country="DE", currency="EUR", locale="de_DE").where(
            WhiteLabel.slug == "demo-telecom"
        ).execute()


def test_a_german_white_labels_customers_type_a_decimal_comma(smtp, app, admin_client):
    _make_german(app)
    customer_id, token = create_pending_customer(
        app, admin_client, smtp, email="owner@kowhai-bakery.example.com", business_name="Kowhai Bakery"
    )
    contact = app.test_client()
    assert submit_activation(contact, token, opening_balance="60,50").status_code == 303
    assert _balance(app, customer_id) == (6050, 1)
    response = top_up(contact, customer_id, "20.50")
    assert response.status_code == 422 and "Did you mean 20,50?" in response.get_data(as_text=True)
    response = top_up(contact, customer_id, "1.020,50 €")
    assert response.status_code == 303
    assert _balance(app, customer_id) == (6050 + 102050, 2)


def test_a_white_labels_locale_defaults_from_its_country(app, runner):
    result = runner.invoke(
        args=[
            "create-whitelabel",
            "--name",
            "Berlin Voice",
            "--slug",
            "berlin",
            "--country",
            "DE",
            "--currency",
            "EUR",
            "--support-email",
            "help@berlin.example.com",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "create-whitelabel",
            "--name",
            "Geneva Voice",
            "--slug",
            "geneva",
            "--country",
            "CH",
            "--currency",
            "CHF",
            "--support-email",
            "help@geneva.example.com",
            "--locale",
            "fr_CH",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "create-whitelabel",
            "--name",
            "Bad",
            "--slug",
            "bad",
            "--country",
            "CH",
            "--currency",
            "CHF",
            "--support-email",
            "help@bad.example.com",
            "--locale",
            "xx_YY",
        ]
    )
    assert result.exit_code != 0 and "locale" in result.output
    with app.app_context():
        locales = {w.slug: w.locale for w in WhiteLabel.select()}
    assert locales == {"demo-telecom": "en_NZ", "other-voice": "en_AU", "berlin": "de_DE", "geneva": "fr_CH"}


@given(minor=st.integers(min_value=0, max_value=10**9), place=st.sampled_from(LOCALES))
def test_an_amount_given_back_to_type_again_reads_as_the_same_amount(minor, place):
    """ "Change amount" on the top-up's payment step fills the field with the chosen amount: it
    must read back as exactly that amount in the white-label's locale."""
    from webapp.money import amount_as_typed, parse_amount

    locale, currency = place
    assert parse_amount(amount_as_typed(minor, locale), locale=locale, currency=currency) == minor
