"""The counting proxy with the real storage SDKs against real Azurite: requests pass through
unchanged (signatures hold) and each is counted under the operation it is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode
from azure.storage.queue import QueueClient

from bench.storage_proxy import CountingProxy, RequestLog, classify
from emulators.azurite import Azurite, connection_string


@pytest.fixture
async def proxied(azurite: Azurite) -> AsyncIterator[tuple[str, RequestLog]]:
    """A connection string whose queue and table endpoints are counting proxies."""
    log = RequestLog()
    queues = CountingProxy("queue", azurite.queue_port, log)
    tables = CountingProxy("table", azurite.table_port, log)
    connection = connection_string(
        "127.0.0.1", azurite.blob_port, await queues.start(), await tables.start()
    )
    yield connection, log
    await queues.stop()
    await tables.stop()


def table_work(connection: str) -> int:
    table = TableServiceClient.from_connection_string(connection).get_table_client("proxytest")
    table.create_table()
    table.create_entity({"PartitionKey": "p", "RowKey": "state", "n": 1})
    with pytest.raises(ResourceNotFoundError):
        table.get_entity("p", "h-missing")
    state = table.get_entity("p", "state")
    table.update_entity(
        {"PartitionKey": "p", "RowKey": "state", "n": 2},
        mode=UpdateMode.MERGE,
        etag=state.metadata["etag"],
        match_condition=MatchConditions.IfNotModified,
    )
    table.upsert_entity({"PartitionKey": "p", "RowKey": "o"}, mode=UpdateMode.REPLACE)
    table.submit_transaction([("create", {"PartitionKey": "p", "RowKey": "h-1"})])
    return len(list(table.query_entities("PartitionKey eq 'p'")))


def queue_work(connection: str) -> int | None:
    queue = QueueClient.from_connection_string(connection, "proxytest")
    queue.create_queue()
    queue.send_message("one")
    for message in queue.receive_messages(messages_per_page=1, max_messages=1):
        queue.delete_message(message)
    return queue.get_queue_properties().approximate_message_count


async def test_sdk_requests_pass_through_and_are_counted(
    proxied: tuple[str, RequestLog],
) -> None:
    connection, log = proxied
    assert await asyncio.to_thread(table_work, connection) == 3
    assert await asyncio.to_thread(queue_work, connection) == 0
    assert log.counts == {
        ("table: create table", ""): 1,
        ("table: insert entity", "proxytest"): 1,
        ("table: get entity (404)", "proxytest"): 1,
        ("table: get entity", "proxytest"): 1,
        ("table: merge", "proxytest"): 1,
        ("table: upsert (replace)", "proxytest"): 1,
        ("table: batch", ""): 1,
        ("table: query entities", "proxytest"): 1,
        ("queue: create queue", "proxytest"): 1,
        ("queue: put message", "proxytest"): 1,
        ("queue: get messages", "proxytest"): 1,
        ("queue: delete message", "proxytest"): 1,
        ("queue: get properties", "proxytest"): 1,
    }


def test_classify_names_what_the_sdks_do_not_send_here() -> None:
    account = "/devstoreaccount1"
    assert classify("queue", "GET", f"{account}/q/messages", {"peekonly": "true"}, {}, 200) == (
        "queue: peek messages",
        "q",
    )
    assert classify("queue", "PUT", f"{account}/q/messages/id", {"popreceipt": "x"}, {}, 204) == (
        "queue: update message",
        "q",
    )
    tunnelled = {"X-HTTP-Method": "MERGE"}
    assert classify(
        "table", "POST", f"{account}/t(PartitionKey='a',RowKey='b')", {}, tunnelled, 204
    ) == (
        "table: upsert (merge)",
        "t",
    )
    assert classify(
        "table", "PUT", f"{account}/t(PartitionKey='a',RowKey='b')", {}, {"If-Match": "*"}, 412
    ) == (
        "table: replace (412)",
        "t",
    )
    assert classify("table", "POST", f"{account}/t", {}, {}, 409) == (
        "table: insert entity (409)",
        "t",
    )
