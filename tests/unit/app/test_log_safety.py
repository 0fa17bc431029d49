"""Phone numbers in logs are masked."""

from __future__ import annotations

from shared.log_safety import mask_number


def test_numbers_are_masked_but_distinguishable() -> None:
    assert mask_number("+15551234567") == "+1******4567"
    assert "1234" not in mask_number("+15551234567")[:-4]
    assert mask_number(None) == "-"
    assert mask_number("+1234") == "*****"
