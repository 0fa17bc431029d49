"""The failure-class table of the send path, and the error that carries a class."""

from __future__ import annotations

import pytest

from shared.failure_classes import (
    OPTED_OUT_CODE,
    TWILIO_CODES,
    ClassifiedError,
    FailureClass,
    SettingsValue,
    classify,
)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (21211, 400, FailureClass.PERMANENT),
        (21610, 400, FailureClass.PERMANENT),
        (21614, 400, FailureClass.PERMANENT),
        (21217, 400, FailureClass.PERMANENT),
        (20003, 401, FailureClass.CONFIGURATION),
        (21210, 400, FailureClass.CONFIGURATION),
        (21212, 400, FailureClass.CONFIGURATION),
        (20429, 429, FailureClass.TRANSIENT),
        (429, 429, FailureClass.TRANSIENT),
        (20500, 500, FailureClass.AMBIGUOUS),
        (502, 502, FailureClass.AMBIGUOUS),
        (99999, 400, FailureClass.PERMANENT),
        (None, 403, FailureClass.CONFIGURATION),
        (None, None, FailureClass.AMBIGUOUS),
    ],
)
def test_classify(code: int | None, status: int | None, expected: FailureClass) -> None:
    assert classify(code, status) == expected


@pytest.mark.parametrize(
    ("code", "from_settings", "expected"),
    [
        (21606, {SettingsValue.FROM}, FailureClass.CONFIGURATION),
        (21606, set(), FailureClass.PERMANENT),
        (21606, {SettingsValue.MESSAGING_SERVICE}, FailureClass.PERMANENT),
        (21609, {SettingsValue.STATUS_CALLBACK}, FailureClass.CONFIGURATION),
        (21205, {SettingsValue.URL}, FailureClass.CONFIGURATION),
        (21205, set(), FailureClass.PERMANENT),
        (21705, {SettingsValue.MESSAGING_SERVICE}, FailureClass.CONFIGURATION),
        (21701, {SettingsValue.MESSAGING_SERVICE}, FailureClass.CONFIGURATION),
        (21703, {SettingsValue.FROM}, FailureClass.PERMANENT),
        (21211, set(SettingsValue), FailureClass.PERMANENT),
        (20429, set(SettingsValue), FailureClass.TRANSIENT),
    ],
)
def test_an_error_blaming_a_value_from_the_settings_is_configuration(
    code: int, from_settings: set[SettingsValue], expected: FailureClass
) -> None:
    assert classify(code, 400, frozenset(from_settings)) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, FailureClass.PERMANENT),
        (401, FailureClass.CONFIGURATION),
        (404, FailureClass.CONFIGURATION),
        (409, FailureClass.PERMANENT),
        (429, FailureClass.TRANSIENT),
        (500, FailureClass.AMBIGUOUS),
        (504, FailureClass.AMBIGUOUS),
        (302, FailureClass.AMBIGUOUS),  # not an error Twilio answers: no verdict
    ],
)
def test_an_unknown_code_is_judged_by_the_http_status(status: int, expected: FailureClass) -> None:
    assert classify(None, status) == expected
    assert classify(12345, status) == expected


def test_every_code_in_the_table_wins_over_the_status() -> None:
    for code, (failure_class, _) in TWILIO_CODES.items():
        assert classify(code, 400) == failure_class, code
        assert classify(code, 500) == failure_class, code


def test_opting_out_is_a_permanent_failure() -> None:
    assert classify(OPTED_OUT_CODE, 400) == FailureClass.PERMANENT


def test_a_classified_error_masks_numbers_in_its_text_only() -> None:
    error = ClassifiedError(
        FailureClass.PERMANENT, "The 'To' number +15551234567 is not valid", 21211, 400
    )
    assert str(error) == "The 'To' number +1******4567 is not valid"
    assert error.message == "The 'To' number +15551234567 is not valid"
    assert (error.failure_class, error.code, error.http_status) == (
        FailureClass.PERMANENT,
        21211,
        400,
    )
    assert ClassifiedError(FailureClass.TRANSIENT, "x").code is None
