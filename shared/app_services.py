"""The process's one deliveries store, events publisher and recorder, built from the settings on
first use and reused (in Azure, once per worker process).

The function folders pass these to `shared`; tests build their own from other clients (or
fakes) and pass those instead. `process_state.reset_process_state()` forgets them.
"""

from __future__ import annotations

import contextlib
import functools

from azure.core.exceptions import ResourceExistsError

from shared.contracts import DeliveryEvent
from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_store import DeliveryStore
from shared.events_publisher import EventsPublisher
from shared.log_safety import quiet_storage_request_logs
from shared.settings import get_settings
from shared.storage_connection import queue_client, table_service_client

# Every storage request of the app: 5 s to connect, 20 s to answer, 3 retries.
CONNECTION_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 20
RETRIES = 3


@functools.cache
def app_store() -> DeliveryStore:
    """The process's store over the deliveries table (the table is created on first use)."""
    settings = get_settings()
    quiet_storage_request_logs()
    service = table_service_client(
        settings.storage,
        connection_timeout=CONNECTION_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retry_total=RETRIES,
    )
    table = service.get_table_client(settings.deliveries_table_name)
    with contextlib.suppress(ResourceExistsError):
        table.create_table()
    return DeliveryStore(table)


@functools.cache
def app_publisher() -> EventsPublisher:
    """The process's publisher on the events queue (the queue is created on first use;
    azure-storage-queue, which imports aiohttp, is imported then too)."""
    from azure.storage.queue import TextBase64EncodePolicy

    settings = get_settings()
    quiet_storage_request_logs()
    # A QueueClient built directly keeps its encode policy (get_queue_client() would drop it).
    client = queue_client(
        settings.storage,
        settings.events_queue_name,
        message_encode_policy=TextBase64EncodePolicy(),
        connection_timeout=CONNECTION_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retry_total=RETRIES,
    )
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return EventsPublisher(client)


class _FirstEventBuildsPublisher:
    """`app_publisher()`, built by the first event: a request that only reads (a call's TwiML)
    never imports the queue SDK."""

    def publish(self, event: DeliveryEvent) -> None:
        app_publisher().publish(event)


@functools.cache
def app_recorder() -> DeliveryRecorder:
    """The process's recorder: `app_store()` and `app_publisher()`."""
    return DeliveryRecorder(app_store(), _FirstEventBuildsPublisher())


def forget() -> None:
    """Forget the store, publisher and recorder (the next use builds them again)."""
    for cached in (app_store, app_publisher, app_recorder):
        cached.cache_clear()
