"""`Producer`: the library entry point other systems use (the CLI is built on it)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping

from azure.core.credentials import TokenCredential
from azure.data.tables import TableClient

from producer.enqueue import (
    EnqueuedRequest,
    build_call_request,
    build_sms_request,
    enqueue_request,
)
from producer.events import ReceivedEvent, follow_events, read_events
from producer.poison import PoisonListing, ReplayedMessage, list_poison, replay_poison
from producer.queues import StorageQueues
from producer.settings import ProducerSettings, load_settings
from producer.status import DeliveryRecord, open_deliveries_table, read_delivery
from shared.contracts import CallRequest, SmsRequest

Fields = Mapping[str, object]


class Producer:
    """Enqueue requests, read delivery state and events, inspect and replay poison queues.

    One instance holds one queue service client (and, once needed, one table client); reuse it.
    Every method raises `producer.errors.ProducerError` subclasses: `InvalidInputError` (nothing
    was sent), `StorageUnavailableError`, `DeliveryNotFoundError`."""

    def __init__(
        self, settings: ProducerSettings | None = None, credential: TokenCredential | None = None
    ) -> None:
        """`credential`: a token credential to use with an endpoint-based (identity) account
        instead of `DefaultAzureCredential`; ignored with a connection string."""
        self.settings = settings or load_settings()
        self._credential = credential
        self._queues = StorageQueues(self.settings.storage, credential)

    @functools.cached_property
    def _deliveries(self) -> TableClient:
        return open_deliveries_table(
            self.settings.storage, self.settings.deliveries_table, self._credential
        )

    def send_sms(self, request: SmsRequest | Fields) -> EnqueuedRequest:
        """Validate (when given fields: contract names, `from` not `from_`) and enqueue an SMS
        request; a missing `id` becomes a new uuid4, returned in the result."""
        if not isinstance(request, SmsRequest):
            request = build_sms_request(request)
        return enqueue_request(self._queues, self.settings.sms_queue, request)

    def place_call(self, request: CallRequest | Fields) -> EnqueuedRequest:
        """Validate and enqueue a call request, like `send_sms`."""
        if not isinstance(request, CallRequest):
            request = build_call_request(request)
        return enqueue_request(self._queues, self.settings.call_queue, request)

    def status(self, request_id: str) -> DeliveryRecord:
        """The current state and history of a request."""
        return read_delivery(self._deliveries, request_id)

    def events(self, *, delete: bool = True) -> Iterator[ReceivedEvent]:
        """The delivery events now on the events queue (see `producer.events.read_events`)."""
        return read_events(self._queues, self.settings.events_queue, delete=delete)

    def follow_events(
        self, *, delete: bool = True, interval: float = 1.0
    ) -> Iterator[ReceivedEvent]:
        """Delivery events as they arrive, forever (see `producer.events.follow_events`)."""
        return follow_events(
            self._queues, self.settings.events_queue, delete=delete, interval=interval
        )

    def list_poison(self, queue: str) -> PoisonListing:
        """The first messages of `queue`'s poison queue."""
        return list_poison(self._queues, queue)

    def replay_poison(self, queue: str, message_id: str | None = None) -> list[ReplayedMessage]:
        """Move `queue`'s poison messages (or just `message_id`) back to `queue`."""
        return replay_poison(self._queues, queue, message_id=message_id)
