"""Whole-stack fixtures: real Azurite, the Twilio emulator and the functions host as processes.

The app is copied into a temporary folder with its own `local.settings.json`, so a developer's
settings in the working tree never leak into the tests. Two things differ from the shipped app,
both for speed and isolation: queue and table names carry an `e2e-` prefix (the session's Azurite
is shared with other tests), and host.json's `visibilityTimeout`/`maxPollingInterval` are short,
so five attempts of a failing message take seconds instead of minutes.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from emulators.azurite import Azurite
from emulators.launcher import Service, start_service
from emulators.twilio_api.process import start_emulator
from producer.client import Producer
from producer.errors import DeliveryNotFoundError
from producer.settings import ProducerSettings
from producer.status import DeliveryRecord
from shared.storage_connection import ConnectionString

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PARTS = [
    "host.json",
    "send_sms",
    "send_call",
    "twiml_voice",
    "status_callback",
    "status_sweeper",
    "shared",
]


def free_port() -> int:
    """A port nobody listens on right now (the host must know its public URL before it starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    """The running stack and the settings the app was given."""

    azurite: Azurite
    twilio_url: str
    host_url: str
    settings: dict[str, str]
    host: Service

    def twilio_inspect(self, what: str) -> Any:
        """GET /_emulator/<what> from the Twilio emulator."""
        response = requests.get(f"{self.twilio_url}/_emulator/{what}", timeout=10)
        response.raise_for_status()
        return response.json()

    def twilio_control(self, what: str, body: dict[str, Any] | None = None) -> Any:
        """POST /_emulator/<what> to the Twilio emulator."""
        response = requests.post(f"{self.twilio_url}/_emulator/{what}", json=body or {}, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None


def wait_for[T](
    probe: Callable[[], T | None], what: str, timeout: float = 60.0, host: Service | None = None
) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` (and the host's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.1)
    log = f"\nhost log:\n{host.tail(60)}" if host else ""
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}{log}")


E2E_NAMES = {
    "SMS_QUEUE_NAME": "e2e-sms-requests",
    "CALL_QUEUE_NAME": "e2e-call-requests",
    "EVENTS_QUEUE_NAME": "e2e-delivery-events",
    "DELIVERIES_TABLE_NAME": "e2edeliveries",
}


def speed_up_retries(host_json: Path) -> None:
    """Shorten the queue retry timings of the copied host.json (everything else stays)."""
    config = json.loads(host_json.read_text(encoding="utf-8"))
    queues = config["extensions"]["queues"]
    queues["visibilityTimeout"] = "00:00:00.500"
    queues["maxPollingInterval"] = "00:00:00.500"
    host_json.write_text(json.dumps(config), encoding="utf-8")


@dataclass
class AppCopy:
    """The app copied into a temporary folder, with the settings and port it was given."""

    path: Path
    port: int
    settings: dict[str, str]


def copy_app(
    azurite: Azurite,
    twilio_url: str,
    folder: Path,
    overrides: dict[str, str] | None = None,
    storage: dict[str, str] | None = None,
) -> AppCopy:
    """Copy the app into `folder` with its own local.settings.json (example + e2e names +
    `storage` (default: Azurite's connection string) + `overrides`) and the short queue retry
    timings. `storage` may be a connection string or identity-based settings."""
    for part in APP_PARTS:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(source, folder / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, folder / part)
    speed_up_retries(folder / "host.json")
    example = json.loads((REPO_ROOT / "local.settings.example.json").read_text(encoding="utf-8"))
    port = free_port()
    values = {k: v for k, v in example["Values"].items() if k != "AzureWebJobsStorage"}
    settings: dict[str, str] = {
        **values,
        **E2E_NAMES,
        **(storage or {"AzureWebJobsStorage": azurite.connection_string}),
        "TWILIO_API_BASE_URL": twilio_url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **(overrides or {}),
    }
    (folder / "local.settings.json").write_text(
        json.dumps({"IsEncrypted": False, "Values": settings}), encoding="utf-8"
    )
    return AppCopy(folder, port, settings)


def start_host(app: AppCopy, env: dict[str, str] | None = None) -> Service:
    """The functions host stand-in running the copied app on its port; `env` goes to the host
    process (e.g. where its managed identity gets tokens)."""
    return start_service(
        "functions-host",
        [
            sys.executable,
            "-m",
            "emulators.functions_host",
            "--port",
            str(app.port),
            "--app",
            str(app.path),
        ],
        [r"listening on (http://\S+)"],
        cwd=REPO_ROOT,
        timeout=60,
        env=env,
    )


@pytest.fixture(scope="session")
def stack_parts() -> SimpleNamespace:
    """`copy_app`, `start_host` and `wait_for`, for a test module that runs a stack of its own
    (test modules cannot import conftest under importlib mode)."""
    return SimpleNamespace(copy_app=copy_app, start_host=start_host, wait_for=wait_for)


@contextmanager
def running_stack(
    azurite: Azurite,
    app: Path,
    storage: dict[str, str],
    env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Twilio emulator + functions host running the real app copied into `app`, its storage
    given by the `storage` settings (a connection string or identity-based settings); `env`
    goes to the host process (e.g. where its managed identity gets tokens)."""
    twilio = start_emulator(speed=50)
    copied = copy_app(azurite, twilio.base_url, app, storage=storage)
    host = start_host(copied, env)
    try:
        yield Stack(
            azurite, twilio.base_url, f"http://127.0.0.1:{copied.port}", copied.settings, host
        )
    finally:
        host.stop(timeout=30)
        twilio.stop()


@pytest.fixture(scope="module")
def stack(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Azurite + Twilio emulator + functions host running the real app from a temporary copy."""
    storage = {"AzureWebJobsStorage": azurite.connection_string}
    with running_stack(azurite, tmp_path_factory.mktemp("app"), storage) as running:
        yield running


@pytest.fixture(scope="module")
def producer(stack: Stack) -> Producer:
    """The producer library, pointed at the stack's storage and the e2e queue names."""
    return Producer(
        ProducerSettings(
            storage=ConnectionString(stack.azurite.connection_string),
            sms_queue=E2E_NAMES["SMS_QUEUE_NAME"],
            call_queue=E2E_NAMES["CALL_QUEUE_NAME"],
            events_queue=E2E_NAMES["EVENTS_QUEUE_NAME"],
            deliveries_table=E2E_NAMES["DELIVERIES_TABLE_NAME"],
        )
    )


@pytest.fixture(autouse=True)
def clean_twilio(stack: Stack) -> None:
    """Each test starts with no faults, callee scripts or stored resources in the emulator."""
    stack.twilio_control("reset")


@dataclass
class Waiter:
    """Polls the stack's state for the tests (the host's log goes into every failure)."""

    stack: Stack
    producer: Producer

    def until[T](self, probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
        """Poll `probe` until it returns something truthy."""
        return wait_for(probe, what, timeout, self.stack.host)

    def final_state(
        self, request_id: str, statuses: set[str], timeout: float = 60.0
    ) -> DeliveryRecord:
        """Wait until the request's current status is one of `statuses`; return its record."""

        def probe() -> DeliveryRecord | None:
            try:
                record = self.producer.status(request_id)
            except DeliveryNotFoundError:
                return None
            current = record.current or {}
            return record if current.get("status") in statuses else None

        return self.until(probe, f"{request_id} to reach one of {sorted(statuses)}", timeout)

    def history_with(
        self, request_id: str, statuses: set[str], timeout: float = 60.0
    ) -> DeliveryRecord:
        """Wait until the request's history holds a row for each of `statuses`.

        The state row changes before the history row of the same report is written, so a test
        that reads the history right after `final_state` could miss the last rows."""

        def probe() -> DeliveryRecord | None:
            try:
                record = self.producer.status(request_id)
            except DeliveryNotFoundError:
                return None
            seen = {str(row.get("status")) for row in record.history}
            return record if statuses <= seen else None

        return self.until(probe, f"{request_id} history with {sorted(statuses)}", timeout)


@pytest.fixture
def wait(stack: Stack, producer: Producer) -> Waiter:
    """Waits on the stack's delivery state."""
    return Waiter(stack, producer)
