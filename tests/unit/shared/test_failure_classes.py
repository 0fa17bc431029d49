"""The failure-class table of the send path."""

from __future__ import annotations

import pytest

from shared.failure_classes import FailureClass, SettingsValue, classify


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
