"""Keep personal data out of logs: phone numbers are masked."""

from __future__ import annotations


def mask_number(number: str | None) -> str:
    """`+15551234567` → `+1******4567`: enough to tell numbers apart, not to dial them."""
    if not number:
        return "-"
    if len(number) <= 6:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 6) + number[-4:]
