"""Start-up of the stand-in host, without starting it: settings export, the app plan from the
function folders, the start-up listing, storage errors at start-up and the signal handling
(run_host itself serves on a socket: tests/integration/functions_host/test_startup.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError

from emulators.functions_host import function_host
from emulators.functions_host.function_host import (
    HostStartError,
    QueueTriggerPlan,
    _describe,
    _ensure_queues,
    _poison_client,
    _schedule_monitor,
    _stop_on_signals,
    apply_settings,
    plan_app,
)
from emulators.functions_host.function_metadata import FunctionConfigError
from emulators.functions_host.queue_listener import QueueListener
from emulators.functions_host.settings_loader import LocalSettings
from emulators.functions_host.storage_clients import DEVELOPMENT_STORAGE, StorageClients
from shared.storage_connection import ConnectionString

SCRIPT_ROOT = "AzureWebJobsScriptRoot"
NAMES = (
    "AzureWebJobsStorage",
    "JOBS",
    "FROM_LOCAL",
    "FROM_BOTH",
    SCRIPT_ROOT,
    "AzureWebJobs.skipped.Disabled",
    "AzureFunctionsJobHost__extensions__http__routePrefix",
)
DEV = ConnectionString(DEVELOPMENT_STORAGE)


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Settings in os.environ, every name the host may set restored afterwards."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    return lambda name, value: monkeypatch.setenv(name, value)


def write_function(app: Path, name: str, *bindings: dict[str, Any], **extra: object) -> None:
    folder = app / name
    folder.mkdir(parents=True)
    document = {"bindings": list(bindings), **extra}
    (folder / "function.json").write_text(json.dumps(document), encoding="utf-8")


def queue_trigger(queue: str) -> dict[str, Any]:
    return {"name": "msg", "type": "queueTrigger", "direction": "in", "queueName": queue}


HTTP = {"name": "req", "type": "httpTrigger", "direction": "in", "authLevel": "anonymous"}
HTTP_OUT = {"name": "$return", "type": "http", "direction": "out"}
TIMER = {"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "0 */5 * * * *"}
QUEUE_OUT = {"name": "out", "type": "queue", "direction": "out", "queueName": "results"}


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    return tmp_path


@pytest.mark.usefixtures("environ")
def test_apply_settings_exports_local_values_but_the_environment_wins(
    app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FROM_BOTH", "environment")
    values = {"FROM_LOCAL": "local", "FROM_BOTH": "local"}
    document = {"IsEncrypted": False, "Values": values, "Host": {"LocalHttpPort": 7090}}
    (app / "local.settings.json").write_text(json.dumps(document), encoding="utf-8")
    local = apply_settings(app)
    assert local.local_http_port == 7090
    assert os.environ["FROM_LOCAL"] == "local"
    assert os.environ["FROM_BOTH"] == "environment"
    assert os.environ[SCRIPT_ROOT] == str(app)
    assert "Skipping 'FROM_BOTH' from local settings as it's already defined" in (
        capsys.readouterr().out
    )


def test_the_plan_sorts_functions_by_trigger(
    app: Path, environ: Callable[[str, str], None], capsys: pytest.CaptureFixture[str]
) -> None:
    environ("JOBS", "Jobs")
    environ("AzureWebJobs.skipped.Disabled", "true")
    environ("AzureFunctionsJobHost__extensions__http__routePrefix", "x")
    write_function(app, "worker", queue_trigger("%JOBS%"), QUEUE_OUT)
    write_function(app, "hook", HTTP, HTTP_OUT)
    write_function(app, "tick", TIMER)
    write_function(app, "off", queue_trigger("jobs"), disabled=True)
    write_function(app, "skipped", queue_trigger("jobs"))
    plan = plan_app(app, LocalSettings())
    assert [f.name for f in plan.functions] == ["hook", "tick", "worker"]
    (queue,) = plan.queues
    assert (queue.queue_name, queue.connection, queue.connection_name) == (
        "jobs",
        DEV,
        "AzureWebJobsStorage",
    )
    assert [r.template for r in plan.routes] == ["x/hook"]
    assert [t.options.describe() for t in plan.timers] == ["Cron: '0 */5 * * * *'"]
    assert [t.target for t in plan.outputs["worker"]] == ["results"]
    assert plan.outputs["hook"] == []
    out = capsys.readouterr().out
    assert "Function 'off' is disabled." in out
    assert "Function 'skipped' is disabled." in out


@pytest.mark.usefixtures("environ")
@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        ({"name": "b", "type": "blobTrigger", "direction": "in"}, "trigger type 'blobTrigger'"),
        ({"name": "m", "type": "queueTrigger", "direction": "in"}, "queueTrigger has no"),
        (queue_trigger("Bad_Name"), "queueName 'Bad_Name': "),
        (queue_trigger("%MISSING%"), "'%MISSING%' does not resolve"),
        (queue_trigger("jobs") | {"connection": "Nope"}, "'Nope' does not exist"),
    ],
)
def test_a_function_the_host_cannot_run_stops_start_up(
    app: Path, trigger: dict[str, Any], message: str
) -> None:
    write_function(app, "broken", trigger)
    with pytest.raises(FunctionConfigError, match="^function 'broken': .*" + message):
        plan_app(app, LocalSettings())


@pytest.mark.usefixtures("environ")
def test_functions_loads_only_the_functions_it_names(app: Path) -> None:
    write_function(app, "worker", queue_trigger("jobs"), QUEUE_OUT)
    write_function(app, "hook", HTTP, HTTP_OUT)
    write_function(app, "tick", TIMER)
    plan = plan_app(app, LocalSettings(), ["hook", "tick"])
    assert [f.name for f in plan.functions] == ["hook", "tick"]
    assert (len(plan.routes), len(plan.timers), plan.queues) == (1, 1, [])
    assert set(plan.outputs) == {"hook", "tick"}
    assert [f.name for f in plan_app(app, LocalSettings(), []).functions] == [
        "hook",
        "tick",
        "worker",
    ]


@pytest.mark.usefixtures("environ")
def test_functions_naming_a_function_the_app_lacks_stops_start_up(app: Path) -> None:
    write_function(app, "hook", HTTP, HTTP_OUT)
    with pytest.raises(
        HostStartError, match=r"--functions names nope, which .* does not have \(it has: hook\)"
    ):
        plan_app(app, LocalSettings(), ["hook", "nope"])


@pytest.mark.usefixtures("environ")
def test_an_app_without_functions_does_not_start(app: Path) -> None:
    with pytest.raises(HostStartError, match=r"no functions found in .* \(no \*/function.json\)"):
        plan_app(app, LocalSettings())


@pytest.mark.usefixtures("environ")
def test_a_queue_without_a_poison_queue_is_announced(
    app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_function(app, "replay", queue_trigger("jobs-poison"))
    (queue,) = plan_app(app, LocalSettings()).queues
    assert "Function 'replay': queue 'jobs-poison' has no poison queue" in capsys.readouterr().out
    assert _poison_client(StorageClients(), queue) is None
    plain = QueueTriggerPlan(queue.spec, "jobs", DEV, "AzureWebJobsStorage")
    poison = _poison_client(StorageClients(), plain)
    assert poison is not None
    assert poison.queue_name == "jobs-poison"


@pytest.mark.usefixtures("environ")
def test_the_listing_names_every_function_with_its_trigger(app: Path) -> None:
    write_function(app, "worker", queue_trigger("jobs"))
    write_function(app, "hook", HTTP | {"methods": ["post", "get"]}, HTTP_OUT)
    write_function(app, "any", HTTP, HTTP_OUT)
    write_function(app, "tick", TIMER)
    listing = _describe(plan_app(app, LocalSettings()), "http://127.0.0.1:7071")
    assert listing == (
        "Functions:\n\n"
        "\tany: [ALL] http://127.0.0.1:7071/api/any\n"
        "\thook: [GET,POST] http://127.0.0.1:7071/api/hook\n"
        "\tworker: queueTrigger (jobs)\n"
        "\ttick: timerTrigger (Cron: '0 */5 * * * *')\n"
    )


@pytest.mark.usefixtures("environ")
async def test_the_schedule_monitor_is_made_only_for_timers_that_use_it(app: Path) -> None:
    write_function(app, "worker", queue_trigger("jobs"))
    assert _schedule_monitor(plan_app(app, LocalSettings()), app) is None
    write_function(app, "tick", TIMER)
    monitor = _schedule_monitor(plan_app(app, LocalSettings()), app)
    assert monitor is not None
    try:
        assert monitor.container_url.startswith("http://127.0.0.1:10000/devstoreaccount1/")
    finally:
        await monitor.close()


class UnreachableQueue:
    url = "http://127.0.0.1:1/devstoreaccount1/jobs"

    async def create_queue(self) -> None:
        raise ServiceRequestError("Cannot connect to host 127.0.0.1:1\nsecond line")


@pytest.mark.usefixtures("environ")
async def test_unreachable_storage_at_start_up_names_function_setting_and_endpoint(
    app: Path,
) -> None:
    write_function(app, "worker", queue_trigger("jobs") | {"connection": "AzureWebJobsStorage"})
    plan = plan_app(app, LocalSettings())
    listener = QueueListener(
        spec=plan.queues[0].spec,
        queue_name="jobs",
        queue=UnreachableQueue(),  # type: ignore[arg-type]
        poison=None,
        options=plan.host.queues,
        invoker=None,  # type: ignore[arg-type]
    )
    with pytest.raises(HostStartError) as raised:
        await _ensure_queues([listener], plan.queues)
    assert str(raised.value) == (
        "function 'worker': cannot reach queue storage of connection 'AzureWebJobsStorage' at "
        "http://127.0.0.1:1/devstoreaccount1/jobs (ServiceRequestError: Cannot connect to host "
        "127.0.0.1:1). Is the storage emulator (Azurite) running, and is 'AzureWebJobsStorage' "
        "the right connection?"
    )


async def test_the_first_signal_asks_to_stop_and_the_second_exits_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    handlers: dict[int, tuple[Callable[..., None], tuple[Any, ...]]] = {}
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(
        loop,
        "add_signal_handler",
        lambda signum, cb, *args: handlers.__setitem__(signum, (cb, args)),
    )
    exits: list[int] = []

    def fake_exit(code: int) -> None:
        exits.append(code)

    monkeypatch.setattr(function_host.os, "_exit", fake_exit)
    stopping = _stop_on_signals()
    assert set(handlers) == {signal.SIGINT, signal.SIGTERM}
    callback, args = handlers[signal.SIGTERM]
    callback(*args)
    assert stopping.is_set()
    assert exits == []
    callback, args = handlers[signal.SIGINT]
    callback(*args)
    assert exits == [128 + signal.SIGINT]
    assert "SIGINT again: exiting now." in capsys.readouterr().out


def test_a_queue_trigger_keeps_the_name_of_its_connection(
    app: Path, environ: Callable[[str, str], None]
) -> None:
    environ("JOBS", "UseDevelopmentStorage=true")  # a connection named JOBS, for once
    write_function(app, "worker", queue_trigger("jobs") | {"connection": "JOBS"})
    (queue,) = plan_app(app, LocalSettings()).queues
    assert (queue.connection, queue.connection_name) == (DEV, "JOBS")
