"""Poll failures: the first is logged at once, repeats at most once per interval, recovery is
logged once."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceRequestError

from emulators.functions_host.poll_failure_log import PollFailureLog


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_first_failure_at_once_repeats_rate_limited_then_recovery(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = FakeClock()
    report = PollFailureLog("sms-requests", repeat_interval=30.0, clock=clock)
    error = ServiceRequestError("Cannot connect to host 127.0.0.1:10001\nsecond line")

    report.failed(error)
    (first,) = lines(capsys)
    assert first.endswith(
        "Queue listener for 'sms-requests' failed to poll: "
        "ServiceRequestError: Cannot connect to host 127.0.0.1:10001"
    )

    clock.now += 10
    report.failed(error)
    clock.now += 10
    report.failed(error)
    assert lines(capsys) == []  # within the interval: quiet

    clock.now += 10
    report.failed(error)
    (reminder,) = lines(capsys)
    assert "still failing to poll (4 failed polls so far)" in reminder

    report.succeeded()
    (recovered,) = lines(capsys)
    assert recovered.endswith(
        "Queue listener for 'sms-requests' polls again (after 4 failed polls)."
    )

    report.succeeded()
    report.failed(error)
    (again,) = lines(capsys)  # a new outage is reported at once again
    assert "failed to poll" in again


def test_success_without_an_outage_logs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    report = PollFailureLog("sms-requests", clock=FakeClock())
    report.succeeded()
    assert lines(capsys) == []
