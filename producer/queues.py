"""Queue clients that speak the Functions host's base64 message encoding."""

from __future__ import annotations

import base64
import binascii
import re
from contextlib import suppress

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import (
    LinearRetry,
    QueueClient,
    TextBase64DecodePolicy,
    TextBase64EncodePolicy,
)

from producer.errors import InvalidInputError, storage_errors
from producer.storage_options import (
    CONNECTION_TIMEOUT_SECONDS,
    QUEUE_API_VERSION,
    READ_TIMEOUT_SECONDS,
    RETRIES,
    RETRY_BACKOFF_SECONDS,
)
from shared.settings import QUEUE_NAME
from shared.storage_connection import StorageConnection, queue_service_client

# The SDK default waits 15 s+ between attempts; an operator at a prompt wants a quick answer.
RETRY_POLICY = LinearRetry(
    backoff=RETRY_BACKOFF_SECONDS, retry_total=RETRIES, random_jitter_range=0
)
POISON_SUFFIX = "-poison"
_WHITESPACE = re.compile(r"[ \t\r\n]")


def encode_message_text(text: str) -> str:
    """The wire form of `text` on a base64 queue (what `TextBase64EncodePolicy` sends)."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_base64(raw: str) -> bytes | None:
    """The bytes inside a base64 queue message, decoded as the host decodes them (standard
    alphabet, padding required, whitespace ignored), or None when `raw` is not base64 (the host
    poisons such messages without running the function)."""
    try:
        return base64.b64decode(_WHITESPACE.sub("", raw), validate=True)
    except (binascii.Error, ValueError):  # ValueError: characters outside ASCII
        return None


def decode_message_text(raw: str) -> str | None:
    """The UTF-8 text inside a base64 queue message, or None when `raw` is not base64 or what
    it holds is not UTF-8."""
    data = decode_base64(raw)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def check_queue_name(name: str) -> str:
    """`name`, if Azure Storage accepts it as a queue name; else `InvalidInputError`."""
    if not QUEUE_NAME.fullmatch(name):
        raise InvalidInputError(
            f"queue name {name!r} is not valid: 3-63 lowercase letters, digits, single hyphens"
        )
    return name


def poison_queue_name(queue: str) -> str:
    """`<queue>-poison`, the queue the host moves a message to when it gives up on it."""
    return queue if queue.endswith(POISON_SUFFIX) else queue + POISON_SUFFIX


def source_queue_name(queue: str) -> str:
    """The queue a poison queue belongs to (`sms-requests-poison` → `sms-requests`)."""
    return queue.removesuffix(POISON_SUFFIX)


class StorageQueues:
    """The process's one `QueueServiceClient`, handing out clients for named queues."""

    def __init__(
        self, connection: StorageConnection, credential: TokenCredential | None = None
    ) -> None:
        try:
            self._service = queue_service_client(
                connection,
                credential,
                api_version=QUEUE_API_VERSION,
                connection_timeout=CONNECTION_TIMEOUT_SECONDS,
                read_timeout=READ_TIMEOUT_SECONDS,
                retry_policy=RETRY_POLICY,
            )
        except ValueError as error:
            raise InvalidInputError(f"storage connection string is not valid: {error}") from error
        self._created: set[str] = set()

    def text_queue(self, name: str, *, create: bool = True) -> QueueClient:
        """A client that base64-encodes what it sends and decodes what it receives, like the
        host with `messageEncoding: base64`; creates the queue when missing unless told not to.

        Policies go to `get_queue_client` itself: the service client's own are not inherited."""
        if create:
            self.create_queue(name)
        return self._service.get_queue_client(
            check_queue_name(name),
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    def raw_queue(self, name: str, *, create: bool = True) -> QueueClient:
        """A client that sends and receives message text exactly as stored.

        Readers use it because the SDK's decode policy fails with an unrelated AttributeError on
        a message that is not base64; `decode_message_text` reports that case cleanly."""
        if create:
            self.create_queue(name)
        return self._service.get_queue_client(check_queue_name(name))

    def exists(self, name: str) -> bool:
        """Whether queue `name` exists (asking changes nothing)."""
        client = self._service.get_queue_client(check_queue_name(name))
        with storage_errors(f"look up queue {name!r}"):
            try:
                client.get_queue_properties()
            except ResourceNotFoundError:
                return False
        return True

    def create_queue(self, name: str) -> None:
        """Create queue `name` unless this process already made sure it exists."""
        if check_queue_name(name) in self._created:
            return
        with storage_errors(f"create queue {name!r}"), suppress(ResourceExistsError):
            self._service.create_queue(name)
        self._created.add(name)
