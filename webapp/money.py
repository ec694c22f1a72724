"""Reading an amount a person typed into integer minor units, by the white-label's locale.

One parser for every amount field. The number itself is read by Babel in strict mode for the
locale, so a group separator counts only where it groups digits the way the locale does
(in en_NZ `2,050` is two thousand and fifty; `20,50` is refused, since it could be 20.50 or
2,050). Around it, people may type the currency (`NZ$`, `$`, `NZD`, before or after) and
spaces; a space between digits is read as the locale's group separator, so `1 250.00` is
1,250.00 and `20 50` is refused like `20,50`. Anything else is refused with a message that
says how to type it, and when a different reading is likely, what we think was meant
("Did you mean 20.50?"). An amount is never read as more than the digits typed before the
decimal separator, nor with cents other than the digits after it.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)

DEFAULT_LOCALE = "en"
# Longer than any amount a person types; refusing early keeps a pasted essay cheap.
MAX_LENGTH = 40
# Whole units: anything from a trillion up is a slip, never a payment (and never a 500).
MAX_WHOLE_DIGITS = 12

_MINUS = "-\u2212\u2010\u2011\u2012\u2013\u2014\ufe63\uff0d"
_SEPARATOR_NAMES = {".": "point", ",": "comma", "'": "apostrophe", "\u2019": "apostrophe"}


def locale_for_country(country: str | None) -> str:
    """The locale people in `country` type numbers in (Babel's likely subtags): NZ -> en_NZ,
    DE -> de_DE, FR -> fr_FR. Unknown or empty countries get plain English."""
    try:
        return str(Locale.parse("und_" + (country or "").strip().upper()))
    except (ValueError, UnknownLocaleError):
        return DEFAULT_LOCALE


def valid_locale(identifier: str) -> bool:
    """Whether Babel knows `identifier` (en_NZ, de_DE, fr_CA...)."""
    try:
        Locale.parse(identifier)
    except (ValueError, TypeError, UnknownLocaleError):
        return False
    return True


class _Rules:
    """A locale's separators and a currency's symbols, worked out once per pair."""

    def __init__(self, locale: str, currency: str) -> None:
        try:
            self.locale = Locale.parse(locale or DEFAULT_LOCALE)
        except (ValueError, TypeError, UnknownLocaleError):  # the CLI refuses these; never a 500
            self.locale = Locale.parse(DEFAULT_LOCALE)
        self.decimal = get_decimal_symbol(self.locale)
        group = get_group_symbol(self.locale)
        # People type a plain space (or an apostrophe) for the typographic ones.
        self.group = " " if group.isspace() else ("'" if group == "\u2019" else group)
        self.babel_group = group
        self.currency = currency.upper()
        symbols = {self.currency}
        for where in (self.locale, "en"):
            try:
                symbols.add(get_currency_symbol(self.currency, where))
            except (ValueError, UnknownLocaleError):
                pass
        symbols |= {s.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for s in symbols if not s.isalpha()}  # NZ$ -> $
        # Longest first, so NZ$ is taken whole rather than leaving "NZ" behind.
        self.symbols = sorted((_squash(s).upper() for s in symbols if s), key=len, reverse=True)

    def number(self, value: Decimal) -> str:
        """`value` with two decimals and the locale's grouping: 1250 -> "1,250.00" (en_NZ)."""
        return format_decimal(value, format=self._pattern(), locale=self.locale).replace(self.babel_group, self.group)

    def _pattern(self) -> str:
        pattern = self.locale.decimal_formats[None].pattern.split(";")[0]
        return pattern.split(".")[0] + ".00"

    def name(self, symbol: str) -> str:
        return "space" if symbol == " " else _SEPARATOR_NAMES.get(symbol, f"“{symbol}”")


@lru_cache(maxsize=256)
def _rules(locale: str, currency: str) -> _Rules:
    return _Rules(locale, currency)


def _squash(text: str) -> str:
    """Compatibility forms folded (full-width digits, no-break spaces) and every run of
    white space made one plain space."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", text).strip()


# The one minus sign shown for negative money (U+2212, as the ledger's debits have always used):
# Babel writes a hyphen-minus, which looked different beside a debit and breaks from its digits.
MINUS_SIGN = "\u2212"


@lru_cache(maxsize=4096)
def format_money(amount_minor: int | None, currency: str) -> str:
    """12345, "NZD" -> "NZ$123.45" (the "en" locale marks every dollar with its country);
    negative amounts with a true minus sign: -7900 -> "−NZ$79.00". Remembered: Babel's
    formatting took a quarter of a millisecond, and a page or an email shows the same few
    prices again and again."""
    if amount_minor is None:
        return ""
    text = format_currency(abs(amount_minor) / 100, currency, locale="en")
    return MINUS_SIGN + text if amount_minor < 0 else text


def typing_example(locale: str, currency: str, minor: int = 7500) -> str:
    """How to type `minor` in `locale`, for a field's hint: "75.00" (en_NZ), "75,00" (de_DE)."""
    return _rules(locale or DEFAULT_LOCALE, (currency or "").upper()).number(Decimal(minor).scaleb(-2))


def amount_as_typed(minor: int, locale: str) -> str:
    """`minor` as a person would type it back into an amount field: no grouping, two decimals,
    the locale's decimal sign ("2050.00" in en_NZ, "2050,00" in de_DE)."""
    from babel.numbers import format_decimal

    return format_decimal(Decimal(minor).scaleb(-2), format="0.00", locale=locale or DEFAULT_LOCALE)


class AmountError(ValueError):
    """A typed amount that was not read; the message says what to type instead."""


def parse_amount(text: str | None, *, locale: str, currency: str) -> int:
    """What a person typed, read as minor units by `locale`'s rules ("20.50" -> 2050 in en_NZ,
    "20,50" -> 2050 in de_DE). Raises AmountError (a ValueError) with a message otherwise."""
    rules = _rules(locale or DEFAULT_LOCALE, (currency or "").upper())
    example = rules.number(Decimal("50.25"))
    not_a_number = AmountError(f"Enter the amount as a number, like 50 or {rules.number(Decimal(50))}.")
    raw = text or ""
    if len(raw) > MAX_LENGTH * 4:
        raise not_a_number
    typed = _squash(raw)
    if not typed or len(typed) > MAX_LENGTH:
        raise not_a_number
    if rules.group == "'":
        typed = typed.replace("\u2019", "'")

    number = typed
    for symbol in rules.symbols:  # at most one currency, before or after the number
        if number[: len(symbol)].upper() == symbol:
            number = number[len(symbol) :].strip()
            break
        if number[-len(symbol) :].upper() == symbol:
            number = number[: -len(symbol)].strip()
            break

    if not number:
        raise not_a_number
    if number[0] in _MINUS or number[-1] in _MINUS or (number[0] == "(" and number[-1] == ")"):
        raise AmountError(
            f"Enter the amount without a minus sign, like {rules.number(Decimal(50))}: it can only be added."
        )
    allowed = set("0123456789 ") | {rules.decimal, rules.group}
    if not set(number) <= allowed | {".", ",", "'"} or not any(c.isdigit() for c in number):
        raise not_a_number
    if re.search(r"(?<!\d) | (?!\d)", number):
        raise not_a_number  # a space is read only between digits, as a group separator
    if rules.group == " ":
        number = number.replace(" ", rules.babel_group)
    elif " " in number:
        number = number.replace(" ", rules.group)

    if not set(number) <= {*"0123456789", rules.decimal, rules.babel_group, rules.group}:
        # A separator this locale does not use (a point in fr_FR, an apostrophe in en_NZ).
        raise AmountError(
            _did_you_mean(number, rules)
            or f"Enter the amount with a {rules.name(rules.decimal)} before the cents, like {example}."
        )
    try:
        value = parse_decimal(number.replace(rules.group, rules.babel_group), locale=rules.locale, strict=True)
    except NumberFormatError as problem:
        meant = _did_you_mean(number, rules)
        if meant:
            raise AmountError(meant) from None
        if getattr(problem, "suggestions", None):
            raise AmountError(
                f"Enter the amount with a {rules.name(rules.group)} only between thousands, "
                f"like {rules.number(Decimal(1250))}."
            ) from None
        raise not_a_number from None

    whole, _, cents = number.partition(rules.decimal)
    if len(cents) > 2:
        raise AmountError(
            f"Enter the amount in whole cents, like {example}: at most two digits after the "
            f"{rules.name(rules.decimal)}."
        )
    if len(re.sub(r"\D", "", whole).lstrip("0")) > MAX_WHOLE_DIGITS:
        raise AmountError(
            f"Enter the amount as a smaller number: {MAX_WHOLE_DIGITS + 1} digits before the "
            f"{rules.name(rules.decimal)} cannot be right."
        )
    return int(value.scaleb(2))


def _did_you_mean(number: str, rules: _Rules) -> str | None:
    """When the last separator is followed by one or two digits, and any before it group
    thousands, the person most likely meant it as the decimal separator ("20,50" or
    "1.234,56" in en_NZ): say what we think was meant, and how to type it here."""
    match = re.fullmatch(r"([0-9.,' \u00a0\u202f]*?[0-9])[.,' \u00a0\u202f]([0-9]{1,2})", number)
    if not match:
        return None
    head, cents = match.groups()
    groups = re.split(r"[^0-9]", head)
    if len(set(re.findall(r"[^0-9]", head))) > 1 or (
        len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]))
    ):
        return None
    whole = "".join(groups)
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        return None
    meant = rules.number(Decimal(f"{whole}.{cents}"))
    return (
        f"Did you mean {meant}? Type the cents after a {rules.name(rules.decimal)}, like {meant}; "
        f"a {rules.name(rules.group)} only separates thousands, like {rules.number(Decimal(1250))}."
    )
