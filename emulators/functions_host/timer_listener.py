"""Run one timer-triggered function on its schedule, as the WebJobs `TimerListener` does.

- at start: with the schedule monitor, read the status blob and check for a missed occurrence;
  past due → one run at once with `IsPastDue: true`; else `runOnStartup` → one run at once;
- then wait for the next occurrence and invoke; the next occurrence is computed from the time the
  run started, so a run that overruns its next occurrence is followed by one run at once (not by
  one per missed occurrence), and runs never overlap;
- a failed run is logged by the invoker and not retried; the schedule goes on;
- stop: the wait is cancelled, a run in progress finishes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from emulators.functions_host import invocation_log
from emulators.functions_host.function_invoker import FunctionInvoker
from emulators.functions_host.function_metadata import FunctionSpec
from emulators.functions_host.rpc_values import Json, RpcValue, Text
from emulators.functions_host.schedule_monitor import (
    NEVER,
    ScheduleMonitor,
    ScheduleStatus,
    format_dotnet_date,
)
from emulators.functions_host.timer_schedule import TimerOptions, TimerSchedule

NEXT_OCCURRENCES_LOGGED = 5
# A schedule that matches no date waits for ever (the host's DateTime.MaxValue).
LATEST = datetime.max.replace(tzinfo=UTC)


def timer_payload(options: TimerOptions, status: ScheduleStatus | None, past_due: bool) -> str:
    """The TimerInfo JSON the host sends the worker (Newtonsoft `SerializeObject(TimerInfo)`):
    `ScheduleStatus` is null without the schedule monitor."""
    return json.dumps(
        {
            "Schedule": {"AdjustForDST": options.adjust_for_dst},
            "ScheduleStatus": status.to_json() if status is not None else None,
            "IsPastDue": past_due,
        },
        separators=(",", ":"),
    )


def dotnet_round_trip(moment: datetime) -> str:
    """`DateTime.Now.ToString("o")` on a UTC host: seven fraction digits and `+00:00`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0+00:00"


def _dotnet_general(moment: datetime) -> str:
    """`DateTime.Now.ToString()` in the invariant culture (the `TimerTrigger` binding data)."""
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def _next(schedule: TimerSchedule, moment: datetime) -> datetime | None:
    return schedule.next_after(moment)


def format_occurrences(schedule: TimerSchedule, start: datetime, count: int) -> list[str]:
    """The next `count` occurrences as the host logs them (`MM/dd/yyyy HH:mm:ssZ`)."""
    lines: list[str] = []
    moment: datetime | None = start
    for _ in range(count):
        moment = _next(schedule, moment) if moment is not None else None
        if moment is None:
            break
        lines.append(moment.strftime("%m/%d/%Y %H:%M:%SZ"))
    return lines


@dataclass
class TimerListener:
    """The listener of one timer-triggered function."""

    spec: FunctionSpec
    options: TimerOptions
    invoker: FunctionInvoker
    monitor: ScheduleMonitor | None  # None: useMonitor off (or turned off for the schedule)

    async def run(self, stopping: asyncio.Event) -> None:
        """Fire on schedule until `stopping` is set; a run in progress finishes first."""
        name = self.spec.name
        schedule = self.options.schedule
        now = datetime.now(UTC)
        status: ScheduleStatus | None = None
        past_due = False
        if self.monitor is not None:
            status = await self._recorded_status()
            late, status = await self.monitor.check_past_due(name, now, schedule, status)
            past_due = late.total_seconds() > 0
        if status is None:
            status = ScheduleStatus(NEVER, _next(schedule, now) or LATEST, NEVER)
        occurrences = format_occurrences(schedule, now, NEXT_OCCURRENCES_LOGGED)
        invocation_log.log(
            f"The next {len(occurrences)} occurrences of the '{name}' schedule "
            f"({self.options.describe()}) will be:\n" + "\n".join(occurrences)
        )
        startup = "IsPastDue" if past_due else "RunOnStartup" if self.options.run_on_startup else ""
        while not stopping.is_set():
            if startup:
                invocation_log.log(
                    f"Function '{name}' is past due on startup. Executing now."
                    if past_due
                    else f"Function '{name}' is configured to run on startup. Executing now."
                )
            elif not await self._wait_until(status.next, stopping):
                break
            status = await self._fire(status, startup)
            startup = ""

    async def _recorded_status(self) -> ScheduleStatus | None:
        assert self.monitor is not None
        try:
            return await self.monitor.get_status(self.spec.name)
        except Exception as error:
            invocation_log.log(
                f"Function '{self.spec.name}': cannot read the timer status ({error}); "
                "starting without it."
            )
            return None

    async def _wait_until(self, moment: datetime, stopping: asyncio.Event) -> bool:
        """Sleep until `moment`; False when `stopping` was set first."""
        delay = (moment - datetime.now(UTC)).total_seconds()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=delay)
        return not stopping.is_set()

    async def _fire(self, status: ScheduleStatus, startup: str) -> ScheduleStatus:
        """One invocation, then the status for the next one (`InvokeJobFunction`)."""
        fired = datetime.now(UTC)
        try:
            await self._invoke(fired, status, startup)
        except Exception as error:
            # Nothing stops the schedule (the invoker already logs the function's own failures).
            invocation_log.log(
                f"Error occurred during scheduled invocation for '{self.spec.name}': {error!r}"
            )
        # A timer that fired a little early counts as fired on time, so `Next` cannot repeat.
        adjusted = fired
        if not startup and status.next > fired:
            adjusted = status.next
        upcoming = _next(self.options.schedule, adjusted) or LATEST
        new_status = ScheduleStatus(adjusted, upcoming, adjusted)
        if self.monitor is not None:
            await self.monitor.update_status(self.spec.name, new_status)
        return new_status

    async def _invoke(self, fired: datetime, status: ScheduleStatus, startup: str) -> None:
        trigger = self.spec.trigger
        payload = timer_payload(
            self.options,
            status if self.monitor is not None else None,
            past_due=startup == "IsPastDue",
        )
        details = f"Trigger Details: UnscheduledInvocationReason: {startup}" if startup else None
        if startup == "IsPastDue":
            details = f"{details}, OriginalSchedule: {format_dotnet_date(status.next)}"
        metadata: dict[str, RpcValue] = {"TimerTrigger": Text(_dotnet_general(fired))}
        await self.invoker.invoke(
            self.spec,
            reason=f"Timer fired at {dotnet_round_trip(fired)}",
            inputs={trigger.name: Json(payload)},
            trigger_metadata=metadata,
            details=details,
        )
