"""`EventsPublisher` over a fake `QueueClient`: one message per event, JSON as in the schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.contracts import DeliveryEvent
from shared.events_publisher import EventsPublisher


class FakeQueue:
    """The one `QueueClient` method the publisher calls; `failures` are raised first."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.failures: list[Exception] = []

    def send_message(self, content: str) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.messages.append(content)


def _event(**fields: object) -> DeliveryEvent:
    values: dict[str, object] = {
        "id": "r-1",
        "channel": "sms",
        "status": "delivered",
        "twilio_sid": "SM" + "b" * 32,
        "at": datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
        "sequence": 2,
        "metadata": {"order": 12, "ü": "é"},
        "detail": {"source": "poll"},
    }
    return DeliveryEvent.model_validate({**values, **fields})


def test_each_event_is_one_json_message_in_schema_form() -> None:
    queue = FakeQueue()
    publisher = EventsPublisher(queue)  # type: ignore[arg-type]
    publisher.publish(_event())
    publisher.publish(_event(status="read", sequence=3))
    assert len(queue.messages) == 2
    first = json.loads(queue.messages[0])
    assert first == {
        "id": "r-1",
        "channel": "sms",
        "status": "delivered",
        "twilio_sid": "SM" + "b" * 32,
        "error_code": None,
        "error_message": None,
        "at": "2026-03-01T08:30:00Z",
        "sequence": 2,
        "metadata": {"order": 12, "ü": "é"},
        "detail": {"source": "poll"},
    }
    assert DeliveryEvent.model_validate_json(queue.messages[1]) == _event(status="read", sequence=3)


def test_a_failed_put_is_raised_to_the_caller() -> None:
    queue = FakeQueue()
    queue.failures.append(ConnectionResetError(104, "reset"))
    with pytest.raises(ConnectionResetError):
        EventsPublisher(queue).publish(_event())  # type: ignore[arg-type]
    assert queue.messages == []
