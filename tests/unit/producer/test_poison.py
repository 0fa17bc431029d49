"""Poison queues: listing changes nothing; a replay moves each message back as base64 and
deletes it from the poison queue only once it is on its source queue; what a replay looked at
and left is visible again at once; a mistyped queue name is reported, not shown as empty."""

from __future__ import annotations

import base64

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from producer.errors import InvalidInputError, StorageUnavailableError
from producer.poison import (
    HOLD_SECONDS,
    PAGE_SIZE,
    PoisonMessage,
    ReplayedMessage,
    list_poison,
    replay_poison,
    replay_text,
)
from producer.queues import StorageQueues, encode_message_text
from shared.storage_connection import ConnectionString
from tests.fakes.queue_storage import FakeQueueService

BINARY = base64.b64encode(b"\xff\xfe\x00binary").decode()
SOURCE = "sms-requests"
POISON = "sms-requests-poison"


@pytest.fixture
def queues() -> StorageQueues:
    return StorageQueues(ConnectionString("UseDevelopmentStorage=true"))


def poison(service: FakeQueueService, *texts: str) -> list[str]:
    """Put base64 messages of `texts` on the poison queue; their ids."""
    return [service.put(POISON, encode_message_text(text)).id for text in texts]


def test_replay_text_keeps_base64_messages_as_stored_and_encodes_plain_ones() -> None:
    encoded = encode_message_text('{"id": "a"}')
    from_base64 = PoisonMessage("m1", None, 1, encoded)
    assert replay_text(from_base64) == encoded
    assert from_base64.payload == {"id": "a"}
    wrapped = PoisonMessage("m2", None, 1, encoded[:8] + "\r\n" + encoded[8:])
    assert replay_text(wrapped) == wrapped.raw
    assert wrapped.payload == {"id": "a"}
    plain = PoisonMessage("m3", None, 1, '{"id": "b"}')
    assert replay_text(plain) == encode_message_text('{"id": "b"}')
    assert (plain.data, plain.text, plain.payload) == (None, None, None)


def test_binary_base64_is_told_apart_from_raw_text_and_replayed_unchanged() -> None:
    binary = PoisonMessage("m4", None, 1, BINARY)
    assert binary.data == b"\xff\xfe\x00binary"
    assert (binary.text, binary.payload) == (None, None)
    assert replay_text(binary) == BINARY


def test_text_that_is_not_json_has_no_payload() -> None:
    message = PoisonMessage("m5", None, 1, encode_message_text("hello"))
    assert (message.text, message.payload) == ("hello", None)


