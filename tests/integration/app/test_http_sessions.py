"""Every storage client sends through the process's storage pools with the callers' timeouts, to
real Azurite: recording pools in place of the process's see what the SDKs hand to their
transport, then send it. (What needs no answer is in tests/unit/shared/.)"""

from __future__ import annotations

import uuid

import pytest

from shared.storage_connection import (
    ConnectionString,
    queue_client,
    queue_service_client,
    table_service_client,
)
from tests.http_recording import TIMEOUTS, recording


def test_every_storage_client_sends_through_the_process_pools(
    plain_env: pytest.MonkeyPatch, storage_connection_string: str
) -> None:
    pools = recording(plain_env, forward=True)
    connection = ConnectionString(storage_connection_string)
    name = f"sessions{uuid.uuid4().hex[:10]}"
    table_service_client(connection, **TIMEOUTS).create_table(name)
    queues = queue_service_client(connection, **TIMEOUTS)
    queues.create_queue(name)
    queue_client(connection, name, **TIMEOUTS).send_message("hello")
    assert queues.get_queue_client(name).peek_messages()[0].content == "hello"

    assert [sent.url.split("?")[0].rsplit("/", 1)[-1] for sent in pools.sent] == [
        "Tables",
        name,
        "messages",
        "messages",
    ]
    # The callers' timeouts reach the pools (a transport given to a client ignores the
    # client's own timeout options); certifi's bundle, no proxy.
    assert {(sent.timeout, sent.verify) for sent in pools.sent} == {((4, 17), True)}
    assert all(sent.proxy is None for sent in pools.sent)
