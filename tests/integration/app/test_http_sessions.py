"""Every storage client sends through the process's one HTTP session, with `trust_env` off and
the callers' timeouts, to real Azurite: a recording adapter mounted on the real session sees what
the SDKs hand to `requests`. (What needs no answer is in tests/unit/shared/.)"""

from __future__ import annotations

import uuid

import pytest

from shared.storage_connection import (
    ConnectionString,
    queue_client,
    queue_service_client,
    storage_session,
    table_service_client,
)
from tests.http_recording import TIMEOUTS, recording


def test_every_storage_client_sends_through_the_one_session_without_trust_env(
    plain_env: pytest.MonkeyPatch, storage_connection_string: str
) -> None:
    adapter = recording(forward=True)
    connection = ConnectionString(storage_connection_string)
    name = f"sessions{uuid.uuid4().hex[:10]}"
    table_service_client(connection, **TIMEOUTS).create_table(name)
    queues = queue_service_client(connection, **TIMEOUTS)
    queues.create_queue(name)
    queue_client(connection, name, **TIMEOUTS).send_message("hello")
    assert queues.get_queue_client(name).peek_messages()[0].content == "hello"

    assert storage_session().trust_env is False
    assert [sent.url.split("?")[0].rsplit("/", 1)[-1] for sent in adapter.sent] == [
        "Tables",
        name,
        "messages",
        "messages",
    ]
    # The callers' timeouts reach requests (a transport given to a client ignores the
    # client's own timeout options); certifi's bundle, no proxy.
    assert {(sent.timeout, sent.verify) for sent in adapter.sent} == {((4, 17), True)}
    assert all(sent.proxies == {} for sent in adapter.sent)
