"""A timerTrigger binding's schedule and options, resolved and checked as the host does at start-up.

`schedule` is resolved with `%SETTING%` references (the whole string, as the host's
`ResolveWholeString`), then read as an NCRONTAB expression, else as a .NET TimeSpan
(`hh:mm[:ss[.fffffff]]`, `d.hh:mm[:ss]` or whole days `d`), else refused:
`TimerSchedule.Create` in the WebJobs timers extension.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from emulators.functions_host.function_metadata import Binding, FunctionConfigError
from emulators.functions_host.ncrontab import CronError, CronSchedule, parse_cron
from emulators.functions_host.settings_loader import SettingsError, resolve_setting_references

# .NET TimeSpan.Parse's invariant formats: [-][d.]hh:mm[:ss[.fffffff]] or [-]d.
_TIMESPAN = re.compile(
    r"^(?P<sign>-)?(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{1,2})"
    r"(?::(?P<seconds>\d{1,2})(?:\.(?P<fraction>\d{1,7}))?)?$"
)
_DAYS = re.compile(r"^(?P<sign>-)?(?P<days>\d+)$")


@dataclass(frozen=True)
class ConstantSchedule:
    """A TimeSpan schedule: every `interval`, counted from the previous run's start."""

    expression: str
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime | None:
        """`moment` + interval (the host's ConstantSchedule)."""
        return moment + self.interval


TimerSchedule = CronSchedule | ConstantSchedule


@dataclass(frozen=True)
class TimerOptions:
    """A timer function's resolved schedule and its `runOnStartup` / `useMonitor` flags."""

    schedule: TimerSchedule
    run_on_startup: bool
    use_monitor: bool  # after the host's rule that turns it off for sub-minute schedules

    def describe(self) -> str:
        """The schedule as the host's `ToString()` writes it: `Cron: '…'` / `Constant: …`."""
        if isinstance(self.schedule, CronSchedule):
            return f"Cron: '{self.schedule.expression}'"
        return f"Constant: {_format_timespan(self.schedule.interval)}"

    @property
    def adjust_for_dst(self) -> bool:
        """TimerSchedule.AdjustForDST, which the host serialises into the trigger payload."""
        return isinstance(self.schedule, CronSchedule)


def parse_timespan(text: str) -> timedelta | None:
    """A .NET TimeSpan string as `TimeSpan.TryParse` reads it, or None."""
    match = _TIMESPAN.match(text.strip())
    if match:
        hours, minutes = int(match["hours"]), int(match["minutes"])
        seconds = int(match["seconds"] or 0)
        if hours > 23 or minutes > 59 or seconds > 59:
            return None
        fraction = int((match["fraction"] or "0").ljust(7, "0"))
        span = timedelta(
            days=int(match["days"] or 0),
            hours=hours,
            minutes=minutes,
            seconds=seconds,
            microseconds=fraction // 10,
        )
    else:
        days = _DAYS.match(text.strip())
        if not days:
            return None
        span = timedelta(days=int(days["days"]))
        match = days
    return -span if match["sign"] else span


def _format_timespan(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}.{text}" if days else text


def _flag(function: str, binding: Binding, key: str, default: bool) -> bool:
    value = binding.raw.get(key, default)
    if isinstance(value, bool):
        return value
    # Newtonsoft's JToken conversion also takes the strings "true"/"false".
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise FunctionConfigError(f"function '{function}': timerTrigger '{key}' must be true or false")


def plan_timer(
    function: str, binding: Binding, settings: Mapping[str, str], now: datetime
) -> TimerOptions:
    """Resolve and check a timerTrigger binding; FunctionConfigError names the function, the
    schedule as written and the setting it came from."""
    raw = binding.raw.get("schedule")
    if not isinstance(raw, str) or not raw.strip():
        raise FunctionConfigError(f"function '{function}': timerTrigger has no 'schedule'")
    try:
        expression = resolve_setting_references(raw, settings)
    except SettingsError as error:
        raise FunctionConfigError(f"function '{function}': schedule '{raw}': {error}") from error
    source = f"schedule '{raw}' (= '{expression}')" if expression != raw else f"schedule '{raw}'"
    schedule: TimerSchedule
    try:
        schedule = parse_cron(expression)
    except CronError as cron_error:
        interval = parse_timespan(expression)
        if interval is None or interval <= timedelta(0):
            raise FunctionConfigError(
                f"function '{function}': {source}: The schedule expression '{expression}' was "
                f"not recognized as a valid cron expression or timespan string ({cron_error})"
            ) from None
        schedule = ConstantSchedule(expression.strip(), interval)
    use_monitor = _flag(function, binding, "useMonitor", True)
    if isinstance(schedule, CronSchedule):
        use_monitor = use_monitor and not schedule.occurs_more_than_once_a_minute(now)
    else:
        use_monitor = use_monitor and schedule.interval >= timedelta(minutes=1)
    return TimerOptions(
        schedule=schedule,
        run_on_startup=_flag(function, binding, "runOnStartup", False),
        use_monitor=use_monitor,
    )
