"""Read delivery events from the events queue, once or following it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueMessage
from pydantic import ValidationError

from producer.errors import storage_errors
from producer.queues import StorageQueues, decode_message_text
from shared.contracts import DeliveryEvent

# How long a received event stays hidden from other consumers while this one handles it.
CLAIM_SECONDS = 60
PAGE_SIZE = 32  # the most Azure Storage returns per receive or peek


@dataclass(frozen=True)
class ReceivedEvent:
    """One message of the events queue: the event, or why it is not one."""

    message_id: str
    inserted_at: datetime | None
    text: str
    event: DeliveryEvent | None
    problem: str | None = None


def parse_event(message_id: str, inserted_at: datetime | None, raw: str) -> ReceivedEvent:
    """Decode a raw queue message (base64 of JSON) into a `DeliveryEvent`."""
    text = decode_message_text(raw)
    if text is None:
        return ReceivedEvent(message_id, inserted_at, raw, None, "not base64 of UTF-8 text")
    try:
        event = DeliveryEvent.model_validate_json(text)
    except ValidationError as error:
        problem = (
            f"not a delivery event ({error.error_count()} problems: {error.errors()[0]['msg']})"
        )
        return ReceivedEvent(message_id, inserted_at, text, None, problem)
    return ReceivedEvent(message_id, inserted_at, text, event)


def _parsed(message: QueueMessage) -> ReceivedEvent:
    return parse_event(message.id, message.inserted_on, str(message.content))


def read_events(queues: StorageQueues, queue_name: str, *, delete: bool) -> Iterator[ReceivedEvent]:
    """Yield the events now on the queue, oldest first.

    delete=True consumes: each event is deleted once the caller's loop body for it has finished,
    so an event whose handling raised comes back after `CLAIM_SECONDS`. delete=False peeks: the
    queue is untouched, and only the first 32 messages can be seen."""
    queue = queues.raw_queue(queue_name)
    if not delete:
        with storage_errors(f"peek at queue {queue_name!r}"):
            messages = queue.peek_messages(max_messages=PAGE_SIZE)
        yield from (_parsed(message) for message in messages)
        return
    while True:
        with storage_errors(f"receive from queue {queue_name!r}"):
            batch = list(
                queue.receive_messages(
                    messages_per_page=PAGE_SIZE,
                    max_messages=PAGE_SIZE,
                    visibility_timeout=CLAIM_SECONDS,
                )
            )
        if not batch:
            return
        for message in batch:
            yield _parsed(message)
            # Gone already (404): an earlier try of this delete took effect though its answer
            # was lost (the SDK retried), or the claim ran out and another consumer took and
            # deleted it. Either way the event is consumed; events are at least once.
            with (
                storage_errors(f"delete event {message.id} from queue {queue_name!r}"),
                contextlib.suppress(ResourceNotFoundError),
            ):
                queue.delete_message(message)


def follow_events(
    queues: StorageQueues, queue_name: str, *, delete: bool, interval: float
) -> Iterator[ReceivedEvent]:
    """Like `read_events`, polling again every `interval` seconds, forever (stop with Ctrl-C).

    When peeking, each message is yielded once even though it stays on the queue."""
    seen: set[str] = set()
    while True:
        for received in read_events(queues, queue_name, delete=delete):
            if not delete:
                if received.message_id in seen:
                    continue
                seen.add(received.message_id)
            yield received
        time.sleep(interval)
