"""timerTrigger bindings: schedule resolution, TimeSpan schedules, flags, the monitor rule, the
status the schedule monitor keeps, and the payload the worker gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequestConverter

from emulators.functions_host.function_metadata import Binding, FunctionConfigError
from emulators.functions_host.ncrontab import CronSchedule, parse_cron
from emulators.functions_host.schedule_monitor import (
    NEVER,
    ScheduleStatus,
    format_dotnet_date,
    host_id,
    reconcile_status,
)
from emulators.functions_host.timer_listener import (
    dotnet_round_trip,
    format_occurrences,
    timer_payload,
)
from emulators.functions_host.timer_schedule import (
    ConstantSchedule,
    TimerOptions,
    parse_timespan,
    plan_timer,
)

NOW = datetime(2026, 12, 1, 8, 30, 15, tzinfo=UTC)


def _binding(**raw: Any) -> Binding:
    raw = {"name": "timer", "type": "timerTrigger", "direction": "in", **raw}
    return Binding(name="timer", type="timerTrigger", direction="in", data_type=None, raw=raw)


def test_schedule_from_a_setting() -> None:
    options = plan_timer("sweeper", _binding(schedule="%SWEEP%"), {"SWEEP": "0 */5 * * * *"}, NOW)
    assert isinstance(options.schedule, CronSchedule)
    assert options.describe() == "Cron: '0 */5 * * * *'"
    assert (options.run_on_startup, options.use_monitor) == (False, True)


def test_missing_setting_names_function_and_setting() -> None:
    with pytest.raises(FunctionConfigError) as refused:
        plan_timer("sweeper", _binding(schedule="%SWEEP%"), {}, NOW)
    assert "function 'sweeper': schedule '%SWEEP%'" in str(refused.value)
    assert "'%SWEEP%' does not resolve" in str(refused.value)


@pytest.mark.parametrize("schedule", ["0 0 * * * * *", "every 5 minutes", "00:00:00", "-00:05:00"])
def test_invalid_schedule_is_refused(schedule: str) -> None:
    with pytest.raises(FunctionConfigError) as refused:
        plan_timer("sweeper", _binding(schedule="%S%"), {"S": schedule}, NOW)
    assert f"function 'sweeper': schedule '%S%' (= '{schedule}')" in str(refused.value)
    assert "not recognized as a valid cron expression or timespan string" in str(refused.value)


def test_missing_schedule_is_refused() -> None:
    with pytest.raises(FunctionConfigError, match="timerTrigger has no 'schedule'"):
        plan_timer("sweeper", _binding(), {}, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:05:00", timedelta(minutes=5)),
        ("1:30", timedelta(hours=1, minutes=30)),
        ("2.03:04:05", timedelta(days=2, hours=3, minutes=4, seconds=5)),
        ("00:00:01.5", timedelta(seconds=1.5)),
        ("3", timedelta(days=3)),
        ("-00:01:00", timedelta(minutes=-1)),
        ("24:00:00", None),
        ("00:60:00", None),
        ("5 minutes", None),
    ],
)
def test_timespans(text: str, expected: timedelta | None) -> None:
    assert parse_timespan(text) == expected


def test_timespan_schedule_counts_from_the_previous_run() -> None:
    options = plan_timer("t", _binding(schedule="00:30:00"), {}, NOW)
    assert options.schedule == ConstantSchedule("00:30:00", timedelta(minutes=30))
    assert options.schedule.next_after(NOW) == NOW + timedelta(minutes=30)
    assert options.describe() == "Constant: 00:30:00"
    assert options.adjust_for_dst is False


@pytest.mark.parametrize(
    ("schedule", "flags", "monitored"),
    [
        ("0 */5 * * * *", {}, True),
        ("0 */5 * * * *", {"useMonitor": False}, False),
        ("0 */5 * * * *", {"useMonitor": "false"}, False),
        ("*/10 * * * * *", {}, False),  # more than once a minute: the host turns it off
        ("00:00:30", {}, False),
        ("00:01:00", {}, True),
    ],
)
def test_use_monitor(schedule: str, flags: dict[str, Any], monitored: bool) -> None:
    assert plan_timer("t", _binding(schedule=schedule, **flags), {}, NOW).use_monitor is monitored


def test_run_on_startup_flag() -> None:
    assert plan_timer(
        "t", _binding(schedule="0 0 * * * *", runOnStartup=True), {}, NOW
    ).run_on_startup
    with pytest.raises(FunctionConfigError, match="'runOnStartup' must be true or false"):
        plan_timer("t", _binding(schedule="0 0 * * * *", runOnStartup="yes"), {}, NOW)


HOURLY = parse_cron("0 0 * * * *")


def test_a_new_timer_gets_a_status_for_its_next_occurrence() -> None:
    assert reconcile_status(NOW, HOURLY, None) == ScheduleStatus(
        NEVER, datetime(2026, 12, 1, 9, tzinfo=UTC), NOW
    )


def test_a_recorded_status_in_the_past_is_kept_so_it_shows_past_due() -> None:
    last = datetime(2026, 12, 1, 6, tzinfo=UTC)
    recorded = ScheduleStatus(last, datetime(2026, 12, 1, 7, tzinfo=UTC), last)
    assert reconcile_status(NOW, HOURLY, recorded) is recorded


def test_a_changed_schedule_is_rebased_instead_of_past_due() -> None:
    last = datetime(2026, 12, 1, 6, tzinfo=UTC)
    # Recorded under an every-5-minutes schedule; now hourly, whose next after `last` has passed.
    recorded = ScheduleStatus(last, datetime(2026, 12, 1, 6, 5, tzinfo=UTC), last)
    assert reconcile_status(NOW, HOURLY, recorded) == ScheduleStatus(
        NEVER, datetime(2026, 12, 1, 9, tzinfo=UTC), NOW
    )


def test_status_dates_as_the_host_writes_them() -> None:
    assert format_dotnet_date(NEVER) == "0001-01-01T00:00:00+00:00"
    assert format_dotnet_date(NOW) == "2026-12-01T08:30:15+00:00"
    assert format_dotnet_date(NOW.replace(microsecond=123_400)) == "2026-12-01T08:30:15.1234+00:00"
    assert dotnet_round_trip(NOW) == "2026-12-01T08:30:15.0000000+00:00"
    status = ScheduleStatus(NOW, NOW + timedelta(hours=1), NOW)
    assert ScheduleStatus.from_json(status.to_json()) == status


def test_occurrences_as_the_host_logs_them() -> None:
    assert format_occurrences(HOURLY, NOW, 2) == ["12/01/2026 09:00:00Z", "12/01/2026 10:00:00Z"]
    assert format_occurrences(parse_cron("0 0 0 31 2 *"), NOW, 5) == []


def test_host_id_from_the_setting_or_machine_and_path() -> None:
    assert host_id({"AzureFunctionsWebHost__hostid": "my-host"}, Path("/app")) == "my-host"
    generated = host_id({}, Path("/srv/app"))
    assert generated == generated.lower()
    assert len(generated) <= 32
    assert not generated.endswith("-")
    assert generated != host_id({}, Path("/srv/other-app"))


@pytest.mark.parametrize("monitored", [True, False])
def test_the_worker_reads_the_payload_as_a_timer_request(monitored: bool) -> None:
    options = TimerOptions(HOURLY, run_on_startup=False, use_monitor=monitored)
    status = ScheduleStatus(NEVER, datetime(2026, 12, 1, 9, tzinfo=UTC), NOW)
    payload = timer_payload(options, status if monitored else None, past_due=True)
    document = json.loads(payload)
    assert list(document) == ["Schedule", "ScheduleStatus", "IsPastDue"]
    datum = func.meta.Datum(payload, "json")
    request = TimerRequestConverter.decode(datum, trigger_metadata={})
    assert request.past_due is True
    assert request.schedule == {"AdjustForDST": True}
    expected = (
        {
            "Last": "0001-01-01T00:00:00+00:00",
            "Next": "2026-12-01T09:00:00+00:00",
            "LastUpdated": "2026-12-01T08:30:15+00:00",
        }
        if monitored
        else {}
    )
    assert request.schedule_status == expected
