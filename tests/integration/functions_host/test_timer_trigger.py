"""Timer triggers: an every-second schedule from a %SETTING%, runOnStartup, a missed occurrence
found in the schedule monitor's blob (IsPastDue), failures that do not stop the schedule, no
overlapping runs, and a clean stop with a run in progress."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.storage.blob import ContainerClient

from emulators.azurite import Azurite

# Each run records when it started and ended; `sleep` makes it overrun its 1-second schedule.
TIMER_FUNCTION = """
import json, os, time, uuid
import azure.functions as func


def main(timer: func.TimerRequest) -> None:
    started = time.time()
    marker = os.path.join(os.environ["RECORD_DIR"], "%(name)s.started-" + uuid.uuid4().hex)
    open(marker, "w").close()
    time.sleep(%(sleep)s)
    seen = {
        "past_due": timer.past_due,
        "schedule": timer.schedule,
        "schedule_status": timer.schedule_status,
        "started": started,
        "at": time.time(),
    }
    path = os.path.join(os.environ["RECORD_DIR"], "%(name)s-" + uuid.uuid4().hex + ".json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(seen, handle)
    %(after)s
"""


def timer_function(name: str, sleep: float = 0.0, after: str = "") -> str:
    """A timer function that records what it got and when it ran."""
    return TIMER_FUNCTION % {"name": name, "sleep": sleep, "after": after}


def timer_json(schedule: str, **options: Any) -> dict[str, Any]:
    """function.json of a timer-triggered function."""
    binding = {"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": schedule}
    return {"scriptFile": "__init__.py", "bindings": [{**binding, **options}]}


def _status_blob(azurite: Azurite, host_id: str, function: str) -> Any:
    container = ContainerClient.from_connection_string(
        azurite.connection_string, "azure-webjobs-hosts", api_version="2025-11-05"
    )
    return container, f"timers/{host_id}/Host.Functions.{function}/status"


def _seed_status(azurite: Azurite, host_id: str, function: str, status: dict[str, str]) -> None:
    container, blob = _status_blob(azurite, host_id, function)
    if not container.exists():
        container.create_container()
    container.upload_blob(blob, json.dumps(status), overwrite=True)


def _read_status(azurite: Azurite, host_id: str, function: str) -> dict[str, str]:
    container, blob = _status_blob(azurite, host_id, function)
    document: dict[str, str] = json.loads(container.download_blob(blob).readall())
    return document


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def test_timers_run_on_schedule_without_overlap_and_report_past_due(
    tmp_path: Path, host_tools: Any, azurite: Azurite
) -> None:
    host_id = f"timertest-{uuid.uuid4().hex[:12]}"
    app = host_tools.write_app(
        tmp_path / "app",
        values={
            "TICK_SCHEDULE": "* * * * * *",
            "AzureFunctionsWebHost__hostid": host_id,
        },
    )
    # Every second, each run taking 1.5 s: runs must follow one another, never overlap.
    app.add_function("ticker", timer_json("%TICK_SCHEDULE%"), timer_function("ticker", 1.5))
    app.add_function(
        "starter", timer_json("0 0 0 1 1 *", runOnStartup=True), timer_function("starter")
    )
    app.add_function(
        "failing",
        timer_json("*/1 * * * * *"),
        timer_function("failing", after='raise RuntimeError("timer run failed")'),
    )
    # Hourly with the schedule monitor: its blob says the run due an hour ago never happened.
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    missed = hour if hour < datetime.now(UTC) - timedelta(seconds=5) else hour - timedelta(hours=1)
    _seed_status(
        azurite,
        host_id,
        "hourly",
        {
            "Last": _iso(missed - timedelta(hours=1)),
            "Next": _iso(missed),
            "LastUpdated": _iso(missed - timedelta(hours=1)),
        },
    )
    app.add_function("hourly", timer_json("0 0 * * * *"), timer_function("hourly"))

    host = host_tools.start_host(app, azurite)
    try:
        host_tools.wait_until(lambda: len(app.records("ticker")) >= 3, "three ticker runs", 60)
        host_tools.wait_until(lambda: len(app.records("failing")) >= 2, "two failing runs", 30)
        host_tools.wait_until(lambda: app.records("hourly"), "the past-due hourly run", 30)
        host_tools.wait_until(lambda: app.records("starter"), "the runOnStartup run", 30)
        host.service.stop(30)
    finally:
        if host.service.process.poll() is None:
            host.service.kill()
    output = host.service.tail(100_000)
    assert host.service.process.returncode == 0, output[-3000:]

    ticks = app.records("ticker")
    for earlier, later in itertools.pairwise(ticks):
        assert later["started"] >= earlier["at"], "two ticker runs overlapped"
        # An overrun is followed by one run at once, not one per missed occurrence.
        assert later["started"] - earlier["at"] < 1.5
    assert all(t["past_due"] is False for t in ticks)
    # Sub-minute schedules run without the schedule monitor: no ScheduleStatus.
    assert all(t["schedule_status"] == {} for t in ticks)
    assert ticks[0]["schedule"] == {"AdjustForDST": True}
    # Shutdown let the run in progress finish: every started run recorded its end.
    assert len(list(app.record_dir.glob("ticker.started-*"))) == len(ticks)

    (startup,) = app.records("starter")
    assert startup["past_due"] is False
    assert startup["schedule_status"]["Last"] == "0001-01-01T00:00:00+00:00"
    assert startup["schedule_status"]["Next"].startswith(
        f"{datetime.now(UTC).year + 1}-01-01T00:00:00"
    )

    (late,) = app.records("hourly")
    assert late["past_due"] is True
    assert late["schedule_status"]["Next"] == _iso(missed)
    recorded = {
        k: datetime.fromisoformat(v) for k, v in _read_status(azurite, host_id, "hourly").items()
    }
    # The monitor recorded the past-due run and the next full hour after it.
    assert recorded["Last"] > missed
    assert recorded["Last"] < recorded["Next"] <= recorded["Last"] + timedelta(hours=1)
    assert (recorded["Next"].minute, recorded["Next"].second) == (0, 0)

    assert "\tticker: timerTrigger (Cron: '* * * * * *')" in output
    assert "Executing 'Functions.ticker' (Reason='Timer fired at " in output
    assert "Function 'hourly' is past due on startup. Executing now." in output
    assert "Trigger Details: UnscheduledInvocationReason: IsPastDue, OriginalSchedule: " in output
    assert "Function 'starter' is configured to run on startup. Executing now." in output
    assert output.count("Exception: RuntimeError: timer run failed") >= 2
    assert "Executed 'Functions.failing' (Failed" in output
