"""Fixtures of the producer's pure unit tests: its storage clients are in memory.

The producer builds its clients itself (`StorageQueues`, `open_deliveries_table`) through
`shared.storage_connection`'s factories; here those factories still build the real client (so a
malformed connection string fails as it does for a user; building sends nothing) and then hand
out the in-memory service instead. Every test runs in an empty directory without the app's
settings in the environment, so nothing of the machine's own configuration leaks in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import TokenCredential

import producer.queues
import producer.status
from shared.storage_connection import StorageConnection, queue_service_client, table_service_client
from tests.fakes.queue_storage import FakeQueueService
from tests.fakes.table_storage import FakeTable

APP_SETTINGS = (
    "AzureWebJobsStorage",
    "AZURE_ENV_NAME",
    "SMS_QUEUE_NAME",
    "CALL_QUEUE_NAME",
    "EVENTS_QUEUE_NAME",
    "DELIVERIES_TABLE_NAME",
)


@dataclass
class FakeTableService:
    """A `TableServiceClient` in memory: one `FakeTable` per name."""

    tables: dict[str, FakeTable] = field(default_factory=dict)

    def get_table_client(self, table_name: str) -> FakeTable:
        return self.tables.setdefault(table_name, FakeTable())


@dataclass
class Factories:
    """What the producer asked the client factories for (connection, options), in order."""

    queue_calls: list[tuple[StorageConnection, dict[str, Any]]] = field(default_factory=list)
    table_calls: list[tuple[StorageConnection, dict[str, Any]]] = field(default_factory=list)
    # The credential each call was given (queue and table calls alike), in order.
    credentials: list[TokenCredential | None] = field(default_factory=list)


@pytest.fixture
def queue_service() -> FakeQueueService:
    """The storage account's queues, in memory."""
    return FakeQueueService()


@pytest.fixture
def table_service() -> FakeTableService:
    """The storage account's tables, in memory."""
    return FakeTableService()


@pytest.fixture(autouse=True)
def factories(
    queue_service: FakeQueueService,
    table_service: FakeTableService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Factories:
    """The producer's client factories hand out the in-memory services."""
    monkeypatch.chdir(tmp_path)
    for name in APP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    seen = Factories()

    def queues(
        connection: StorageConnection, credential: TokenCredential | None = None, **options: Any
    ) -> Any:
        queue_service_client(connection, credential, **options)
        seen.queue_calls.append((connection, options))
        seen.credentials.append(credential)
        return queue_service

    def tables(
        connection: StorageConnection, credential: TokenCredential | None = None, **options: Any
    ) -> Any:
        table_service_client(connection, credential, **options)
        seen.table_calls.append((connection, options))
        seen.credentials.append(credential)
        return table_service

    monkeypatch.setattr(producer.queues, "queue_service_client", queues)
    monkeypatch.setattr(producer.status, "table_service_client", tables)
    return seen
