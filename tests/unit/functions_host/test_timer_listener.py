"""The timer listener: the TimerInfo payload and .NET date forms it sends, the occurrences it
logs, and its runs over a fake invoker and a fake schedule monitor."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.exceptions import ServiceRequestError

from emulators.functions_host.function_metadata import Binding, FunctionSpec
from emulators.functions_host.ncrontab import parse_cron
from emulators.functions_host.rpc_values import Json, Text
from emulators.functions_host.schedule_monitor import NEVER, ScheduleMonitor, ScheduleStatus
from emulators.functions_host.timer_listener import (
    LATEST,
    TimerListener,
    dotnet_round_trip,
    format_occurrences,
    timer_payload,
)
from emulators.functions_host.timer_schedule import ConstantSchedule, TimerOptions, TimerSchedule
from tests.fakes.function_invoker import ScriptedInvoker

T0 = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)
CRON = TimerOptions(parse_cron("0 */5 * * * *"), run_on_startup=False, use_monitor=True)
HOURLY = ConstantSchedule("01:00:00", timedelta(hours=1))


def test_the_payload_is_compact_timer_info_json() -> None:
    status = ScheduleStatus(NEVER, T0.replace(microsecond=0), T0.replace(microsecond=0))
    payload = timer_payload(CRON, status, past_due=True)
    assert " " not in payload
    assert json.loads(payload) == {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {
            "Last": "0001-01-01T00:00:00+00:00",
            "Next": "2026-12-01T08:00:00+00:00",
            "LastUpdated": "2026-12-01T08:00:00+00:00",
        },
        "IsPastDue": True,
    }


def test_without_the_monitor_the_status_is_null_and_constant_schedules_do_not_adjust() -> None:
    options = TimerOptions(HOURLY, run_on_startup=True, use_monitor=False)
    assert json.loads(timer_payload(options, None, past_due=False)) == {
        "Schedule": {"AdjustForDST": False},
        "ScheduleStatus": None,
        "IsPastDue": False,
    }


def test_round_trip_dates_have_seven_fraction_digits() -> None:
    assert dotnet_round_trip(T0) == "2026-12-01T08:00:00.1234560+00:00"
    assert dotnet_round_trip(T0.replace(microsecond=0)) == "2026-12-01T08:00:00.0000000+00:00"


def test_the_next_occurrences_are_logged_in_the_hosts_format() -> None:
    assert format_occurrences(CRON.schedule, T0, 3) == [
        "12/01/2026 08:05:00Z",
        "12/01/2026 08:10:00Z",
        "12/01/2026 08:15:00Z",
    ]


def test_a_schedule_that_runs_out_lists_what_there_is() -> None:
    feb_31 = parse_cron("0 0 0 31 2 *")
    assert format_occurrences(feb_31, T0, 5) == []


class FakeMonitor(ScheduleMonitor):
    """A schedule monitor over a dict (no blob container)."""

    def __init__(self, recorded: ScheduleStatus | None, error: Exception | None = None) -> None:
        self.recorded = recorded
        self.error = error
        self.updates: list[ScheduleStatus] = []

    async def get_status(self, function: str) -> ScheduleStatus | None:
        if self.error is not None:
            raise self.error
        return self.recorded

    async def update_status(self, function: str, status: ScheduleStatus) -> None:
        self.updates.append(status)


SPEC = FunctionSpec(
    "tick",
    Path("/app/tick"),
    Path("/app/tick/__init__.py"),
    "main",
    (Binding("timer", "timerTrigger", "in", None, {"schedule": "0 */5 * * * *"}),),
    False,
)


def timer_listener(
    schedule: TimerSchedule,
    invoker: ScriptedInvoker,
    monitor: ScheduleMonitor | None = None,
    run_on_startup: bool = False,
) -> TimerListener:
    options = TimerOptions(schedule, run_on_startup, use_monitor=monitor is not None)
    return TimerListener(SPEC, options, invoker, monitor)


async def test_run_on_startup_fires_at_once_then_waits_for_the_schedule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stopping = asyncio.Event()
    invoker = ScriptedInvoker(stopping=stopping)
    before = datetime.now(UTC)
    await asyncio.wait_for(timer_listener(HOURLY, invoker, run_on_startup=True).run(stopping), 10)
    ((_, reason, inputs, metadata, details),) = invoker.calls
    assert reason.startswith("Timer fired at ")
    assert details == "Trigger Details: UnscheduledInvocationReason: RunOnStartup"
    assert json.loads(inputs["timer"].text if isinstance(inputs["timer"], Json) else "") == {
        "Schedule": {"AdjustForDST": False},
        "ScheduleStatus": None,
        "IsPastDue": False,
    }
    fired = metadata["TimerTrigger"]
    assert isinstance(fired, Text)
    fired_at = datetime.strptime(fired.value, "%m/%d/%Y %H:%M:%S").replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= fired_at <= datetime.now(UTC)
    out = capsys.readouterr().out
    assert "The next 5 occurrences of the 'tick' schedule (Constant: 01:00:00) will be:" in out
    assert "Function 'tick' is configured to run on startup. Executing now." in out


async def test_without_startup_run_it_waits_and_stop_ends_the_wait() -> None:
    stopping = asyncio.Event()
    invoker = ScriptedInvoker(stopping=stopping)
    running = asyncio.create_task(timer_listener(HOURLY, invoker).run(stopping))
    await asyncio.sleep(0)
    stopping.set()
    await asyncio.wait_for(running, 10)
    assert invoker.calls == []


async def test_a_missed_occurrence_runs_at_once_past_due_and_updates_the_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)
    # Recorded an hour ago, for a run 55 minutes ago that never happened.
    last = (now - timedelta(hours=1)).replace(second=0, microsecond=0, minute=0)
    recorded = ScheduleStatus(last, last + timedelta(minutes=5), last)
    monitor = FakeMonitor(recorded)
    stopping = asyncio.Event()
    invoker = ScriptedInvoker(stopping=stopping)
    await asyncio.wait_for(timer_listener(CRON.schedule, invoker, monitor).run(stopping), 10)
    ((_, _, inputs, _, details),) = invoker.calls
    assert details == (
        "Trigger Details: UnscheduledInvocationReason: IsPastDue, "
        f"OriginalSchedule: {dotnet_round_trip(recorded.next)}"
    )
    payload = json.loads(inputs["timer"].text if isinstance(inputs["timer"], Json) else "")
    assert payload["IsPastDue"] is True
    assert payload["ScheduleStatus"] == recorded.to_json()
    assert "Function 'tick' is past due on startup. Executing now." in capsys.readouterr().out
    (after,) = monitor.updates
    # A past-due run is not "early": it counts from when it fired.
    assert after.last == after.last_updated
    assert now - timedelta(seconds=1) <= after.last <= datetime.now(UTC)
    assert after.next == CRON.schedule.next_after(after.last)


async def test_an_unreadable_status_starts_without_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    monitor = FakeMonitor(None, error=ServiceRequestError("storage down"))
    stopping = asyncio.Event()
    invoker = ScriptedInvoker(stopping=stopping)
    await asyncio.wait_for(
        timer_listener(HOURLY, invoker, monitor, run_on_startup=True).run(stopping), 10
    )
    assert "Function 'tick': cannot read the timer status (storage down); starting without it." in (
        capsys.readouterr().out
    )
    # check_past_due wrote a fresh status; the run wrote the next one.
    fresh, after_run = monitor.updates
    assert fresh.last == NEVER
    assert after_run.last != NEVER
    assert len(invoker.calls) == 1


async def test_a_failing_run_is_logged_and_the_schedule_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stopping = asyncio.Event()
    invoker = ScriptedInvoker(
        RuntimeError("bad"), RuntimeError("bad"), stopping=stopping, stop_after=2
    )
    every_10ms = ConstantSchedule("00:00:00.01", timedelta(milliseconds=10))
    listener = timer_listener(every_10ms, invoker, run_on_startup=True)
    await asyncio.wait_for(listener.run(stopping), 10)
    assert len(invoker.calls) == 2
    assert invoker.calls[1].details is None  # a scheduled run has no unscheduled reason
    assert "Error occurred during scheduled invocation for 'tick': RuntimeError('bad')" in (
        capsys.readouterr().out
    )


async def test_a_timer_that_fires_early_counts_as_on_time() -> None:
    monitor = FakeMonitor(None)
    invoker = ScriptedInvoker()
    listener = timer_listener(HOURLY, invoker, monitor)
    due = datetime.now(UTC) + timedelta(seconds=30)
    status = await listener._fire(ScheduleStatus(NEVER, due, NEVER), startup="")
    assert status == ScheduleStatus(due, due + timedelta(hours=1), due)
    assert monitor.updates == [status]


async def test_a_schedule_that_never_fires_again_waits_for_ever() -> None:
    feb_31 = parse_cron("0 0 0 31 2 *")
    invoker = ScriptedInvoker()
    listener = timer_listener(feb_31, invoker)
    status = await listener._fire(ScheduleStatus(NEVER, NEVER, NEVER), startup="RunOnStartup")
    assert status.next == LATEST
