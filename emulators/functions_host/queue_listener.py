"""Poll one queue-triggered function's queue with the Storage Queues extension's rules.

- fetch up to `batchSize` messages; fetch again once in-flight invocations ≤ `newBatchThreshold`
- success → delete; failure → `update_message` with `visibilityTimeout`, or, once
  `dequeue_count >= maxDequeueCount`, copy the original text to `<queue>-poison` and delete
- a message that does not decode (messageEncoding) → poison at once, function not invoked
- a message whose dequeue count is already past `maxDequeueCount` → poison, function not invoked
- a queue without a poison queue (its name ends in `-poison`, or `<queue>-poison` would be over
  63 characters): a failed or given-up message is left invisible until its lease ends, as the
  real QueueProcessor does ("to prevent a fast infinite loop")
- idle or failing → back off from 100 ms, doubling, up to `maxPollingInterval`
- a failed poll is logged at once, then at most every 30 s, and recovery is logged
- a delete answered "MessageNotFound" (its first try timed out after it took effect, and the
  SDK's retry found the message gone) is logged as the completion it is, not as a failure
- stop cancels a fetch in progress, then waits for the in-flight invocations
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueClient

from emulators.functions_host import invocation_log
from emulators.functions_host.function_invoker import FunctionInvoker
from emulators.functions_host.function_metadata import FunctionSpec
from emulators.functions_host.host_config import MIN_POLLING_INTERVAL, QueueOptions
from emulators.functions_host.poll_failure_log import PollFailureLog
from emulators.functions_host.queue_message_codec import (
    UndecodableMessageError,
    decode_message,
    trigger_value,
)
from emulators.functions_host.rpc_values import Json, RpcValue, Text

# How long a fetched message stays invisible while it is processed (the host's lease). The real
# host has no knob for it; tests that kill the host shorten it with this environment variable.
MESSAGE_LEASE_SETTING = "FUNCTIONS_HOST_MESSAGE_LEASE_SECONDS"
MESSAGE_LEASE_SECONDS = int(os.environ.get(MESSAGE_LEASE_SETTING) or 600)


def queue_trigger_metadata(message: QueueMessage, body_text: str) -> dict[str, RpcValue]:
    """Trigger metadata as the host serialises it: strings as strings, the rest as JSON."""
    metadata: dict[str, RpcValue] = {
        "Id": Text(str(message.id)),
        "PopReceipt": Text(str(message.pop_receipt)),
        "DequeueCount": Json.of(int(message.dequeue_count or 0)),
        "QueueTrigger": Text(body_text),
    }
    timestamps = {
        "InsertionTime": message.inserted_on,
        "ExpirationTime": message.expires_on,
        "NextVisibleTime": message.next_visible_on,
    }
    for name, value in timestamps.items():
        if isinstance(value, datetime):
            metadata[name] = Json.of(value.isoformat())
    return metadata


@dataclass
class QueueListener:
    """The listener for one function and its (resolved) queue."""

    spec: FunctionSpec
    queue_name: str
    queue: QueueClient
    poison: QueueClient | None  # None: the real host has no poison queue for this queue
    options: QueueOptions
    invoker: FunctionInvoker
    poll_failures: PollFailureLog = field(init=False)

    def __post_init__(self) -> None:
        self.poll_failures = PollFailureLog(self.queue_name)

    async def ensure_queue(self) -> None:
        """Create the trigger queue if it does not exist (the host does the same)."""
        with contextlib.suppress(ResourceExistsError):
            await self.queue.create_queue()

    async def run(self, stopping: asyncio.Event) -> None:
        """Poll until `stopping` is set, then wait for the in-flight invocations."""
        in_flight: set[asyncio.Task[None]] = set()
        delay = MIN_POLLING_INTERVAL
        try:
            while not stopping.is_set():
                while len(in_flight) > self.options.new_batch_threshold and not stopping.is_set():
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                if stopping.is_set():
                    break
                messages = await self._fetch_unless_stopped(stopping)
                if messages is None:
                    break
                for message in messages:
                    task = asyncio.create_task(self._process_safely(message))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if messages:
                    delay = MIN_POLLING_INTERVAL
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=delay)
                delay = min(delay * 2, self.options.max_polling_interval)
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _fetch_unless_stopped(self, stopping: asyncio.Event) -> list[QueueMessage] | None:
        """The next batch, or None when `stopping` was set first (the fetch is then cancelled,
        so a hung storage cannot hold up shutdown)."""
        fetch = asyncio.create_task(self._fetch())
        stop = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
        if fetch in done:
            stop.cancel()
            return fetch.result()
        fetch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fetch
        return None

    async def _fetch(self) -> list[QueueMessage]:
        try:
            pages = self.queue.receive_messages(
                messages_per_page=self.options.batch_size,
                max_messages=self.options.batch_size,
                visibility_timeout=MESSAGE_LEASE_SECONDS,
            )
            messages = [message async for message in pages]
        except AzureError as error:
            self.poll_failures.failed(error)
            return []
        self.poll_failures.succeeded()
        return messages

    async def _process_safely(self, message: QueueMessage) -> None:
        try:
            await self._process(message)
        except Exception as error:
            # A bug here must not kill the listener; the message reappears after its lease.
            invocation_log.log(f"Error while handling message {message.id}: {error!r}")

    async def _process(self, message: QueueMessage) -> None:
        raw = str(message.content or "")
        try:
            body = decode_message(raw, self.options.message_encoding)
        except UndecodableMessageError:
            invocation_log.log(
                "Message decoding has failed! Check MessageEncoding settings. "
                f"MessageId={message.id}."
            )
            await self._poison_or_leave(message, raw)
            return
        if (message.dequeue_count or 0) > self.options.max_dequeue_count:
            # Like QueueProcessor.BeginProcessingMessageAsync: a message already past the limit
            # (its last attempt never finished, e.g. the host was killed) is not invoked again.
            await self._give_up(message, raw)
            return
        value = trigger_value(body, self.spec.trigger.data_type)
        text = body.decode("utf-8", errors="replace")
        inserted = message.inserted_on.isoformat() if message.inserted_on else "?"
        outcome = await self.invoker.invoke(
            self.spec,
            reason=f"New queue message detected on '{self.queue_name}'.",
            inputs={self.spec.trigger.name: value},
            trigger_metadata=queue_trigger_metadata(message, text),
            details=(
                f"Trigger Details: MessageId: {message.id}, DequeueCount: "
                f"{message.dequeue_count}, InsertedOn: {inserted}"
            ),
        )
        try:
            if outcome.succeeded:
                await self._delete(message)
            elif self.poison is None:
                self._leave_invisible(message)
            elif (message.dequeue_count or 0) >= self.options.max_dequeue_count:
                await self._give_up(message, raw)
            else:
                # The REST API takes whole seconds, as the .NET SDK sends them.
                await self.queue.update_message(
                    message, visibility_timeout=int(self.options.visibility_timeout)
                )
        except AzureError as error:
            # The message stays on the queue and reappears when its lease ends.
            invocation_log.log(f"Could not complete message {message.id}: {error}")

    async def _give_up(self, message: QueueMessage, raw: str) -> None:
        """Log and move a message that has used up its attempts to the poison queue."""
        if self.poison is not None:
            invocation_log.log(
                f"Message has reached MaxDequeueCount of {self.options.max_dequeue_count}. "
                f"Moving message to queue '{self.poison.queue_name}'."
            )
        await self._poison_or_leave(message, raw)

    async def _poison_or_leave(self, message: QueueMessage, raw: str) -> None:
        if self.poison is None:
            self._leave_invisible(message)
            return
        try:
            with contextlib.suppress(ResourceExistsError):
                await self.poison.create_queue()
            await self.poison.send_message(raw)
            await self._delete(message)
        except AzureError as error:
            invocation_log.log(f"Could not move message {message.id} to poison: {error}")

    async def _delete(self, message: QueueMessage) -> None:
        """Delete a handled message. Already gone (404 MessageNotFound) means an earlier try of
        this delete took effect, or, once the lease has ended, another listener's did."""
        try:
            await self.queue.delete_message(message)
        except ResourceNotFoundError as error:
            if getattr(error, "error_code", None) != "MessageNotFound":
                raise
            lease_end = message.next_visible_on
            if isinstance(lease_end, datetime) and datetime.now(UTC) < lease_end:
                invocation_log.log(
                    f"Message {message.id} was already deleted: an earlier try of this delete "
                    "timed out but took effect. The message is complete."
                )
            else:
                invocation_log.log(
                    f"Warning: message {message.id} was already gone when deleted: its lease "
                    "had ended, so another listener may have received and completed it too."
                )

    def _leave_invisible(self, message: QueueMessage) -> None:
        # The real host logs nothing here; one line keeps the stand-in from being silent.
        invocation_log.log(
            f"Queue '{self.queue_name}' has no poison queue: message {message.id} stays "
            f"invisible until its lease ends ({MESSAGE_LEASE_SECONDS // 60} minutes)."
        )
