"""The queue listener: the trigger metadata it sends (decoded through the same azure.functions
converter the runtime uses into the QueueMessage fields a function reads), and its handling of
messages and polling over a fake queue client and a fake invoker."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError, ServiceRequestError
from azure.functions.meta import Datum
from azure.functions.queue import QueueMessageInConverter
from azure.storage.queue import QueueMessage as StorageMessage

from emulators.functions_host.function_invoker import FunctionInvoker
from emulators.functions_host.function_metadata import Binding, FunctionSpec
from emulators.functions_host.host_config import QueueOptions
from emulators.functions_host.queue_listener import (
    MESSAGE_LEASE_SECONDS,
    QueueListener,
    queue_trigger_metadata,
)
from emulators.functions_host.rpc_values import Binary, Json, RpcValue, Text
from emulators.functions_host.runtime_driver import InvocationOutcome
from tests.fakes.function_invoker import ScriptedInvoker


def as_datum(value: RpcValue) -> Datum:
    """What the runtime's `Datum.from_typed_data` makes of each TypedData kind."""
    match value:
        case Text(text):
            return Datum(text, "string")
        case Json(text):
            return Datum(text, "json")
        case Binary(data):
            return Datum(data, "bytes")
    raise AssertionError(f"unexpected metadata value {value!r}")


def test_metadata_decodes_into_queue_message_fields() -> None:
    inserted = datetime(2026, 11, 28, 23, 50, 1, tzinfo=UTC)
    expires = datetime(2026, 12, 5, 23, 50, 1, tzinfo=UTC)
    visible = datetime(2026, 11, 28, 23, 60 - 50, 1, tzinfo=UTC)
    message = StorageMessage(
        content="ignored",
        id="3678e34f-1947-4bcf-9401-6286e362662d",
        inserted_on=inserted,
        expires_on=expires,
        dequeue_count=2,
        pop_receipt="AgAAAAMAAAAAAAAA",
        next_visible_on=visible,
    )
    metadata = queue_trigger_metadata(message, '{"a": 1}')
    assert metadata["DequeueCount"] == Json("2")  # JSON, not TypedData int
    assert metadata["Id"] == Text(message.id)

    decoded = QueueMessageInConverter.decode(
        Datum('{"a": 1}', "string"),
        trigger_metadata={name: as_datum(value) for name, value in metadata.items()},
    )
    assert decoded.id == message.id
    assert decoded.dequeue_count == 2
    assert decoded.insertion_time == inserted
    assert decoded.expiration_time == expires
    assert decoded.time_next_visible == visible
    assert decoded.pop_receipt == "AgAAAAMAAAAAAAAA"
    assert decoded.get_json() == {"a": 1}


def test_fractional_seconds_survive() -> None:
    inserted = datetime(2026, 11, 28, 23, 50, 1, 123456, tzinfo=UTC)
    message = StorageMessage(id="m", inserted_on=inserted, dequeue_count=1, pop_receipt="p")
    metadata = queue_trigger_metadata(message, "x")
    decoded = QueueMessageInConverter.decode(
        Datum("x", "string"),
        trigger_metadata={name: as_datum(value) for name, value in metadata.items()},
    )
    assert decoded.insertion_time == inserted
    assert decoded.expiration_time is None


# The listener's message handling and polling, over a fake queue client and a fake invoker.


class FakeQueue:
    """The QueueClient calls the listener makes, recorded; `batches` are what receives return."""

    def __init__(self, name: str, batches: list[list[StorageMessage]] | None = None) -> None:
        self.queue_name = name
        self.url = f"http://fake/{name}"
        self.batches = list(batches or [])
        self.received: list[dict[str, object]] = []
        self.sent: list[str] = []
        self.deleted: list[str] = []
        self.updated: list[tuple[str, int]] = []
        self.created = 0
        self.delete_error: Exception | None = None
        self.receive_error: Exception | None = None
        self.hang = False
        self.on_empty: asyncio.Event | None = None
        self.fetching = asyncio.Event()
        self.cancelled = False

    async def create_queue(self) -> None:
        self.created += 1
        if self.created > 1:
            raise ResourceExistsError("QueueAlreadyExists")

    def receive_messages(self, **options: object) -> AsyncIterator[StorageMessage]:
        self.received.append(options)
        return self._pages()

    async def _pages(self) -> AsyncIterator[StorageMessage]:
        self.fetching.set()
        if self.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        if self.receive_error is not None:
            raise self.receive_error
        if not self.batches:
            if self.on_empty is not None:
                self.on_empty.set()
            return
        for message in self.batches.pop(0):
            yield message

    async def send_message(self, text: str) -> None:
        self.sent.append(text)

    async def delete_message(self, message: StorageMessage) -> None:
        if self.delete_error is not None:
            raise self.delete_error
        self.deleted.append(message.id)

    async def update_message(self, message: StorageMessage, visibility_timeout: int) -> None:
        self.updated.append((message.id, visibility_timeout))


