"""Sample v1 function apps written into tmp dirs, and the functions host started on them.

The host always runs as a real subprocess (`python -m emulators.functions_host --port 0`) against
the session's real Azurite. Functions report what they saw by writing JSON files into the
folder named by the RECORD_DIR app setting.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from emulators.azurite import Azurite
from emulators.launcher import Service, start_service

REPO_ROOT = Path(__file__).resolve().parents[3]
READY = r"Host started; listening on (http://127\.0\.0\.1:\d+)"
QUEUE_API_VERSION = "2025-11-05"

RECORDING_QUEUE_FUNCTION = """
import json, os, time, uuid
import azure.functions as func


def main(msg: func.QueueMessage) -> None:
    seen = {
        "function": "%(name)s",
        "id": msg.id,
        "body": msg.get_body().decode("utf-8"),
        "dequeue_count": msg.dequeue_count,
        "insertion_time": msg.insertion_time.isoformat() if msg.insertion_time else None,
        "expiration_time": msg.expiration_time.isoformat() if msg.expiration_time else None,
        "time_next_visible": (
            msg.time_next_visible.isoformat() if msg.time_next_visible else None
        ),
        "pop_receipt": msg.pop_receipt,
        "at": time.time(),
    }
    %(before)s
    path = os.path.join(os.environ["RECORD_DIR"], "%(name)s-" + uuid.uuid4().hex + ".json")
    # Written aside and renamed: a test polling `records()` never reads half a file.
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(seen, handle)
    os.replace(path + ".tmp", path)
    %(after)s
"""

HTTP_ECHO_FUNCTION = """
import json
import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    seen = {
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "headers": {k.lower(): v for k, v in req.headers.items()},
        "body": req.get_body().decode("utf-8"),
    }
    status = int(req.params.get("status", "200"))
    return func.HttpResponse(
        json.dumps(seen), status_code=status, mimetype="application/json",
        headers={"X-Echo": "yes"},
    )
"""

HTTP_EXTRAS_FUNCTION = """
import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    if req.params.get("fail"):
        raise ValueError("asked to fail")
    return func.HttpResponse(
        "<Response/>", mimetype="application/xml",
        headers={"Set-Cookie": "session=abc; Path=/; HttpOnly"},
    )
"""


def queue_function(name: str, *, before: str = "", after: str = "") -> str:
    """Source of a queue-triggered function that records what it received."""
    return RECORDING_QUEUE_FUNCTION % {"name": name, "before": before, "after": after}


def queue_trigger_json(queue_name: str) -> dict[str, Any]:
    """function.json of a queue-triggered function."""
    return {
        "scriptFile": "__init__.py",
        "bindings": [
            {
                "name": "msg",
                "type": "queueTrigger",
                "direction": "in",
                "queueName": queue_name,
                "connection": "AzureWebJobsStorage",
            }
        ],
    }


def http_trigger_json(auth_level: str, **extra: Any) -> dict[str, Any]:
    """function.json of an HTTP-triggered function returning its response."""
    return {
        "bindings": [
            {
                "name": "req",
                "type": "httpTrigger",
                "direction": "in",
                "authLevel": auth_level,
                **extra,
            },
            {"name": "$return", "type": "http", "direction": "out"},
        ]
    }


@dataclass
class SampleApp:
    """A v1 app folder being written by a test."""

    root: Path
    record_dir: Path

    def add_function(self, name: str, function_json: dict[str, Any], source: str) -> None:
        """Write `<name>/function.json` and `<name>/__init__.py`."""
        folder = self.root / name
        folder.mkdir()
        (folder / "function.json").write_text(json.dumps(function_json), encoding="utf-8")
        (folder / "__init__.py").write_text(source, encoding="utf-8")

    def records(self, function: str) -> list[dict[str, Any]]:
        """What a recording function saw, oldest first."""
        found = [
            json.loads(path.read_text(encoding="utf-8"))
            for path in self.record_dir.glob(f"{function}-*.json")
        ]
        return sorted(found, key=lambda record: float(record["at"]))


def write_app(
    root: Path,
    queues: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
    host_section: dict[str, Any] | None = None,
) -> SampleApp:
    """An empty app: host.json with fast queue settings, local.settings.json with RECORD_DIR."""
    root.mkdir(parents=True, exist_ok=True)
    record_dir = root / "records"
    record_dir.mkdir()
    queue_settings = {
        "batchSize": 4,
        "maxDequeueCount": 3,
        "visibilityTimeout": "00:00:01",
        "maxPollingInterval": "00:00:00.2",
        "messageEncoding": "base64",
        **(queues or {}),
    }
    host_json = {
        "version": "2.0",
        "extensionBundle": {
            "id": "Microsoft.Azure.Functions.ExtensionBundle",
            "version": "[4.*, 5.0.0)",
        },
        "extensions": {"queues": queue_settings},
    }
    (root / "host.json").write_text(json.dumps(host_json), encoding="utf-8")
    settings: dict[str, Any] = {
        "IsEncrypted": False,
        "Values": {
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "RECORD_DIR": str(record_dir),
            **(values or {}),
        },
    }
    if host_section:
        settings["Host"] = host_section
    (root / "local.settings.json").write_text(json.dumps(settings), encoding="utf-8")
    return SampleApp(root=root, record_dir=record_dir)


@dataclass
class RunningHost:
    """A functions host subprocess and its base URL."""

    service: Service
    base_url: str


def start_host(app: SampleApp, azurite: Azurite) -> RunningHost:
    """`python -m emulators.functions_host --port 0 --app <app>` with Azurite's connection."""
    service = start_service(
        "functions-host",
        [sys.executable, "-m", "emulators.functions_host", "--port", "0", "--app", str(app.root)],
        [READY],
        cwd=REPO_ROOT,
        env={"AzureWebJobsStorage": azurite.connection_string},
        timeout=60,
    )
    return RunningHost(service=service, base_url=service.matches[0].group(1))


