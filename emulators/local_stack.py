"""`make run` and `make demo`: Azurite, the Twilio emulator and the functions host on loopback.

What runs follows `local.settings.json`: Azurite when `AzureWebJobsStorage` points at the local
development storage, the Twilio emulator when `TWILIO_API_BASE_URL` points at a loopback address
(its port is the emulator's), and always the functions host on `Host.LocalHttpPort` (7071). The
host is `func start` when Core Tools is on PATH, otherwise the repo's stand-in
(`python -m emulators.functions_host`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from emulators.azurite import Azurite, start_azurite
from emulators.functions_host.settings_loader import (
    LOCAL_SETTINGS_FILE,
    SettingsError,
    load_local_settings,
)
from emulators.launcher import Service, ServiceStartError, start_service
from emulators.twilio_api.process import EmulatorProcess, start_emulator

REPO_ROOT = Path(__file__).resolve().parent.parent
# How often `run` checks that every service still runs.
WATCH_SECONDS = 1.0
AZURITE_DEFAULT_PORTS = (10000, 10001, 10002)
DEFAULT_HOST_PORT = 7071
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class StackPlan:
    """What `local.settings.json` asks the stack to run, and on which ports."""

    settings: dict[str, str]
    host_port: int
    azurite_ports: tuple[int, int, int] | None
    twilio_port: int | None


@dataclass
class Stack:
    """The running services, stopped host first so in-flight invocations can finish."""

    plan: StackPlan
    host: Service
    azurite: Azurite | None = None
    twilio: EmulatorProcess | None = None
    services: list[Service] = field(default_factory=list)

    @property
    def host_url(self) -> str:
        """Base URL of the functions host."""
        return f"http://127.0.0.1:{self.plan.host_port}"

    @property
    def twilio_url(self) -> str | None:
        """Base URL of the Twilio emulator, when it runs."""
        return self.plan.settings.get("TWILIO_API_BASE_URL") if self.twilio else None


def azurite_ports(connection: str) -> tuple[int, int, int] | None:
    """Azurite's ports for a local development connection string; None for a remote account."""
    if connection.strip().rstrip(";").lower() == "usedevelopmentstorage=true":
        return AZURITE_DEFAULT_PORTS
    parts = dict(p.split("=", 1) for p in connection.split(";") if "=" in p)
    endpoints = [urlsplit(parts.get(f"{kind}Endpoint", "")) for kind in ("Blob", "Queue", "Table")]
    if not all(e.hostname in LOOPBACK and e.port for e in endpoints):
        return None
    blob, queue, table = (int(e.port or 0) for e in endpoints)
    return blob, queue, table


def plan_stack(app_dir: Path) -> StackPlan:
    """Read the settings and decide what to start."""
    path = app_dir / LOCAL_SETTINGS_FILE
    if not path.exists():
        raise SystemExit(f"{path} is missing: copy local.settings.example.json to it (make does)")
    try:
        local = load_local_settings(app_dir)
    except SettingsError as error:
        raise SystemExit(str(error)) from error
    values = local.values
    host_port = local.local_http_port or DEFAULT_HOST_PORT
    twilio = urlsplit(values.get("TWILIO_API_BASE_URL", ""))
    twilio_port = (twilio.port or 80) if twilio.hostname in LOOPBACK else None
    return StackPlan(
        settings=values,
        host_port=host_port,
        azurite_ports=azurite_ports(values.get("AzureWebJobsStorage", "")),
        twilio_port=twilio_port,
    )


def ensure_free(port: int, what: str) -> None:
    """Fail early, naming the service, when a port it needs is already taken."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(
                f"port {port} ({what}) is already in use: stop whatever listens there "
                "(another `make run`?) and try again"
            )


def wait_for_port(port: int, service: Service, timeout: float = 120.0) -> None:
    """Wait until something accepts connections on `port`, or fail with the service's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise ServiceStartError(f"{service.name} exited:\n{service.tail()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise ServiceStartError(f"{service.name} does not answer on port {port}:\n{service.tail()}")


