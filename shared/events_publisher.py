"""Publish delivery events on the events queue (base64, like every queue of the app)."""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING

from azure.core.exceptions import ResourceExistsError

from shared.contracts import DeliveryEvent
from shared.log_safety import quiet_storage_request_logs
from shared.settings import get_settings
from shared.storage_connection import queue_client

# azure-storage-queue imports aiohttp: the first event pays for it, not the import of a folder.
if TYPE_CHECKING:
    from azure.storage.queue import QueueClient


@functools.cache
def get_events_queue() -> QueueClient:
    """The process's events queue client (queue created on first use)."""
    from azure.storage.queue import TextBase64EncodePolicy

    settings = get_settings()
    quiet_storage_request_logs()
    # A QueueClient built directly keeps its encode policy (get_queue_client() would drop it).
    client = queue_client(
        settings.storage,
        settings.events_queue_name,
        message_encode_policy=TextBase64EncodePolicy(),
        connection_timeout=5,
        read_timeout=20,
        retry_total=3,
    )
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return client


def publish(event: DeliveryEvent) -> None:
    """Put `event` on the events queue as UTF-8 JSON (field names as in the schema)."""
    get_events_queue().send_message(event.model_dump_json(by_alias=True))
