"""`make run` and `make demo`: Azurite, the Twilio emulator and the functions host on loopback.

`run` starts the three and waits for Ctrl-C; `demo` starts them, sends one SMS and one call with a
Gather, prints what happened and stops. The host is `func start` when Core Tools is on PATH,
otherwise the repo's stand-in (`python -m emulators.functions_host`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from emulators.azurite import Azurite, start_azurite
from emulators.launcher import Service, ServiceStartError, start_service
from emulators.twilio_api import DEFAULT_PORT as TWILIO_PORT

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_PORTS = (10000, 10001, 10002)
HOST_PORT = 7071


@dataclass
class Stack:
    """The three running services."""

    azurite: Azurite
    twilio: Service
    host: Service
    twilio_url: str
    host_url: str

    def stop(self) -> None:
        """Stop the host first, so in-flight invocations finish while their peers still answer."""
        self.host.stop(timeout=30)
        self.twilio.stop()
        self.azurite.stop()


def load_settings(app_dir: Path) -> dict[str, str]:
    """The `Values` of `local.settings.json` (created from the example by `make`)."""
    path = app_dir / "local.settings.json"
    if not path.exists():
        raise SystemExit(f"{path} is missing: copy local.settings.example.json to it (make does)")
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    return {str(k): str(v) for k, v in values.items()}


def ensure_free(port: int, what: str) -> None:
    """Fail early, naming the service, when a fixed port is already taken."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(
                f"port {port} ({what}) is already in use: stop whatever listens there "
                "(another `make run`?) and try again"
            )


@contextmanager
def running_stack(app_dir: Path, speed: float, echo: bool) -> Iterator[Stack]:
    """Start Azurite, the Twilio emulator and the host; stop all three on exit."""
    settings = load_settings(app_dir)
    for port, what in [
        *((p, "Azurite") for p in AZURITE_PORTS),
        (TWILIO_PORT, "Twilio emulator"),
        (HOST_PORT, "functions host"),
    ]:
        ensure_free(port, what)
    data_dir = app_dir / ".azurite"
    data_dir.mkdir(exist_ok=True)
    azurite = start_azurite(ports=AZURITE_PORTS, location=data_dir, echo=echo)
    started: list[Service] = []
    try:
        twilio_argv = [sys.executable, "-m", "emulators.twilio_api", "--port", str(TWILIO_PORT)]
        twilio_argv += ["--speed", str(speed)]
        for flag, key in (
            ("--account-sid", "TWILIO_ACCOUNT_SID"),
            ("--auth-token", "TWILIO_AUTH_TOKEN"),
        ):
            if settings.get(key):
                twilio_argv += [flag, settings[key]]
        twilio = start_service(
            "twilio", twilio_argv, [r"listening on (http://\S+)"], cwd=REPO_ROOT, echo=echo
        )
        started.append(twilio)
        func = shutil.which("func")
        if func:
            host_argv = [func, "start", "--port", str(HOST_PORT)]
            ready = [r"Host lock lease acquired|Worker process started and initialized"]
        else:
            host_argv = [sys.executable, "-m", "emulators.functions_host"]
            host_argv += ["--port", str(HOST_PORT), "--app", str(app_dir)]
            ready = [r"listening on (http://\S+)"]
        host = start_service("host", host_argv, ready, cwd=app_dir, echo=echo, timeout=120)
        started.append(host)
    except BaseException:
        for service in reversed(started):
            service.stop()
        azurite.stop()
        raise
    stack = Stack(
        azurite=azurite,
        twilio=twilio,
        host=host,
        twilio_url=twilio.matches[0].group(1),
        host_url=f"http://127.0.0.1:{HOST_PORT}",
    )
    try:
        yield stack
    finally:
        stack.stop()


def print_banner(stack: Stack) -> None:
    """Where each service listens, and a demo to copy and paste."""
    az = stack.azurite
    print(
        f"""
Local stack is up:
  Azurite          blob {az.blob_port}, queue {az.queue_port}, table {az.table_port} on 127.0.0.1
  Twilio emulator  {stack.twilio_url}  (inspection: {stack.twilio_url}/_emulator/messages)
  Functions host   {stack.host_url}/api/<function>

Try it from another terminal:
  .venv/bin/python -m producer sms --to +15551230001 --body "Hello from Azure" --id demo-sms-1
  .venv/bin/python -m producer status demo-sms-1
  .venv/bin/python -m producer call --to +15551230002 --say "Hello, this is a call" --id demo-call-1
  .venv/bin/python -m producer status demo-call-1
  curl -s {stack.twilio_url}/_emulator/calls
  .venv/bin/python -m producer events

Ctrl-C stops all three.""",
        flush=True,
    )


def run(app_dir: Path, speed: float) -> int:
    """Bring the stack up and keep it up until Ctrl-C."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        with running_stack(app_dir, speed, echo=True) as stack:
            print_banner(stack)
            try:
                while not stopping.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
            print("stopping…", flush=True)
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
