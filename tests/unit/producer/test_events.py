"""Reading delivery events: each message parsed or explained; consumed only after the caller
handled it; peeking leaves the queue alone; following yields each message once."""

from __future__ import annotations

import itertools
import json

import pytest
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError

from producer.errors import StorageUnavailableError
from producer.events import CLAIM_SECONDS, PAGE_SIZE, follow_events, parse_event, read_events
from producer.queues import StorageQueues, encode_message_text
from shared.storage_connection import ConnectionString
from tests.fakes.queue_storage import FakeQueueService

QUEUE = "delivery-events"


def event(request_id: str, sequence: int = 1, status: str = "delivered") -> dict[str, object]:
    return {
        "id": request_id,
        "channel": "sms",
        "status": status,
        "twilio_sid": "SM" + "0" * 32,
        "at": "2026-11-28T23:00:00Z",
        "sequence": sequence,
    }


def put_events(service: FakeQueueService, *request_ids: str) -> None:
    for request_id in request_ids:
        service.put(QUEUE, encode_message_text(json.dumps(event(request_id))))


@pytest.fixture
def queues() -> StorageQueues:
    return StorageQueues(ConnectionString("UseDevelopmentStorage=true"))


def test_parse_event_accepts_events_and_explains_the_rest() -> None:
    good = parse_event("m1", None, encode_message_text(json.dumps(event("r1", 3))))
    assert good.event is not None
    assert (good.event.id, good.event.status, good.event.sequence) == ("r1", "delivered", 3)
    assert good.problem is None
    not_base64 = parse_event("m2", None, json.dumps(event("r1")))
    assert not_base64.event is None
    assert not_base64.problem == "not base64 of UTF-8 text"
    assert not_base64.text == json.dumps(event("r1"))
    not_event = parse_event("m3", None, encode_message_text('{"id": "r1"}'))
    assert not_event.event is None
    assert not_event.text == '{"id": "r1"}'
    assert not_event.problem is not None
    assert not_event.problem.startswith("not a delivery event (")


def test_reading_consumes_each_event_after_it_was_handled(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    put_events(queue_service, "r1", "r2")
    received = read_events(queues, QUEUE, delete=True)
    first = next(received)
    assert first.event is not None
    assert first.event.id == "r1"
    # Still on the queue (hidden) while the caller handles it.
    assert len(queue_service.queues[QUEUE]) == 2
    assert [item.event.id for item in received if item.event] == ["r2"]
    assert queue_service.queues[QUEUE] == []


def test_an_event_whose_handling_failed_is_not_deleted(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    put_events(queue_service, "r1")

    def handle_and_fail() -> None:
        for _ in read_events(queues, QUEUE, delete=True):
            raise RuntimeError("caller failed")

    with pytest.raises(RuntimeError):
        handle_and_fail()
    [kept] = queue_service.queues[QUEUE]
    assert kept.hidden  # back after the claim runs out
    assert queue_service.requests["delete_message"] == 0


def test_events_are_claimed_for_claim_seconds_a_page_at_a_time(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    put_events(queue_service, *(f"r{n}" for n in range(PAGE_SIZE + 5)))
    ids = [item.event.id for item in read_events(queues, QUEUE, delete=True) if item.event]
    assert ids == [f"r{n}" for n in range(PAGE_SIZE + 5)]
    page = {"messages_per_page": PAGE_SIZE, "max_messages": PAGE_SIZE, "visibility_timeout": 60}
    # Two pages of events, then an empty one ends the read.
    assert queue_service.receive_options == [page] * 3
    assert CLAIM_SECONDS == 60


def test_a_message_that_is_no_event_is_reported_and_consumed(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    queue_service.put(QUEUE, "not base64!")
    [item] = read_events(queues, QUEUE, delete=True)
    assert item.event is None
    assert item.problem == "not base64 of UTF-8 text"
    assert queue_service.queues[QUEUE] == []


def test_an_event_deleted_meanwhile_counts_as_consumed(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    put_events(queue_service, "r1", "r2")
    queue_service.failures["delete_message"].append(ResourceNotFoundError("gone"))
    ids = [item.event.id for item in read_events(queues, QUEUE, delete=True) if item.event]
    assert ids == ["r1", "r2"]


def test_a_failed_delete_is_a_storage_error(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    put_events(queue_service, "r1")
    queue_service.failures["delete_message"].append(ServiceRequestError("refused"))
    with pytest.raises(StorageUnavailableError, match="delete event msg-1 from queue"):
        list(read_events(queues, QUEUE, delete=True))


def test_peeking_leaves_the_queue_alone(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    put_events(queue_service, *(f"r{n}" for n in range(PAGE_SIZE + 1)))
    ids = [item.event.id for item in read_events(queues, QUEUE, delete=False) if item.event]
    assert ids == [f"r{n}" for n in range(PAGE_SIZE)]  # the first 32 only
    assert len(queue_service.queues[QUEUE]) == PAGE_SIZE + 1
    assert not any(message.hidden for message in queue_service.queues[QUEUE])
    assert queue_service.requests["receive_messages"] == 0


def test_reading_creates_a_missing_events_queue(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    assert list(read_events(queues, QUEUE, delete=False)) == []
    assert queue_service.queues[QUEUE] == []


def test_an_unreachable_queue_is_a_storage_error(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    put_events(queue_service, "r1")
    queue_service.failures["peek_messages"].append(ServiceRequestError("refused"))
    with pytest.raises(StorageUnavailableError, match=f"peek at queue '{QUEUE}'"):
        list(read_events(queues, QUEUE, delete=False))
    queue_service.failures["receive_messages"].append(ServiceRequestError("refused"))
    with pytest.raises(StorageUnavailableError, match=f"receive from queue '{QUEUE}'"):
        list(read_events(queues, QUEUE, delete=True))


def test_following_with_peek_yields_each_message_once(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    put_events(queue_service, "r1", "r2")
    followed = follow_events(queues, QUEUE, delete=False, interval=0)
    assert [item.event.id for item in itertools.islice(followed, 2) if item.event] == ["r1", "r2"]
    put_events(queue_service, "r3")
    third = next(followed)
    assert third.event is not None
    assert third.event.id == "r3"
    assert len(queue_service.queues[QUEUE]) == 3


def test_following_consumes_what_arrives_later(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    put_events(queue_service, "r1")
    followed = follow_events(queues, QUEUE, delete=True, interval=0)
    first = next(followed)
    assert first.event is not None
    put_events(queue_service, "r2")
    second = next(followed)
    assert second.event is not None
    assert second.event.id == "r2"
    [left] = queue_service.queues[QUEUE]  # r1 was deleted once the caller came back for more
    assert left.hidden
    assert left.id == second.message_id