def queue_spec(data_type: str | None = None) -> FunctionSpec:
    trigger = Binding("msg", "queueTrigger", "in", data_type, {"queueName": "jobs"})
    return FunctionSpec("worker", Path("/app/worker"), Path("/app/worker/__init__.py"), "main",
                        (trigger,), False)  # fmt: skip


OPTIONS = QueueOptions(max_dequeue_count=3, visibility_timeout=2.5, message_encoding="none")
FAILED = InvocationOutcome(False, error="boom")


def message(text: str = "hello", dequeue_count: int = 1, **fields: object) -> StorageMessage:
    return StorageMessage(
        content=text, id=f"m-{text}", pop_receipt="p", dequeue_count=dequeue_count, **fields
    )


def listener(
    invoker: FunctionInvoker,
    poison: bool = True,
    options: QueueOptions = OPTIONS,
    data_type: str | None = None,
    batches: list[list[StorageMessage]] | None = None,
) -> QueueListener:
    return QueueListener(
        spec=queue_spec(data_type),
        queue_name="jobs",
        queue=FakeQueue("jobs", batches),  # type: ignore[arg-type]
        poison=FakeQueue("jobs-poison") if poison else None,  # type: ignore[arg-type]
        options=options,
        invoker=invoker,
    )


def fakes(subject: QueueListener) -> tuple[FakeQueue, FakeQueue]:
    queue, poison = subject.queue, subject.poison or FakeQueue("none")
    assert isinstance(queue, FakeQueue)
    assert isinstance(poison, FakeQueue)
    return queue, poison


async def test_a_handled_message_is_invoked_with_its_text_and_deleted() -> None:
    invoker = ScriptedInvoker()
    subject = listener(invoker)
    await subject._process(message("hello", inserted_on=datetime(2026, 12, 1, tzinfo=UTC)))
    ((_, reason, inputs, metadata, details),) = invoker.calls
    assert reason == "New queue message detected on 'jobs'."
    assert inputs == {"msg": Text("hello")}
    assert metadata["QueueTrigger"] == Text("hello")
    assert details == (
        "Trigger Details: MessageId: m-hello, DequeueCount: 1, "
        "InsertedOn: 2026-12-01T00:00:00+00:00"
    )
    assert fakes(subject)[0].deleted == ["m-hello"]


async def test_base64_messages_are_decoded_and_binary_functions_get_bytes() -> None:
    invoker = ScriptedInvoker()
    subject = listener(invoker, options=QueueOptions(message_encoding="base64"), data_type="binary")
    await subject._process(message(base64.b64encode(b"\xffraw").decode()))
    assert invoker.calls[0].inputs == {"msg": Binary(b"\xffraw")}


async def test_a_failure_before_the_last_attempt_is_retried_after_the_visibility_timeout() -> None:
    subject = listener(ScriptedInvoker(FAILED))
    await subject._process(message(dequeue_count=2))
    queue, poison = fakes(subject)
    assert queue.updated == [("m-hello", 2)]  # whole seconds, as the REST API takes them
    assert (queue.deleted, poison.sent) == ([], [])


async def test_a_failure_on_the_last_attempt_moves_the_raw_text_to_poison(
    capsys: pytest.CaptureFixture[str],
) -> None:
    subject = listener(ScriptedInvoker(FAILED))
    await subject._process(message("last", dequeue_count=3))
    queue, poison = fakes(subject)
    assert (poison.created, poison.sent, queue.deleted) == (1, ["last"], ["m-last"])
    assert queue.updated == []
    assert "Message has reached MaxDequeueCount of 3. Moving message to queue 'jobs-poison'." in (
        capsys.readouterr().out
    )


async def test_an_existing_poison_queue_is_used() -> None:
    subject = listener(ScriptedInvoker(FAILED, FAILED))
    await subject._process(message("a", dequeue_count=3))
    await subject._process(message("b", dequeue_count=3))
    assert fakes(subject)[1].sent == ["a", "b"]


async def test_an_undecodable_message_goes_to_poison_without_an_invocation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invoker = ScriptedInvoker()
    subject = listener(invoker, options=QueueOptions(message_encoding="base64"))
    await subject._process(message("not base64!"))
    queue, poison = fakes(subject)
    assert invoker.calls == []
    assert (poison.sent, queue.deleted) == (["not base64!"], ["m-not base64!"])
    assert "Message decoding has failed! Check MessageEncoding settings." in (
        capsys.readouterr().out
    )


async def test_a_message_past_its_attempts_is_not_invoked_again() -> None:
    invoker = ScriptedInvoker()
    subject = listener(invoker)
    await subject._process(message("old", dequeue_count=4))
    assert invoker.calls == []
    assert fakes(subject)[1].sent == ["old"]


