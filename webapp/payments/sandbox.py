"""A card processor's test mode, built in: well-known test cards, Luhn check, idempotency."""

from __future__ import annotations

import secrets
import threading

from . import Card, ChargeResult

DECLINES = {
    "4000000000000002": ("card_declined", "Your card was declined. Try another card or contact your bank."),
    "4000000000009995": ("insufficient_funds", "Your card has insufficient funds. Try another card."),
    "4000000000000069": ("expired_card", "Your card has expired. Check the expiry date or use another card."),
}

# Like a processor, the sandbox remembers each idempotency key's outcome.
_results: dict[str, ChargeResult] = {}
_refunded: set[str] = set()
_lock = threading.Lock()


def luhn_valid(number: str) -> bool:
    """The Luhn checksum every card number carries."""
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4] or 0) <= 2720:
        return "Mastercard"
    if number[:2] in {"34", "37"}:
        return "American Express"
    return "Card"


class SandboxGateway:
    name = "sandbox"
    collects_card = True

    def charge(self, *, amount: int, currency: str, card: Card, idempotency_key: str, description: str) -> ChargeResult:
        with _lock:
            if idempotency_key in _results:
                return _results[idempotency_key]
            result = self._decide(card)
            _results[idempotency_key] = result
            return result

    def refund(self, reference: str, *, idempotency_key: str) -> None:
        with _lock:
            _refunded.add(reference)

    @staticmethod
    def _decide(card: Card) -> ChargeResult:
        number = card.number
        if not luhn_valid(number):
            return ChargeResult(
                False, decline_code="incorrect_number", message="That card number is not valid. Check it and try again."
            )
        details = {
            "brand": card_brand(number),
            "last4": number[-4:],
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
        }
        if number in DECLINES:
            code, message = DECLINES[number]
            return ChargeResult(False, decline_code=code, message=message, **details)
        return ChargeResult(True, reference=f"sandbox_ch_{secrets.token_hex(12)}", **details)


def was_refunded(reference: str) -> bool:
    """For tests: whether the sandbox refunded a charge."""
    return reference in _refunded
