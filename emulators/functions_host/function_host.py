"""Start-up, run and shutdown of the stand-in host for one app directory."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from azure.core.exceptions import AzureError
from azure.storage.queue.aio import QueueClient

from emulators.functions_host import invocation_log
from emulators.functions_host.function_invoker import FunctionInvoker
from emulators.functions_host.function_metadata import (
    FunctionConfigError,
    FunctionSpec,
    discover_functions,
)
from emulators.functions_host.host_config import HostConfig, load_host_config
from emulators.functions_host.http_routes import HttpRoute, build_route
from emulators.functions_host.http_server import HttpTriggerServer
from emulators.functions_host.output_bindings import OutputTarget, OutputWriter, plan_outputs
from emulators.functions_host.queue_listener import QueueListener
from emulators.functions_host.queue_names import (
    InvalidQueueNameError,
    normalize_queue_name,
    poison_queue_name,
)
from emulators.functions_host.runtime_driver import RuntimeDriver
from emulators.functions_host.schedule_monitor import ScheduleMonitor, host_id
from emulators.functions_host.settings_loader import (
    LocalSettings,
    SettingsError,
    export_settings,
    is_function_disabled,
    load_local_settings,
    resolve_setting_references,
)
from emulators.functions_host.storage_clients import StorageClients, resolve_connection
from emulators.functions_host.timer_listener import TimerListener
from emulators.functions_host.timer_schedule import TimerOptions, plan_timer
from shared.storage_connection import DEFAULT_CONNECTION, StorageConnection

DEFAULT_PORT = 7071


class HostStartError(RuntimeError):
    """The app cannot start; the message says why and names the function when there is one."""


@dataclass
class QueueTriggerPlan:
    """A queue-triggered function with its resolved queue and connection."""

    spec: FunctionSpec
    queue_name: str
    connection: StorageConnection
    connection_name: str  # the binding's `connection` setting (default AzureWebJobsStorage)


@dataclass
class TimerTriggerPlan:
    """A timer-triggered function with its resolved schedule and options."""

    spec: FunctionSpec
    options: TimerOptions


@dataclass
class AppPlan:
    """Everything start-up resolved from the app folder and settings."""

    host: HostConfig
    local: LocalSettings
    queues: list[QueueTriggerPlan] = field(default_factory=list)
    routes: list[HttpRoute] = field(default_factory=list)
    timers: list[TimerTriggerPlan] = field(default_factory=list)
    outputs: dict[str, list[OutputTarget]] = field(default_factory=dict)
    functions: list[FunctionSpec] = field(default_factory=list)


def apply_settings(app_dir: Path) -> LocalSettings:
    """Load local.settings.json and export its values into os.environ (environment wins)."""
    local = load_local_settings(app_dir)
    for name in export_settings(local.values, os.environ):
        invocation_log.log(
            f"Skipping '{name}' from local settings as it's already defined in current "
            "environment variables."
        )
    os.environ.setdefault("AzureWebJobsScriptRoot", str(app_dir))
    return local


def _plan_queue(spec: FunctionSpec, settings: dict[str, str]) -> QueueTriggerPlan:
    raw_name = spec.trigger.setting("queueName")
    if not raw_name:
        raise FunctionConfigError(f"function '{spec.name}': queueTrigger has no 'queueName'")
    try:
        queue_name = normalize_queue_name(resolve_setting_references(raw_name, settings))
        connection = resolve_connection(spec.trigger.setting("connection"), settings)
    except InvalidQueueNameError as error:
        raise FunctionConfigError(
            f"function '{spec.name}': queueName '{raw_name}': {error}"
        ) from error
    except SettingsError as error:
        raise FunctionConfigError(f"function '{spec.name}': {error}") from error
    if poison_queue_name(queue_name) is None:
        invocation_log.log(
            f"Function '{spec.name}': queue '{queue_name}' has no poison queue (its name ends in "
            "'-poison' or '<queue>-poison' would be over 63 characters), as in the real host: "
            "a failed message stays invisible until its lease ends and is then retried."
        )
    connection_name = spec.trigger.setting("connection") or DEFAULT_CONNECTION
    return QueueTriggerPlan(spec, queue_name, connection, connection_name)


def _poison_client(clients: StorageClients, plan: QueueTriggerPlan) -> QueueClient | None:
    poison_name = poison_queue_name(plan.queue_name)
    return clients.queue(plan.connection, poison_name) if poison_name else None


def plan_app(app_dir: Path, local: LocalSettings, only: Sequence[str] | None = None) -> AppPlan:
    """Read host.json and every function.json and resolve triggers and outputs; with `only`
    (`--functions`, as `func start --functions` takes it), just the functions it names."""
    plan = AppPlan(host=load_host_config(app_dir), local=local)
    settings = dict(os.environ)
    for spec in _selected(discover_functions(app_dir), only, app_dir):
        if spec.disabled or is_function_disabled(spec.name, settings):
            invocation_log.log(f"Function '{spec.name}' is disabled.")
            continue
        kind = spec.trigger.type
        if kind == "queueTrigger":
            plan.queues.append(_plan_queue(spec, settings))
        elif kind == "httpTrigger":
            plan.routes.append(build_route(spec, plan.host.route_prefix))
        elif kind == "timerTrigger":
            options = plan_timer(spec.name, spec.trigger, settings, datetime.now(UTC))
            plan.timers.append(TimerTriggerPlan(spec, options))
        else:
            raise FunctionConfigError(
                f"function '{spec.name}': trigger type '{kind}' is not supported by the "
                "functions host stand-in (queueTrigger, httpTrigger and timerTrigger are)"
            )
        plan.outputs[spec.name] = plan_outputs(spec, settings)
        plan.functions.append(spec)
    if not plan.functions:
        raise HostStartError(f"no functions found in {app_dir} (no */function.json)")
    return plan


def _selected(
    specs: list[FunctionSpec], only: Sequence[str] | None, app_dir: Path
) -> list[FunctionSpec]:
    if not only:
        return specs
    names = {spec.name for spec in specs}
    unknown = sorted(set(only) - names)
    if unknown:
        raise HostStartError(
            f"--functions names {', '.join(unknown)}, which {app_dir} does not have "
            f"(it has: {', '.join(sorted(names)) or 'none'})"
        )
    return [spec for spec in specs if spec.name in only]


def _describe(plan: AppPlan, base_url: str) -> str:
    lines = ["Functions:", ""]
    for route in plan.routes:
        methods = ",".join(sorted(route.methods)) if route.methods else "ALL"
        lines.append(f"\t{route.spec.name}: [{methods}] {base_url}/{route.template}")
    for queue in plan.queues:
        lines.append(f"\t{queue.spec.name}: queueTrigger ({queue.queue_name})")
    for timer in plan.timers:
        lines.append(f"\t{timer.spec.name}: timerTrigger ({timer.options.describe()})")
    return "\n".join(lines) + "\n"


async def _serve_http(server: HttpTriggerServer, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(server.application(), access_log=None)
    await runner.setup()
    # Bind the socket ourselves so `--port 0` can report the port the OS picked.
    listening = socket.create_server((host, port))
    await web.SockSite(runner, listening).start()
    return runner, f"http://{host}:{listening.getsockname()[1]}"


def _stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGINT (Ctrl-C) or SIGTERM; a second one exits at once."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if not stopping.is_set():
            stopping.set()
            return
        invocation_log.log(
            f"{signal.Signals(signum).name} again: exiting now. In-flight work was abandoned; "
            "messages being processed reappear on their queue when their visibility lease "
            "ends (up to 10 minutes)."
        )
        sys.stderr.flush()
        # Worker threads may still be running user code; only _exit does not wait for them.
        os._exit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    return stopping


async def _ensure_queues(listeners: list[QueueListener], plans: list[QueueTriggerPlan]) -> None:
    """Create the trigger queues; unreachable storage stops start-up naming setting and endpoint."""
    for listener, plan in zip(listeners, plans, strict=True):
        try:
            await listener.ensure_queue()
        except AzureError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise HostStartError(
                f"function '{plan.spec.name}': cannot reach queue storage of connection "
                f"'{plan.connection_name}' at {listener.queue.url} "
                f"({type(error).__name__}: {reason}). Is the storage emulator (Azurite) "
                f"running, and is '{plan.connection_name}' the right connection?"
            ) from error


def _schedule_monitor(plan: AppPlan, app_dir: Path) -> ScheduleMonitor | None:
    """The status blobs of the timers that use the schedule monitor, in AzureWebJobsStorage."""
    if not any(t.options.use_monitor for t in plan.timers):
        return None
    settings = dict(os.environ)
    return ScheduleMonitor(
        resolve_connection(None, settings),
        host_id(settings, app_dir),
        settings,
        DEFAULT_CONNECTION,
    )


async def run_host(
    app_dir: Path, host: str, port: int | None, functions: Sequence[str] | None = None
) -> int:
    """Start the host, serve until SIGINT/SIGTERM, drain in-flight work, return the exit code.
    `functions`: load only these (default: every function of the app)."""
    # Installed first: a signal during start-up then means "stop once started", not a traceback.
    stopping = _stop_on_signals()
    local = apply_settings(app_dir)
    plan = plan_app(app_dir, local, functions)
    # Before anything is started: a missing blob endpoint is a settings error at start-up.
    monitor = _schedule_monitor(plan, app_dir)
    if str(app_dir) not in sys.path:
        # The worker puts the script root on sys.path so functions can import shared code.
        sys.path.insert(0, str(app_dir))
    driver = RuntimeDriver()
    await driver.start()
    for spec in plan.functions:
        await driver.load(spec)

    clients = StorageClients()
    invoker = FunctionInvoker(
        driver, plan.outputs, OutputWriter(clients, plan.host.queues.message_encoding)
    )
    listeners = [
        QueueListener(
            spec=q.spec,
            queue_name=q.queue_name,
            queue=clients.queue(q.connection, q.queue_name),
            poison=_poison_client(clients, q),
            options=plan.host.queues,
            invoker=invoker,
        )
        for q in plan.queues
    ]
    try:
        await _ensure_queues(listeners, plan.queues)
    except HostStartError:
        await clients.close()
        if monitor is not None:
            await monitor.close()
        driver.stop()
        raise

    timers = [
        TimerListener(t.spec, t.options, invoker, monitor if t.options.use_monitor else None)
        for t in plan.timers
    ]

    chosen_port = port if port is not None else plan.local.local_http_port or DEFAULT_PORT
    server = HttpTriggerServer(plan.routes, invoker, plan.local)
    runner, base_url = await _serve_http(server, host, chosen_port)
    tasks = [asyncio.create_task(listener.run(stopping)) for listener in listeners]
    tasks += [asyncio.create_task(timer.run(stopping)) for timer in timers]
    invocation_log.log(_describe(plan, base_url))
    invocation_log.log(f"Host started; listening on {base_url}")

    await stopping.wait()
    invocation_log.log("Application is shutting down...")
    await asyncio.gather(*tasks)  # each listener drains its in-flight invocations
    await runner.cleanup()  # waits for in-flight HTTP requests
    driver.stop()
    await clients.close()
    if monitor is not None:
        await monitor.close()
    invocation_log.log("Host stopped.")
    return 0
