"""The app under test: a fresh copy of the function app, its settings, and the host running it.

The copy (host.json, `shared/` and every function folder, as the working tree has them) lives in
a temporary folder with its own `local.settings.json`, so a developer's settings never leak in;
the host is `python -m emulators.functions_host`, started like the tests and `make run` start it.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from emulators.functions_host.function_metadata import discover_functions
from emulators.launcher import Service, start_service

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SETTINGS = REPO_ROOT / "local.settings.example.json"
HOST_READY = r"listening on (http://\S+)"


def function_folders(root: Path = REPO_ROOT) -> list[str]:
    """The app's function folders (those with a function.json), sorted."""
    return sorted(path.parent.name for path in root.glob("*/function.json"))


def copy_app(destination: Path) -> Path:
    """Copy host.json, shared/ and the function folders to `destination`; return it."""
    destination.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "host.json", destination / "host.json")
    for folder in ["shared", *function_folders()]:
        shutil.copytree(
            REPO_ROOT / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    return destination


def host_queue_options(app_dir: Path) -> tuple[int, int]:
    """(batchSize, newBatchThreshold) of the app's host.json queue settings."""
    config = json.loads((app_dir / "host.json").read_text(encoding="utf-8"))
    queues = config["extensions"]["queues"]
    return int(queues["batchSize"]), int(queues["newBatchThreshold"])


def example_settings() -> dict[str, str]:
    """The `Values` of local.settings.example.json (the emulator's credentials, the sender)."""
    document = json.loads(EXAMPLE_SETTINGS.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in document["Values"].items()}


def free_port() -> int:
    """A loopback port nobody listens on now (the host must know its public URL up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningHost:
    """A functions host process and how long it took to start."""

    service: Service
    url: str
    spawned_at: float  # wall clock
    ready_at: float  # wall clock: the host printed that it listens (queue listeners started)

    @property
    def start_seconds(self) -> float:
        """Process start until its HTTP port answers and its queue listeners run."""
        return self.ready_at - self.spawned_at

    @property
    def pid(self) -> int:
        """The host's process id."""
        return self.service.process.pid

    def stop(self) -> None:
        """Stop the host (in-flight invocations finish first)."""
        self.service.stop(timeout=30)


def http_functions(app_dir: Path) -> list[str]:
    """The app's functions with an HTTP trigger (Flex Consumption scales them as one group)."""
    return [spec.name for spec in discover_functions(app_dir) if spec.trigger.type == "httpTrigger"]


def start_host(
    app_dir: Path,
    settings: Mapping[str, str],
    port: int,
    name: str,
    functions: Sequence[str] | None = None,
) -> RunningHost:
    """Write `settings` as the copy's local.settings.json and start the host on `port`, with
    only `functions` when given (`--functions`)."""
    (app_dir / "local.settings.json").write_text(
        json.dumps({"IsEncrypted": False, "Values": dict(settings)}), encoding="utf-8"
    )
    argv = [sys.executable, "-m", "emulators.functions_host", "--port", str(port)]
    argv += ["--app", str(app_dir)]
    if functions:
        argv += ["--functions", *functions]
    spawned = time.time()
    # The same values in the environment: a developer's exported settings must not win.
    service = start_service(
        name, argv, [HOST_READY], cwd=REPO_ROOT, env=dict(settings), timeout=120
    )
    ready = time.time()
    url = f"http://127.0.0.1:{port}"
    with socket.create_connection(("127.0.0.1", port), timeout=10):
        pass  # the HTTP port answers
    return RunningHost(service, url, spawned, ready)
