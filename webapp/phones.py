"""Phone numbers, countries and time zones: reading them as people type them, and showing them
as people read them. Numbers are stored in E.164 (+6495550100); pages show them in the national
format of the white-label's country (09 555 0100), and in international format when the number
belongs to another country (+61 2 5555 0100)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

import phonenumbers
import pycountry
from jinja2 import pass_context
from markupsafe import Markup, escape
from wtforms import SelectChoice
from wtforms.widgets import Select

from .widgets import html_params


def normalise_phone(raw: str, country: str) -> str:
    """E.164 for a phone number typed in local or international form; ValueError if invalid."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as error:
        raise ValueError(str(error)) from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def display_phone(e164: str | None, country: str | None = None) -> str:
    """A stored number for reading: national format when it belongs to `country` ("09 555 0100"
    for NZ), international otherwise ("+64 9 555 0100"). Anything unreadable is shown as stored.
    Remembered: parsing and formatting cost about 0.1 ms, and every branded page and email shows
    its white-label's support number."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    same_country = country and phonenumbers.region_code_for_number(number) == country.upper()
    style = phonenumbers.PhoneNumberFormat.NATIONAL if same_country else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


@pass_context
def phone_filter(context, e164: str | None) -> str:
    """Jinja filter `phone`: a number as people of the page's white-label read it (the brand a
    customer sees, or the signed-in staff's white-label)."""
    label = context.get("brand") or context.get("white_label")
    if label is None:
        customer = context.get("customer")
        label = getattr(customer, "white_label", None) if customer is not None else None
    return display_phone(e164, getattr(label, "country", None))


@lru_cache(maxsize=1)
def country_choices() -> list[SelectChoice]:
    countries = sorted(pycountry.countries, key=lambda c: c.name)
    return [SelectChoice(c.alpha_2, c.name) for c in countries]


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """The values of country_choices(), for a membership test."""
    return frozenset(c.value for c in country_choices())


def country_name(code: str | None) -> str:
    country = pycountry.countries.get(alpha_2=code or "")
    return country.name if country else (code or "")


@lru_cache(maxsize=1)
def _country_options_html() -> str:
    return "".join(f'<option value="{escape(c.value)}">{escape(c.label)}</option>' for c in country_choices())


class CountrySelect(Select):
    """The ~250-country list rendered once and reused: building it option by option was
    nearly half the cost of answering the address step."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        if field.flags.required:
            kwargs.setdefault("required", True)
        options = _country_options_html()
        chosen = field.data if field.data in country_codes() else None
        if chosen:
            options = options.replace(f'<option value="{chosen}">', f'<option selected value="{chosen}">', 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


@lru_cache(maxsize=1)
def time_zone_choices() -> list[SelectChoice]:
    zones = sorted(tz for tz in available_timezones() if "/" in tz and not tz.startswith("Etc/"))
    return [SelectChoice(tz, tz.replace("_", " ")) for tz in zones]
