"""Fixtures for the producer's integration tests: unique queue/table names on the session's
Azurite, a plain (policy-free) view of the queues, and the app's own writers configured."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from azure.storage.queue import QueueServiceClient

from emulators.azurite import AZURITE_BIN, connection_string
from emulators.launcher import start_service
from emulators.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from shared import app_services, settings


@dataclass(frozen=True)
class Names:
    """This test's queue and table names (also set in the environment the CLI reads)."""

    sms: str
    call: str
    events: str
    table: str


@pytest.fixture
def names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Names:
    """Fresh names per test, exported as the app settings; cwd without local.settings.json."""
    suffix = uuid.uuid4().hex[:10]
    chosen = Names(f"sms-{suffix}", f"call-{suffix}", f"events-{suffix}", f"deliveries{suffix}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.setenv("SMS_QUEUE_NAME", chosen.sms)
    monkeypatch.setenv("CALL_QUEUE_NAME", chosen.call)
    monkeypatch.setenv("EVENTS_QUEUE_NAME", chosen.events)
    monkeypatch.setenv("DELIVERIES_TABLE_NAME", chosen.table)
    return chosen


@pytest.fixture(scope="module")
def strict_storage_connection_string() -> Iterator[str]:
    """An in-memory Azurite started WITHOUT `--skipApiVersionCheck`, as Docker images and the
    VS Code extension run it: it refuses API versions newer than it knows."""
    host = "127.0.0.1"
    argv = [str(AZURITE_BIN), "--silent", "--disableTelemetry", "--inMemoryPersistence"]
    for service in ("blob", "queue", "table"):
        argv += [f"--{service}Host", host, f"--{service}Port", "0"]
    running = start_service(
        "azurite-strict",
        argv,
        [
            rf"{kind} service is successfully listening at http://{host}:(\d+)"
            for kind in ("Blob", "Queue", "Table")
        ],
    )
    blob, queue, table = (int(match.group(1)) for match in running.matches)
    yield connection_string(host, blob, queue, table)
    running.stop()


@pytest.fixture
def plain_queue(storage_connection_string: str) -> Iterator[QueueServiceClient]:
    """The test's own queue service client, without encode/decode policies: it sees the exact
    text stored on each queue."""
    with QueueServiceClient.from_connection_string(
        storage_connection_string, connection_timeout=5, read_timeout=15
    ) as service:
        yield service


@pytest.fixture
def app_settings(
    names: Names, storage_connection_string: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The function app's settings in the environment, so `shared.delivery_store` and
    `shared.events_publisher` write to this test's table and events queue."""
    monkeypatch.setenv("AzureWebJobsStorage", storage_connection_string)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", DEFAULT_ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", DEFAULT_AUTH_TOKEN)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:7071")
    _forget_app_clients()
    yield
    _forget_app_clients()


def _forget_app_clients() -> None:
    settings.get_settings.cache_clear()
    app_services.forget()
