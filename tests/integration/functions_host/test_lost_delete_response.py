"""A delete whose response is lost after it took effect: the storage SDK retries it and gets 404
MessageNotFound. The listener must say the message is complete, not that it could not complete
it. Real Azurite does the work; only the first DELETE response is dropped on the way back."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ServiceResponseError
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.queue import QueueClient as SyncQueueClient
from azure.storage.queue.aio import QueueClient

from emulators.functions_host.function_metadata import parse_function
from emulators.functions_host.host_config import QueueOptions
from emulators.functions_host.queue_listener import QueueListener
from emulators.functions_host.runtime_driver import InvocationOutcome


class LosesFirstDeleteResponse(AioHttpTransport):
    """Sends every request to Azurite; the first message DELETE's response is then dropped, as
    when a connection breaks after the server acted (the SDK's retry policy retries it)."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    async def send(self, request: Any, **kwargs: Any) -> Any:
        response = await super().send(request, **kwargs)
        if request.method == "DELETE" and "/messages/" in request.url and not self.dropped:
            self.dropped += 1
            raise ServiceResponseError("connection reset after the request was sent")
        return response


class FixedOutcome:
    """Stands in for the Python worker (not for storage): every invocation ends `succeeded`."""

    def __init__(self, succeeded: bool) -> None:
        self.succeeded = succeeded
        self.invocations = 0

    async def invoke(self, spec: Any, **_: Any) -> InvocationOutcome:
        self.invocations += 1
        return InvocationOutcome(succeeded=self.succeeded, error=None if self.succeeded else "x")


def _spec(root: Path, queue_name: str) -> Any:
    folder = root / "handler"
    folder.mkdir()
    (folder / "__init__.py").write_text("def main(msg):\n    pass\n", encoding="utf-8")
    binding = {"name": "msg", "type": "queueTrigger", "direction": "in", "queueName": queue_name}
    (folder / "function.json").write_text(json.dumps({"bindings": [binding]}), encoding="utf-8")
    return parse_function(folder)


@pytest.mark.parametrize("succeeded", [True, False], ids=["completed", "poisoned"])
async def test_a_delete_that_took_effect_before_its_retry_is_logged_as_done(
    storage_connection_string: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    succeeded: bool,
) -> None:
    name = f"lost-delete-{uuid.uuid4().hex[:12]}"
    transport = LosesFirstDeleteResponse()
    fast_retries = {"retry_total": 3, "initial_backoff": 0.1, "increment_base": 0.1}
    queue = QueueClient.from_connection_string(
        storage_connection_string, name, transport=transport, **fast_retries
    )
    poison = QueueClient.from_connection_string(storage_connection_string, f"{name}-poison")
    await queue.create_queue()
    await queue.send_message(base64.b64encode(b'{"n": 1}').decode())
    invoker = FixedOutcome(succeeded)
    listener = QueueListener(
        spec=_spec(tmp_path, name),
        queue_name=name,
        queue=queue,
        poison=poison,
        options=QueueOptions(max_dequeue_count=1, max_polling_interval=0.2),
        invoker=invoker,  # type: ignore[arg-type]
    )
    stopping = asyncio.Event()
    running = asyncio.create_task(listener.run(stopping))
    check = SyncQueueClient.from_connection_string(storage_connection_string, name)
    try:
        for _ in range(200):  # up to 20 s on a loaded machine
            if transport.dropped and check.get_queue_properties().approximate_message_count == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        stopping.set()
        await running
        await queue.close()
        await poison.close()
    assert transport.dropped == 1, "the first DELETE was never sent"
    assert invoker.invocations == 1
    assert check.get_queue_properties().approximate_message_count == 0
    out = capsys.readouterr().out
    assert "Could not" not in out
    assert "was already deleted: an earlier try of this delete timed out but took effect" in out
    assert "The message is complete." in out


async def test_a_message_gone_after_its_lease_ended_is_a_warning(
    storage_connection_string: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"lease-gone-{uuid.uuid4().hex[:12]}"
    queue = QueueClient.from_connection_string(storage_connection_string, name)
    await queue.create_queue()
    await queue.send_message("eA==")
    (message,) = [m async for m in queue.receive_messages(visibility_timeout=1)]
    await asyncio.sleep(1.2)  # the lease ends; another listener takes the message and deletes it
    (taken,) = [m async for m in queue.receive_messages()]
    await queue.delete_message(taken)
    listener = QueueListener(
        spec=_spec(tmp_path, name),
        queue_name=name,
        queue=queue,
        poison=None,
        options=QueueOptions(),
        invoker=FixedOutcome(True),  # type: ignore[arg-type]
    )
    try:
        await listener._delete(message)
    finally:
        await queue.close()
    out = capsys.readouterr().out
    assert (
        f"Warning: message {message.id} was already gone when deleted: its lease had ended" in out
    )