@pytest.mark.parametrize("name", [SOURCE, POISON])
def test_listing_peeks_at_the_poison_queue(
    name: str, queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    ids = poison(queue_service, '{"id": "a"}', "plain")
    listing = list_poison(queues, name)
    assert listing.queue == POISON
    assert listing.approximate_count == 2
    assert [message.message_id for message in listing.messages] == ids
    assert [message.payload for message in listing.messages] == [{"id": "a"}, None]
    assert listing.messages[0].dequeue_count == 0
    assert listing.messages[0].inserted_at is not None
    assert not any(message.hidden for message in queue_service.queues[POISON])
    assert queue_service.requests["create_queue"] == 0


def test_listing_shows_the_first_page_and_counts_all(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    poison(queue_service, *(f"m{n}" for n in range(PAGE_SIZE + 3)))
    listing = list_poison(queues, SOURCE)
    assert len(listing.messages) == PAGE_SIZE
    assert listing.approximate_count == PAGE_SIZE + 3


def test_a_missing_poison_queue_of_an_existing_queue_was_never_poisoned(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    queue_service.put(SOURCE, "x")
    with pytest.raises(InvalidInputError, match="nothing from 'sms-requests' was ever poisoned"):
        list_poison(queues, SOURCE)
    assert POISON not in queue_service.queues


def test_a_missing_queue_pair_is_most_likely_a_typo(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    with pytest.raises(InvalidInputError, match="nor does 'sms-requets': check the queue name"):
        list_poison(queues, "sms-requets")
    with pytest.raises(InvalidInputError, match="check the queue name"):
        replay_poison(queues, "sms-requets")
    assert queue_service.queues == {}


def test_replay_moves_every_message_back_in_order(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    texts = ['{"id": "a"}', '{"id": "b"}', "not json"]
    ids = poison(queue_service, *texts)
    queue_service.put(POISON, '{"id": "raw"}')  # a producer that forgot to encode
    replayed = replay_poison(queues, SOURCE)
    assert [message.poison_message_id for message in replayed][:3] == ids
    assert queue_service.queues[POISON] == []
    assert queue_service.contents(SOURCE) == [
        *(encode_message_text(text) for text in texts),
        encode_message_text('{"id": "raw"}'),
    ]
    source_ids = [message.id for message in queue_service.queues[SOURCE]]
    assert [message.new_message_id for message in replayed] == source_ids
    assert queue_service.requests["update_message"] == 0  # nothing was left to release


def test_replay_of_more_than_a_page(queues: StorageQueues, queue_service: FakeQueueService) -> None:
    poison(queue_service, *(f"m{n}" for n in range(PAGE_SIZE + 3)))
    assert len(replay_poison(queues, POISON)) == PAGE_SIZE + 3
    assert len(queue_service.queues[SOURCE]) == PAGE_SIZE + 3
    assert queue_service.receive_options[0] == {
        "messages_per_page": PAGE_SIZE,
        "max_messages": PAGE_SIZE,
        "visibility_timeout": HOLD_SECONDS,
    }
    assert queue_service.receive_options[1]["max_messages"] == 3  # only what was there


def test_replay_by_id_moves_that_message_and_leaves_the_others_visible(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    first, second, third = poison(queue_service, "a", "b", "c")
    assert replay_poison(queues, SOURCE, message_id=second) == [
        ReplayedMessage(second, queue_service.queues[SOURCE][0].id)
    ]
    assert queue_service.contents(SOURCE) == [encode_message_text("b")]
    assert [message.id for message in queue_service.queues[POISON]] == [first, third]
    assert not any(message.hidden for message in queue_service.queues[POISON])


def test_replay_of_an_unknown_id_is_bad_input_and_changes_nothing(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    poison(queue_service, "a", "b")
    with pytest.raises(InvalidInputError, match="--id: no message 'nope' on queue"):
        replay_poison(queues, SOURCE, message_id="nope")
    assert len(queue_service.queues[POISON]) == 2
    assert not any(message.hidden for message in queue_service.queues[POISON])
    assert SOURCE not in queue_service.queues  # created only for a message to put on it


def test_an_empty_poison_queue_replays_nothing_and_creates_nothing(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    queue_service.put(POISON, "x")
    queue_service.queues[POISON].clear()
    assert replay_poison(queues, SOURCE) == []
    assert SOURCE not in queue_service.queues


def test_messages_that_fail_again_meanwhile_are_not_replayed_in_a_loop(
    queues: StorageQueues, queue_service: FakeQueueService, monkeypatch: pytest.MonkeyPatch
) -> None:
    poison(queue_service, "a", "b")
    send = type(queue_service.get_queue_client(SOURCE)).send_message

    def fails_again(self: object, content: str, **options: object) -> object:
        # The host poisons the replayed message again at once.
        queue_service.put(POISON, content)
        return send(self, content, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(type(queue_service.get_queue_client(SOURCE)), "send_message", fails_again)
    assert len(replay_poison(queues, SOURCE)) == 2
    assert len(queue_service.queues[POISON]) == 2


def test_a_failed_send_keeps_the_message_on_the_poison_queue_visible(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    [message_id] = poison(queue_service, "a")
    queue_service.put(SOURCE, "existing")
    queue_service.failures["send_message"].append(HttpResponseError("Forbidden\n<xml/>"))
    with pytest.raises(StorageUnavailableError, match="replay queue 'sms-requests-poison'"):
        replay_poison(queues, SOURCE)
    [kept] = queue_service.queues[POISON]
    assert (kept.id, kept.hidden) == (message_id, False)
    assert queue_service.contents(SOURCE) == ["existing"]


def test_a_failed_send_leaves_the_rest_of_the_batch_visible(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    ids = poison(queue_service, "a", "b")
    queue_service.failures["send_message"].append(HttpResponseError("Forbidden\n<xml/>"))
    with pytest.raises(StorageUnavailableError):
        replay_poison(queues, SOURCE)
    assert [message.id for message in queue_service.queues[POISON]] == ids
    assert [message.hidden for message in queue_service.queues[POISON]] == [False, False]


def test_a_failed_delete_leaves_a_copy_on_both_queues_never_none(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    poison(queue_service, "a")
    queue_service.failures["delete_message"].append(ServiceRequestError("refused"))
    with pytest.raises(StorageUnavailableError, match="cannot reach Azure Storage"):
        replay_poison(queues, SOURCE)
    assert queue_service.contents(SOURCE) == [encode_message_text("a")]
    assert queue_service.contents(POISON) == [encode_message_text("a")]


def test_a_failed_release_is_left_to_the_hold_timeout(
    queues: StorageQueues, queue_service: FakeQueueService
) -> None:
    poison(queue_service, "a", "b")
    queue_service.failures["update_message"].append(ServiceRequestError("refused"))
    with pytest.raises(InvalidInputError, match="--id: no message"):
        replay_poison(queues, SOURCE, message_id="nope")
    hidden = [message.hidden for message in queue_service.queues[POISON]]
    assert hidden == [True, False]  # the first comes back after HOLD_SECONDS
