"""Publish delivery events on the events queue: `EventsPublisher`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.contracts import DeliveryEvent

# azure-storage-queue imports aiohttp: only type checkers import it here.
if TYPE_CHECKING:
    from azure.storage.queue import QueueClient


class EventsPublisher:
    """Puts `DeliveryEvent`s on one queue as UTF-8 JSON (field names as in the schema).

    Built from a `QueueClient` whose encode policy matches the queue's readers (the app's:
    base64, like every queue of the app; `app_services.app_publisher()`)."""

    def __init__(self, queue: QueueClient) -> None:
        self.queue = queue

    def publish(self, event: DeliveryEvent) -> None:
        """Put `event` on the queue."""
        self.queue.send_message(event.model_dump_json(by_alias=True))