async def test_without_a_poison_queue_a_failure_stays_invisible(
    capsys: pytest.CaptureFixture[str],
) -> None:
    subject = listener(ScriptedInvoker(FAILED), poison=False)
    await subject._process(message(dequeue_count=1))
    queue = fakes(subject)[0]
    assert (queue.updated, queue.deleted, queue.sent) == ([], [], [])
    assert "Queue 'jobs' has no poison queue: message m-hello stays invisible" in (
        capsys.readouterr().out
    )


async def test_without_a_poison_queue_an_undecodable_message_stays_invisible() -> None:
    subject = listener(ScriptedInvoker(), poison=False, options=QueueOptions())
    await subject._process(message("%%%"))
    queue = fakes(subject)[0]
    assert (queue.deleted, queue.sent) == ([], [])


def not_found(code: str) -> ResourceNotFoundError:
    error = ResourceNotFoundError("gone")
    error.error_code = code
    return error


async def test_a_delete_that_already_took_effect_is_a_completion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    subject = listener(ScriptedInvoker())
    fakes(subject)[0].delete_error = not_found("MessageNotFound")
    leased = datetime.now(UTC) + timedelta(minutes=5)
    await subject._process(message(next_visible_on=leased))
    assert "an earlier try of this delete timed out but took effect" in capsys.readouterr().out


async def test_a_message_gone_after_its_lease_is_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    subject = listener(ScriptedInvoker())
    fakes(subject)[0].delete_error = not_found("MessageNotFound")
    await subject._process(message(next_visible_on=datetime.now(UTC) - timedelta(seconds=1)))
    assert "Warning: message m-hello was already gone when deleted" in capsys.readouterr().out


async def test_another_not_found_is_a_failed_completion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    subject = listener(ScriptedInvoker())
    fakes(subject)[0].delete_error = not_found("QueueNotFound")
    await subject._process(message())
    assert "Could not complete message m-hello: gone" in capsys.readouterr().out


async def test_ensure_queue_tolerates_an_existing_queue() -> None:
    subject = listener(ScriptedInvoker())
    await subject.ensure_queue()
    await subject.ensure_queue()
    assert fakes(subject)[0].created == 2


async def test_run_fetches_a_batch_handles_it_and_stops() -> None:
    invoker = ScriptedInvoker()
    options = QueueOptions(batch_size=4, message_encoding="none")
    subject = listener(invoker, options=options, batches=[[message("a"), message("b")]])
    queue = fakes(subject)[0]
    stopping = asyncio.Event()
    queue.on_empty = stopping  # stop once the queue is drained
    await asyncio.wait_for(subject.run(stopping), timeout=30)
    assert sorted(queue.deleted) == ["m-a", "m-b"]
    assert queue.received[0] == {
        "messages_per_page": 4,
        "max_messages": 4,
        "visibility_timeout": MESSAGE_LEASE_SECONDS,
    }


async def test_run_stops_during_a_hung_fetch() -> None:
    subject = listener(ScriptedInvoker())
    fakes(subject)[0].hang = True
    stopping = asyncio.Event()
    running = asyncio.create_task(subject.run(stopping))
    await fakes(subject)[0].fetching.wait()
    stopping.set()
    done, _ = await asyncio.wait({running}, timeout=10)
    assert running in done
    assert fakes(subject)[0].cancelled


async def test_a_failed_fetch_is_logged_and_polling_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    subject = listener(ScriptedInvoker())
    fakes(subject)[0].receive_error = ServiceRequestError("connection refused")
    assert await subject._fetch() == []
    assert "connection refused" in capsys.readouterr().out


def record_idle_waits(
    monkeypatch: pytest.MonkeyPatch, stopping: asyncio.Event, count: int
) -> list[float]:
    """Makes the listener's idle waits time out at once, recording their timeouts; sets
    `stopping` at the `count`th."""
    waits: list[float] = []

    async def no_wait(awaitable: Coroutine[Any, Any, Any], timeout: float) -> None:  # noqa: ASYNC109 (wait_for's signature)
        awaitable.close()
        waits.append(timeout)
        if len(waits) == count:
            stopping.set()
        raise TimeoutError

    monkeypatch.setattr(asyncio, "wait_for", no_wait)
    return waits


async def test_an_idle_queue_backs_off_doubling_up_to_the_maximum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subject = listener(ScriptedInvoker(), options=QueueOptions(max_polling_interval=0.5))
    stopping = asyncio.Event()
    waits = record_idle_waits(monkeypatch, stopping, 5)
    await subject.run(stopping)
    assert waits == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert len(fakes(subject)[0].received) == 5


async def test_a_batch_resets_the_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    subject = listener(ScriptedInvoker(), batches=[[], [], [message("a")]])
    stopping = asyncio.Event()
    waits = record_idle_waits(monkeypatch, stopping, 4)
    await subject.run(stopping)
    assert waits == [0.1, 0.2, 0.1, 0.2]
