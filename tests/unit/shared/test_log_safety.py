"""Phone numbers in logs are masked."""

from __future__ import annotations

import logging

from shared.log_safety import (
    AZURE_HTTP_LOGGER,
    mask_number,
    mask_numbers_in,
    masked_error,
    quiet_storage_request_logs,
)


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


def test_masking_keeps_the_length_and_the_last_four_digits() -> None:
    for number in ("+15551234567", "+447700900123", "1234567"):
        masked = mask_number(number)
        assert len(masked) == len(number)
        assert masked[-4:] == number[-4:]
        assert masked[:2] == number[:2]


def test_digit_runs_too_short_or_too_long_for_a_number_are_left_alone() -> None:
    text = "code 21211, port 8701, 16 digits 1234567890123456, word ab1234567"
    assert mask_numbers_in(text) == text


def test_a_masked_error_shows_its_type_and_message_without_the_number() -> None:
    error = ValueError("could not reach +15551234567")
    assert masked_error(error) == "ValueError: could not reach +1******4567"


def test_the_storage_sdks_request_logs_are_kept_to_warnings() -> None:
    logger = logging.getLogger(AZURE_HTTP_LOGGER)
    before = logger.level
    logger.setLevel(logging.NOTSET)
    try:
        quiet_storage_request_logs()
        assert logger.getEffectiveLevel() == logging.WARNING
        assert not logger.isEnabledFor(logging.INFO)
    finally:
        logger.setLevel(before)
