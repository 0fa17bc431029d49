"""Phone numbers in logs are masked."""

from __future__ import annotations

from shared.log_safety import mask_number, mask_numbers_in


def test_numbers_are_masked_but_distinguishable() -> None:
    assert mask_number("+15551234567") == "+1******4567"
    assert "1234" not in mask_number("+15551234567")[:-4]
    assert mask_number(None) == "-"
    assert mask_number("+1234") == "*****"


def test_numbers_in_error_texts_are_masked_but_sids_and_codes_are_not() -> None:
    sid = "SM" + "1234567890" * 3 + "ab"
    text = (
        f"The 'To' number +15005550001 is not valid (code 21211, {sid}); "
        "GET /Messages.json?To=%2B15551230001&From=15005550006"
    )
    masked = mask_numbers_in(text)
    assert "+1******0001" in masked
    assert "%2B1******0001" in masked
    assert "1******0006" in masked
    for number in ("5005550001", "5551230001", "5005550006"):
        assert number not in masked
    assert sid in masked
    assert "21211" in masked
