"""The queue trigger metadata the stand-in sends decodes, through the same azure.functions
converter the runtime uses, into the QueueMessage fields a function reads."""

from __future__ import annotations

from datetime import UTC, datetime

from azure.functions.meta import Datum
from azure.functions.queue import QueueMessageInConverter
from azure.storage.queue import QueueMessage as StorageMessage

from emulators.functions_host.queue_listener import queue_trigger_metadata
from emulators.functions_host.rpc_values import Binary, Json, RpcValue, Text


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
