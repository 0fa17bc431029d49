"""Messages' special numbers: Twilio's magic test numbers and the emulator's outcome numbers."""

from __future__ import annotations

import pytest

from emulators.twilio_api import numbers
from emulators.twilio_api.numbers import (
    DELIVERED,
    E164,
    MAGIC_FROM_ERRORS,
    MAGIC_FROM_OK,
    MAGIC_TO_ERRORS,
    Outcome,
    outcome_for,
)


@pytest.mark.parametrize("number", ["+15551230000", "+442071234567", "+12", "+1" + "2" * 13])
def test_e164_accepts_plus_and_up_to_15_digits(number: str) -> None:
    assert E164.match(number)


@pytest.mark.parametrize("number", ["15551230000", "+05551230000", "+1", "+1" + "2" * 15, "+1 555"])
def test_e164_refuses_the_rest(number: str) -> None:
    assert not E164.match(number)


def test_magic_numbers_carry_twilios_documented_codes() -> None:
    # docs/emulators.md and Twilio's test-credentials page: From 0001/0007/0008, To 0001..0009.
    assert {k: v[0] for k, v in MAGIC_FROM_ERRORS.items()} == {
        "+15005550001": 21212,
        "+15005550007": 21606,
        "+15005550008": 21611,
    }
    assert {k: v[0] for k, v in MAGIC_TO_ERRORS.items()} == {
        "+15005550001": 21211,
        "+15005550002": 21612,
        "+15005550003": 21408,
        "+15005550004": 21610,
        "+15005550009": 21614,
    }
    assert MAGIC_FROM_OK not in MAGIC_FROM_ERRORS


def test_test_credentials_accept_only_the_magic_from() -> None:
    assert numbers.test_credentials_from_error(MAGIC_FROM_OK) is None
    refused = numbers.test_credentials_from_error("+15551230000")
    assert refused is not None
    assert refused[0] == 21606
    assert "+15551230000" in refused[1]


@pytest.mark.parametrize(
    ("to", "outcome"),
    [
        ("+15550030003", Outcome("undelivered", 30003, "Unreachable destination handset")),
        ("+15550030005", Outcome("undelivered", 30005, "Unknown destination handset")),
        ("+15550030006", Outcome("undelivered", 30006, "Landline or unreachable carrier")),
        ("+15550030008", Outcome("failed", 30008, "Unknown error")),
        ("+15550000200", Outcome("sent")),
        ("+15551230000", DELIVERED),
    ],
)
def test_outcome_numbers(to: str, outcome: Outcome) -> None:
    assert outcome_for(to) == outcome
