"""Reading a request's delivery state: the app's own `DeliveryStore` over the producer's table
client (the table here is in memory); nothing recorded is `DeliveryNotFoundError`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError
from azure.core.pipeline.policies import RetryMode

from producer.errors import DeliveryNotFoundError, InvalidInputError, StorageUnavailableError
from producer.status import open_deliveries_table, read_delivery
from producer.storage_options import (
    CONNECTION_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    RETRIES,
    RETRY_BACKOFF_SECONDS,
    TABLE_API_VERSION,
)
from shared.delivery_store import DeliveryStore
from shared.storage_connection import ConnectionString, IdentityConnection
from tests.fakes.table_storage import FakeTable
from tests.unit.producer.conftest import Factories, FakeTableService

AZURITE = ConnectionString("UseDevelopmentStorage=true")


def test_the_table_client_has_the_producer_options(
    factories: Factories, table_service: FakeTableService
) -> None:
    table = open_deliveries_table(AZURITE, "deliveries")
    assert table is table_service.tables["deliveries"]
    [(connection, options)] = factories.table_calls
    assert connection == AZURITE
    assert options == {
        "api_version": TABLE_API_VERSION,
        "connection_timeout": CONNECTION_TIMEOUT_SECONDS,
        "read_timeout": READ_TIMEOUT_SECONDS,
        "retry_total": RETRIES,
        "retry_mode": RetryMode.Fixed,
        "retry_backoff_factor": RETRY_BACKOFF_SECONDS,
    }


def test_an_identity_connection_is_accepted(factories: Factories) -> None:
    connection = IdentityConnection(
        "https://acct.queue.core.windows.net", "https://acct.table.core.windows.net"
    )
    open_deliveries_table(connection, "deliveries")
    assert factories.table_calls[0][0] == connection


def test_a_malformed_connection_string_is_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="storage connection string is not valid"):
        open_deliveries_table(ConnectionString("nonsense"), "deliveries")


def test_state_and_history_oldest_first() -> None:
    table = FakeTable()
    store = DeliveryStore(table)
    store.create_state("r1", {"channel": "sms", "status": "delivered", "metadata": {"k": 1}})
    store.add_history("r1", "local-1-claim", {"status": "queued"})
    store.add_history("r1", "cb-SM1-delivered-2", {"status": "delivered"})
    store.create_state("r2", {"channel": "sms", "status": "sent"})  # another request
    record = read_delivery(table, "r1")
    assert record.request_id == "r1"
    assert record.current is not None
    assert (record.current["status"], record.current["metadata"]) == ("delivered", {"k": 1})
    assert [row["status"] for row in record.history] == ["queued", "delivered"]
    assert all(isinstance(row["at"], datetime) for row in record.history)
    assert table.requests == {"insert": 4, "query": 1}  # one query reads it all


def test_history_without_a_state_row_is_still_shown() -> None:
    table = FakeTable()
    DeliveryStore(table).add_history("r1", "local-1-x", {"status": "rejected"})
    record = read_delivery(table, "r1")
    assert record.current is None
    assert [row["status"] for row in record.history] == ["rejected"]


def test_nothing_recorded_is_not_found() -> None:
    table = FakeTable()
    table.rows[("r2", "state")] = {"PartitionKey": "r2", "RowKey": "state", "status": "sent"}
    table.etags[("r2", "state")] = "e"
    with pytest.raises(DeliveryNotFoundError, match="no delivery recorded for request id 'r1'"):
        read_delivery(table, "r1")


def test_a_missing_table_is_not_found() -> None:
    table = FakeTable()
    table.failures.append(ResourceNotFoundError("TableNotFound"))
    with pytest.raises(DeliveryNotFoundError, match="'r1'"):
        read_delivery(table, "r1")


def test_an_unreachable_table_is_a_storage_error() -> None:
    table = FakeTable()
    table.failures.append(ServiceRequestError("refused"))
    with pytest.raises(StorageUnavailableError, match="read delivery state of 'r1'"):
        read_delivery(table, "r1")


def test_history_ties_are_ordered_by_row() -> None:
    table = FakeTable()
    at = datetime(2026, 11, 28, tzinfo=UTC)
    for key in ("h-b", "h-a"):
        table.rows[("r1", key)] = {"PartitionKey": "r1", "RowKey": key, "at": at, "status": key}
        table.etags[("r1", key)] = "e"
    assert [row["row"] for row in read_delivery(table, "r1").history] == ["h-a", "h-b"]
