"""Business registration numbers as each country writes them: which number a business of that
country gives, the hint that asks for it, and what is wrong with one that is not right (its
length, its characters or its check digit). One place for the wizard, the API and any import.

Checked with python-stdnum where it knows the number: New Zealand's NZBN (13 digits, a GS1
Global Location Number starting 94, with the GS1 check digit), Australia's ABN (11 digits,
modulus 89), the US EIN (9 digits, a prefix the IRS assigns), Canada's BN (9 digits, Luhn);
the UK's Companies House number is checked for its form (it has no check digit). Other
countries' numbers are taken as typed (letters, digits, spaces, hyphens, dots, slashes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import ean
from stdnum.au import abn
from stdnum.ca import bn
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.us import ein


@dataclass(frozen=True)
class BusinessNumber:
    name: str  # what people of the country call it: "NZBN"
    article: str  # "an" NZBN, "a" company number
    hint: str  # the field's hint
    digits: tuple[int, ...]  # how many digits it has (after spaces and hyphens are taken out)
    example: str
    check: Callable[[str], object] | None = None  # stdnum validate(): raises on a wrong number
    pattern: str | None = None  # the form it takes, when it has letters too (fullmatch)
    form_message: str = ""


def _nzbn(number: str) -> str:
    if not number.startswith("94"):
        # Every NZBN is a GS1 New Zealand number: anything else is not an NZBN, whatever its digit.
        raise _WrongForm()
    return ean.validate(number)


class _WrongForm(ValidationError):
    pass


RULES: dict[str, BusinessNumber] = {
    "NZ": BusinessNumber(
        "NZBN",
        "an",
        "The New Zealand Business Number (NZBN): 13 digits, starting 94.",
        (13,),
        "9429041535837",
        _nzbn,
        form_message="An NZBN starts with 94. Check the number on the NZBN register.",
    ),
    "AU": BusinessNumber(
        "ABN",
        "an",
        "The Australian Business Number (ABN): 11 digits.",
        (11,),
        "51 824 753 556",
        abn.validate,
    ),
    "US": BusinessNumber(
        "EIN",
        "an",
        "The Employer Identification Number (EIN): 9 digits.",
        (9,),
        "12-3456789",
        ein.validate,
        form_message="Those first two digits are not an EIN prefix the IRS gives. Check the number.",
    ),
    "CA": BusinessNumber(
        "business number (BN)",
        "a",
        "The Canada Revenue Agency business number (BN): 9 digits.",
        (9,),
        "123456782",
        bn.validate,
    ),
    "GB": BusinessNumber(
        "company number",
        "a",
        "The Companies House company number: 8 characters, such as 01234567 or SC123456.",
        (8,),
        "01234567",
        pattern=r"(?:\d{8}|[A-Z]{2}\d{6}|R\d{7})",
        form_message="A company number is 8 digits, or 2 letters and 6 digits (SC123456).",
    ),
}

GENERIC_HINT = "The business’s registration number, if it has one."
ANY_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]{0,39}")


def hint_for(country: str | None) -> str:
    """The business number field's hint for a business in `country`."""
    rule = RULES.get((country or "").upper())
    return rule.hint if rule else GENERIC_HINT


def check_business_number(raw: str, country: str | None) -> tuple[str, str | None]:
    """(the number as stored, None) when `raw` is a right business number for `country`, else
    ("", what is wrong in words for the person). Empty input is ("", None): the number is optional."""
    raw = (raw or "").strip()
    if not raw:
        return "", None
    rule = RULES.get((country or "").upper())
    if rule is None:
        if not ANY_NUMBER.fullmatch(raw):
            return "", "Enter the business number using letters, numbers, spaces or hyphens."
        return raw, None
    compact = re.sub(r"[\s.-]", "", raw).upper()
    wanted = " or ".join(str(n) for n in rule.digits)
    a_name = f"{rule.article.capitalize()} {rule.name}"
    if rule.pattern is not None:
        if len(compact) not in rule.digits:
            return "", f"{a_name} has {wanted} characters; this has {len(compact)}. For example {rule.example}."
        if not re.fullmatch(rule.pattern, compact):
            return "", rule.form_message
        return compact, None
    if not compact.isdigit():
        return "", f"Enter the {rule.name} using digits only, for example {rule.example}."
    if len(compact) not in rule.digits:
        return "", f"{a_name} has {wanted} digits; this has {len(compact)}. For example {rule.example}."
    try:
        rule.check(compact)
    except InvalidChecksum:
        return "", f"The check digit does not match: this is not a valid {rule.name}. Check for a mistyped digit."
    except ValidationError:
        return "", rule.form_message or f"This is not a valid {rule.name}. Check the number."
    return compact, None
