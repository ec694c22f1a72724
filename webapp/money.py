"""Reading an amount a person typed into integer minor units."""
from __future__ import annotations

import re

_AMOUNT = re.compile(r"(\d{1,9})(?:\.(\d{1,2}))?")


def parse_amount(text: str | None) -> int:
    """ "50", "50.5", "$1,250.00" -> minor units; ValueError with a message for anything else."""
    text = (text or "").strip()
    if text.startswith("-"):
        raise ValueError("Enter the amount as a number, like 50 or 50.00.")
    cleaned = re.sub(r"^[^\d.]+", "", text).replace(",", "")  # a typed currency symbol
    match = _AMOUNT.fullmatch(cleaned)
    if not match:
        if re.fullmatch(r"\d+\.\d{3,}", cleaned):
            raise ValueError("Enter the amount in whole cents, like 50.25.")
        raise ValueError("Enter the amount as a number, like 50 or 50.00.")
    whole, cents = match.group(1), (match.group(2) or "0").ljust(2, "0")
    return int(whole) * 100 + int(cents)