def wait_until[T](probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def unique_queue(prefix: str) -> str:
    """A queue name no other test uses (the session's Azurite is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def raw_queue(azurite: Azurite, name: str) -> QueueClient:
    """A client that reads and writes the queue text as-is (no encode/decode policy)."""
    return QueueClient.from_connection_string(
        azurite.connection_string, name, api_version=QUEUE_API_VERSION
    )


def base64_queue(azurite: Azurite, name: str) -> QueueClient:
    """A client that base64-encodes what it sends, like the producers do."""
    return QueueClient.from_connection_string(
        azurite.connection_string,
        name,
        api_version=QUEUE_API_VERSION,
        message_encode_policy=TextBase64EncodePolicy(),
    )


@pytest.fixture
def host_tools() -> type[HostTools]:
    """The helpers above, for test modules (tests/ has no packages to import from)."""
    return HostTools


class HostTools:
    """Namespace handed to tests by the `host_tools` fixture."""

    write_app = staticmethod(write_app)
    start_host = staticmethod(start_host)
    queue_function = staticmethod(queue_function)
    queue_trigger_json = staticmethod(queue_trigger_json)
    http_trigger_json = staticmethod(http_trigger_json)
    http_echo_function = HTTP_ECHO_FUNCTION
    wait_until = staticmethod(wait_until)
    unique_queue = staticmethod(unique_queue)
    raw_queue = staticmethod(raw_queue)
    base64_queue = staticmethod(base64_queue)


@dataclass
class SampleHost:
    """The shared sample app (queue and HTTP functions) and the host running it."""

    app: SampleApp
    host: RunningHost
    recorder_queue: str
    failer_queue: str


@pytest.fixture(scope="session")
def sample_host(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleHost]:
    """One host for the read-only checks: queue names come from `%SETTING%` references."""
    recorder_queue, failer_queue = unique_queue("recorder"), unique_queue("failer")
    app = write_app(
        tmp_path_factory.mktemp("sample-app"),
        values={"RECORDER_QUEUE": recorder_queue, "FAILER_QUEUE": failer_queue},
        host_section={"FunctionKeys": {"http_keyed": "function-key", "default": "host-key"}},
    )
    app.add_function("recorder", queue_trigger_json("%RECORDER_QUEUE%"), queue_function("recorder"))
    app.add_function(
        "failer",
        queue_trigger_json("%FAILER_QUEUE%"),
        queue_function("failer", after='raise RuntimeError("failer always fails")'),
    )
    app.add_function(
        "http_echo", http_trigger_json("anonymous", methods=["get", "post"]), HTTP_ECHO_FUNCTION
    )
    app.add_function("http_keyed", http_trigger_json("function"), HTTP_ECHO_FUNCTION)
    app.add_function(
        "http_item", http_trigger_json("anonymous", route="items/{id:int}"), HTTP_ECHO_FUNCTION
    )
    app.add_function("http_extras", http_trigger_json("anonymous"), HTTP_EXTRAS_FUNCTION)
    host = start_host(app, azurite)
    yield SampleHost(app, host, recorder_queue, failer_queue)
    host.service.stop()
