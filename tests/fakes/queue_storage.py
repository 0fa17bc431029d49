"""An in-memory stand-in for Azure Queue storage's clients, for pure unit tests of the producer
(the integration tests use real Azurite).

`FakeQueueService` is what `QueueServiceClient` offers the producer (`create_queue`,
`get_queue_client`); `FakeQueue` what `QueueClient` offers it. Azure's rules the producer
relies on are kept: a received message is hidden until deleted or made visible again, a delete
needs the pop receipt of the latest receive (404 otherwise), a missing queue answers 404, an
existing one 409 on create, peeking changes nothing, the message count includes hidden
messages, and a client given an encode policy stores base64 of the text. Time does not pass:
a hidden message stays hidden until `update_message(visibility_timeout=0)` or `expire_holds()`.
Every request is counted by operation; `failures[operation]` are raised (once each, in order)
by that operation's next requests.
"""

from __future__ import annotations

import base64
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueMessage, QueueProperties

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@dataclass
class StoredMessage:
    """A message as the queue holds it."""

    id: str
    content: str  # as stored: base64 when sent through an encoding client
    inserted_on: datetime
    dequeue_count: int = 0
    pop_receipt: str | None = None
    hidden: bool = False


class FakeQueueService:
    """A `QueueServiceClient` in memory: the queues by name, and the requests made to them."""

    def __init__(self) -> None:
        self.queues: dict[str, list[StoredMessage]] = {}
        self.requests: Counter[str] = Counter()
        self.failures: defaultdict[str, list[Exception]] = defaultdict(list)
        # The options of every receive, in order (how many, held how long).
        self.receive_options: list[dict[str, int | None]] = []
        self._ids = itertools.count(1)

    # --- what a QueueServiceClient offers -----------------------------------------------

    def create_queue(self, name: str, **_: Any) -> None:
        self.request("create_queue")
        if name in self.queues:
            raise ResourceExistsError("The specified queue already exists.")
        self.queues[name] = []

    def get_queue_client(
        self,
        queue: str,
        *,
        message_encode_policy: object | None = None,
        message_decode_policy: object | None = None,
    ) -> FakeQueue:
        return FakeQueue(
            self, queue, encode=message_encode_policy is not None, decode=message_decode_policy
        )

    # --- for tests ----------------------------------------------------------------------

    def put(self, queue: str, content: str) -> StoredMessage:
        """Store `content` exactly as given (creating the queue), without counting a request."""
        self.queues.setdefault(queue, []).append(stored := self.new_message(content))
        return stored

    def contents(self, queue: str) -> list[str]:
        """The stored text of every message of `queue`, hidden or not, oldest first."""
        return [message.content for message in self.queues[queue]]

    def expire_holds(self) -> None:
        """Let every hidden message's visibility timeout run out."""
        for messages in self.queues.values():
            for message in messages:
                message.hidden = False

    def request(self, operation: str) -> None:
        self.requests[operation] += 1
        if self.failures[operation]:
            raise self.failures[operation].pop(0)

    def next_id(self) -> str:
        return f"msg-{next(self._ids)}"

    def new_message(self, content: str) -> StoredMessage:
        number = next(self._ids)
        return StoredMessage(f"msg-{number}", content, START + timedelta(seconds=number))


class FakeQueue:
    """A `QueueClient` in memory (the methods the producer calls)."""

    def __init__(
        self, service: FakeQueueService, name: str, *, encode: bool, decode: object | None
    ) -> None:
        self.service = service
        self.queue_name = name
        self.encodes = encode
        self.decodes = decode is not None

    def _messages(self) -> list[StoredMessage]:
        if self.queue_name not in self.service.queues:
            raise ResourceNotFoundError("The specified queue does not exist.")
        return self.service.queues[self.queue_name]

    def _message(self, stored: StoredMessage) -> QueueMessage:
        content: str = stored.content
        if self.decodes:
            content = base64.b64decode(content).decode("utf-8")
        return QueueMessage(
            content,
            id=stored.id,
            inserted_on=stored.inserted_on,
            dequeue_count=stored.dequeue_count,
            pop_receipt=stored.pop_receipt,
        )

    def send_message(self, content: str, **_: Any) -> QueueMessage:
        self.service.request("send_message")
        messages = self._messages()
        if self.encodes:
            content = base64.b64encode(content.encode("utf-8")).decode("ascii")
        messages.append(stored := self.service.new_message(content))
        return QueueMessage(content, id=stored.id, inserted_on=stored.inserted_on)

    def receive_messages(
        self,
        *,
        messages_per_page: int | None = None,
        max_messages: int | None = None,
        visibility_timeout: int | None = None,
    ) -> list[QueueMessage]:
        self.service.request("receive_messages")
        self.service.receive_options.append(
            {
                "messages_per_page": messages_per_page,
                "max_messages": max_messages,
                "visibility_timeout": visibility_timeout,
            }
        )
        limit = min(max_messages or 32, messages_per_page or 32, 32)
        visible = [message for message in self._messages() if not message.hidden][:limit]
        for message in visible:
            message.hidden = True
            message.dequeue_count += 1
            message.pop_receipt = f"receipt-{self.service.next_id()}"
        return [self._message(message) for message in visible]

    def peek_messages(self, max_messages: int | None = None, **_: Any) -> list[QueueMessage]:
        self.service.request("peek_messages")
        limit = min(max_messages or 1, 32)
        visible = [message for message in self._messages() if not message.hidden][:limit]
        return [self._message(message) for message in visible]

    def delete_message(self, message: QueueMessage, **_: Any) -> None:
        self.service.request("delete_message")
        messages = self._messages()
        for stored in messages:
            if stored.id == message.id and stored.pop_receipt == message.pop_receipt:
                messages.remove(stored)
                return
        raise ResourceNotFoundError("The specified message does not exist.")

    def update_message(
        self, message: QueueMessage, *, visibility_timeout: int | None = None, **_: Any
    ) -> None:
        self.service.request("update_message")
        for stored in self._messages():
            if stored.id == message.id and stored.pop_receipt == message.pop_receipt:
                stored.hidden = bool(visibility_timeout)
                return
        raise ResourceNotFoundError("The specified message does not exist.")

    def get_queue_properties(self, **_: Any) -> QueueProperties:
        self.service.request("get_queue_properties")
        properties = QueueProperties()
        properties.name = self.queue_name
        properties.approximate_message_count = len(self._messages())
        return properties
