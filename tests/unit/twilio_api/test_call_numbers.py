"""Calls' special numbers: Twilio's magic test numbers and the emulator's outcome numbers."""

from __future__ import annotations

import pytest

from emulators.twilio_api import call_numbers
from emulators.twilio_api.call_numbers import (
    MAGIC_FROM_OK,
    NumberBehaviour,
    magic_number_error,
    number_behaviour,
)

ORDINARY = "+15551230000"


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21217),
        ("+15005550002", 21214),
        ("+15005550003", 21215),
        ("+15005550004", 21216),
    ],
)
def test_magic_to_numbers_answer_twilios_codes(to: str, code: int) -> None:
    error = magic_number_error(to, MAGIC_FROM_OK)
    assert error is not None
    assert (error.status, error.code) == (400, code)
    assert to in error.message


def test_the_invalid_magic_from_wins_over_a_magic_to() -> None:
    error = magic_number_error("+15005550002", "+15005550001")
    assert error is not None
    assert error.code == 21212


def test_ordinary_numbers_pass() -> None:
    assert magic_number_error(ORDINARY, ORDINARY) is None


def test_test_credentials_want_the_magic_from() -> None:
    assert call_numbers.test_credentials_from_error(MAGIC_FROM_OK) is None
    error = call_numbers.test_credentials_from_error(ORDINARY)
    assert error is not None
    assert error.code == 21210
    assert ORDINARY in error.message


@pytest.mark.parametrize(
    ("to", "behaviour"),
    [
        ("+15550100001", NumberBehaviour(outcome="busy")),
        ("+15550100002", NumberBehaviour(outcome="no-answer")),
        ("+15550100003", NumberBehaviour(outcome="failed")),
        ("+15550100004", NumberBehaviour(answered_by="machine")),
        ("+15550100005", NumberBehaviour(answered_by="fax")),
        (ORDINARY, NumberBehaviour(outcome="answered", answered_by=None)),
    ],
)
def test_outcome_numbers(to: str, behaviour: NumberBehaviour) -> None:
    assert number_behaviour(to) == behaviour
