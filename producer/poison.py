"""Inspect and replay a poison queue (`<queue>-poison`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueMessage

from producer.errors import InvalidInputError, storage_errors
from producer.queues import (
    StorageQueues,
    decode_base64,
    decode_message_text,
    encode_message_text,
    poison_queue_name,
    source_queue_name,
)

PAGE_SIZE = 32  # the most Azure Storage returns per receive or peek
# Messages a replay looks at but leaves (other ids) stay hidden this long at most; they are
# made visible again as soon as the replay ends.
HOLD_SECONDS = 120


@dataclass(frozen=True)
class PoisonMessage:
    """A message on a poison queue, as stored, with what it decodes to."""

    message_id: str
    inserted_at: datetime | None
    dequeue_count: int | None
    raw: str

    @property
    def data(self) -> bytes | None:
        """The base64-decoded bytes; None when `raw` is not base64."""
        return decode_base64(self.raw)

    @property
    def text(self) -> str | None:
        """The base64-decoded UTF-8 text; None when `raw` is not base64 or holds no UTF-8."""
        return decode_message_text(self.raw)

    @property
    def payload(self) -> object | None:
        """The decoded JSON, or None when the text is not JSON."""
        if self.text is None:
            return None
        try:
            parsed: object = json.loads(self.text)
        except json.JSONDecodeError:
            return None
        return parsed


@dataclass(frozen=True)
class PoisonListing:
    """The first messages of a poison queue and how many it holds in all (approximately)."""

    queue: str
    messages: list[PoisonMessage]
    approximate_count: int


@dataclass(frozen=True)
class ReplayedMessage:
    """A poison message that is back on its source queue."""

    poison_message_id: str
    new_message_id: str


def _poison_message(message: QueueMessage) -> PoisonMessage:
    return PoisonMessage(
        message.id, message.inserted_on, message.dequeue_count, str(message.content)
    )


def _missing_poison_queue(queues: StorageQueues, poison_name: str) -> InvalidInputError:
    """The error for a poison queue that does not exist, saying whether its source queue does
    (nothing was ever poisoned) or not (most likely a typo)."""
    source_name = source_queue_name(poison_name)
    if queues.exists(source_name):
        return InvalidInputError(
            f"queue {poison_name!r} does not exist: nothing from {source_name!r} was ever poisoned"
        )
    return InvalidInputError(
        f"queue {poison_name!r} does not exist, nor does {source_name!r}: check the queue name"
    )


def _message_count(queues: StorageQueues, poison: QueueClient) -> int:
    """How many messages the poison queue holds (approximately); `InvalidInputError` when it
    does not exist, so a mistyped name is reported instead of looking empty."""
    try:
        return poison.get_queue_properties().approximate_message_count or 0
    except ResourceNotFoundError:
        raise _missing_poison_queue(queues, poison.queue_name) from None


def list_poison(queues: StorageQueues, queue: str) -> PoisonListing:
    """The first 32 messages of `queue`'s poison queue (`queue` may name either queue);
    peeking changes nothing. Raises `InvalidInputError` when the poison queue does not exist."""
    name = poison_queue_name(queue)
    client = queues.raw_queue(name, create=False)
    with storage_errors(f"peek at queue {name!r}"):
        count = _message_count(queues, client)
        messages = client.peek_messages(max_messages=PAGE_SIZE)
    return PoisonListing(name, [_poison_message(message) for message in messages], count)


def replay_text(message: PoisonMessage) -> str:
    """The queue text to put back on the source queue: a base64 message exactly as stored
    (whatever it holds, text or binary), one that never was base64 (a producer that forgot to
    encode) encoded now, so that the host can decode both."""
    return message.raw if message.data is not None else encode_message_text(message.raw)


@contextmanager
def _held(poison: QueueClient) -> Iterator[list[QueueMessage]]:
    """Collects messages a replay has received and not finished with, and makes them visible
    again when the replay ends."""
    held: list[QueueMessage] = []
    try:
        yield held
    finally:
        for message in held:
            # Best effort: if this fails, the message reappears after HOLD_SECONDS anyway.
            try:
                poison.update_message(message, visibility_timeout=0)
            except AzureError:
                continue


def replay_poison(
    queues: StorageQueues, queue: str, *, message_id: str | None = None
) -> list[ReplayedMessage]:
    """Move messages from `queue`'s poison queue back to the source queue as base64; each
    is deleted from the poison queue only after it is on the source queue. With `message_id`,
    only that message. Replays at most the messages present when it starts, so messages that
    fail again and return to the poison queue meanwhile are not replayed in a loop.

    Raises `InvalidInputError` when the poison queue does not exist. The source queue is
    created (if missing) only when there is a message to put on it."""
    poison_name = poison_queue_name(queue)
    source_name = source_queue_name(poison_name)
    poison = queues.raw_queue(poison_name, create=False)
    # Raw: `replay_text` is already the queue text; an encode policy would encode it again.
    source = queues.raw_queue(source_name, create=False)
    replayed: list[ReplayedMessage] = []
    with storage_errors(f"replay queue {poison_name!r} to {source_name!r}"), _held(poison) as held:
        remaining = _message_count(queues, poison)
        while remaining > 0:
            page = min(PAGE_SIZE, remaining)
            batch = list(
                poison.receive_messages(
                    messages_per_page=page,
                    max_messages=page,
                    visibility_timeout=HOLD_SECONDS,
                )
            )
            if not batch:
                break
            # The whole batch is held until replayed, so a failed send leaves it (and the
            # messages after it) visible again as soon as the replay ends.
            held.extend(batch)
            for message in batch:
                if message_id is not None and message.id != message_id:
                    continue
                queues.create_queue(source_name)
                sent = source.send_message(replay_text(_poison_message(message)))
                poison.delete_message(message)
                held.remove(message)
                replayed.append(ReplayedMessage(message.id, sent.id))
            if message_id is not None and replayed:
                break
            remaining -= len(batch)
    if message_id is not None and not replayed:
        raise InvalidInputError(f"--id: no message {message_id!r} on queue {poison_name!r}")
    return replayed
