"""The failure-class table of the send path."""

from __future__ import annotations

import pytest

from shared.failure_classes import FailureClass, classify


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