def start_host(app_dir: Path, port: int, echo: bool) -> Service:
    """`func start` when Core Tools is installed (with the venv's Python), else the stand-in."""
    func = shutil.which("func")
    if func:
        venv = REPO_ROOT / ".venv"
        env = {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        host = start_service(
            "host", [func, "start", "--port", str(port)], [], cwd=app_dir, env=env, echo=echo
        )
    else:
        argv = [sys.executable, "-m", "emulators.functions_host"]
        argv += ["--port", str(port), "--app", str(app_dir)]
        # The stand-in imports `emulators` from the repo, wherever the app lives.
        env = {"PYTHONPATH": str(REPO_ROOT)}
        host = start_service(
            "host",
            argv,
            [r"listening on (http://\S+)"],
            cwd=app_dir,
            env=env,
            echo=echo,
            timeout=120,
        )
    wait_for_port(port, host)
    return host


@contextmanager
def running_stack(app_dir: Path, speed: float, echo: bool) -> Iterator[Stack]:
    """Start what the settings ask for; stop it all on exit (host first)."""
    plan = plan_stack(app_dir)
    for port, what in [
        *((p, "Azurite") for p in plan.azurite_ports or ()),
        *((p, "Twilio emulator") for p in [plan.twilio_port] if p),
        (plan.host_port, "functions host"),
    ]:
        ensure_free(port, what)
    with ExitStack() as cleanup:
        azurite = None
        if plan.azurite_ports:
            data_dir = app_dir / ".azurite"
            data_dir.mkdir(exist_ok=True)
            azurite = start_azurite(ports=plan.azurite_ports, location=data_dir, echo=echo)
            cleanup.callback(azurite.stop)
        twilio = None
        if plan.twilio_port:
            env = {
                "TWILIO_EMULATOR_ACCOUNT_SID": plan.settings.get("TWILIO_ACCOUNT_SID", ""),
                "TWILIO_EMULATOR_AUTH_TOKEN": plan.settings.get("TWILIO_AUTH_TOKEN", ""),
            }
            twilio = start_emulator(
                speed=speed, port=plan.twilio_port, name="twilio", env=env, echo=echo
            )
            cleanup.callback(twilio.stop)
        host = start_host(app_dir, plan.host_port, echo)
        cleanup.callback(host.stop, 30)
        twilio_service = twilio.service if twilio else None
        services = [s for s in (host, twilio_service, azurite.service if azurite else None) if s]
        yield Stack(plan, host, azurite, twilio, services)


def force_stop(stack: Stack) -> None:
    """Kill every service now (a second Ctrl-C)."""
    print("forced stop: in-flight work is abandoned (queue messages reappear later)", flush=True)
    for service in stack.services:
        service.kill()


def print_banner(stack: Stack) -> None:
    """Where each service listens, and a demo to copy and paste."""
    run_id = uuid.uuid4().hex[:6]
    sms_id, call_id = f"try-sms-{run_id}", f"try-call-{run_id}"
    az = stack.azurite
    storage = (
        f"blob {az.blob_port}, queue {az.queue_port}, table {az.table_port} on 127.0.0.1"
        if az
        else "AzureWebJobsStorage (not local: Azurite not started)"
    )
    twilio = (
        f"{stack.twilio_url}  (inspection: {stack.twilio_url}/_emulator/messages)"
        if stack.twilio_url
        else "Twilio's real API (TWILIO_API_BASE_URL is not a local address)"
    )
    calls = f"  curl -s {stack.twilio_url}/_emulator/calls\n" if stack.twilio_url else ""
    print(
        f"""
Local stack is up:
  Azurite          {storage}
  Twilio emulator  {twilio}
  Functions host   {stack.host_url}/api/<function>

Try it from another terminal (statuses arrive within a few seconds):
  .venv/bin/python -m producer sms --to +15551230001 --body "Hello from Azure" --id {sms_id}
  .venv/bin/python -m producer status {sms_id}
  .venv/bin/python -m producer call --to +15551230002 --say "Hello, this is a call" --id {call_id}
  .venv/bin/python -m producer status {call_id}
{calls}  .venv/bin/python -m producer events

Ctrl-C stops everything (twice to force).""",
        flush=True,
    )


def exited_service(stack: Stack) -> tuple[str, int] | None:
    """The first service of `stack` that has exited by itself, with its exit code."""
    for service in stack.services:
        code = service.exit_code()
        if code is not None:
            return service.name, code
    return None


def run(app_dir: Path, speed: float) -> int:
    """Bring the stack up and keep it up until Ctrl-C or SIGTERM (a second one forces), or until
    one of its services exits by itself: the others are then stopped too (exit code 1), since
    the app cannot work without any of them."""
    stopping = threading.Event()
    current: list[Stack] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set() and current:
            force_stop(current[0])
            return
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        with running_stack(app_dir, speed, echo=True) as stack:
            current.append(stack)
            print_banner(stack)
            while not stopping.wait(WATCH_SECONDS):
                exited = exited_service(stack)
                if exited is not None:
                    name, code = exited
                    print(
                        f"error: {name} exited (code {code}); stopping the stack",
                        file=sys.stderr,
                        flush=True,
                    )
                    return 1
            print("stopping: in-flight invocations finish first…", flush=True)
    except ServiceStartError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: `python -m emulators.local_stack run|demo`."""
    parser = argparse.ArgumentParser(prog="python -m emulators.local_stack", description=__doc__)
    parser.add_argument("command", choices=["run", "demo"])
    parser.add_argument("--app", type=Path, default=REPO_ROOT, help="function app folder")
    parser.add_argument("--speed", type=float, default=None, help="Twilio emulator time scale")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.app, args.speed or 1.0)
    from emulators.local_demo import demo

    return demo(args.app, args.speed or 10.0)


if __name__ == "__main__":
    sys.exit(main())
