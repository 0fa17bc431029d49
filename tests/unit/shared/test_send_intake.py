"""`send_intake.parse`: a queue message becomes a valid request, or is recorded `rejected` once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.contracts import SmsRequest
from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_store import DeliveryStore
from shared.send_channel import DeliveryEnded, SendOutcome
from shared.send_intake import MAX_RAW_PAYLOAD_CHARS, QueueDelivery, parse
from tests.fakes.app_settings import settings_for_test
from tests.fakes.senders import queued, sms_request, sms_sender
from tests.fakes.table_storage import FakeTable, ListPublisher


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from settings_for_test(monkeypatch)


@pytest.fixture
def recorder(published: ListPublisher) -> DeliveryRecorder:
    return DeliveryRecorder(DeliveryStore(FakeTable()), published)


def _rejected(recorder: DeliveryRecorder, delivery: QueueDelivery) -> str:
    """Parse `delivery`, expecting a rejection; the reason recorded."""
    with pytest.raises(DeliveryEnded) as ended:
        parse(recorder, sms_sender(), delivery)
    assert ended.value.outcome == SendOutcome.REJECTED
    rid = delivery.message_id
    state = recorder.store.get_state(rid) or recorder.store.get_state("r-1")
    assert state is not None
    assert state.status == "rejected"
    return state.error_message or ""


def test_a_valid_request_is_returned_as_its_model(recorder: DeliveryRecorder) -> None:
    request = parse(recorder, sms_sender(), queued(sms_request(metadata={"a": [1]})))
    assert isinstance(request, SmsRequest)
    assert (request.id, request.to, request.metadata) == ("r-1", "+15551230001", {"a": [1]})
    assert recorder.store.get_state("r-1") is None  # parsing records nothing


def test_a_byte_order_mark_is_not_part_of_the_json(recorder: DeliveryRecorder) -> None:
    body = b"\xef\xbb\xbf" + b'{"id": "r-1", "to": "+15551230001", "body": "hi"}'
    request = parse(recorder, sms_sender(), queued(None, raw=body))
    assert request.id == "r-1"


def test_without_an_id_the_queue_message_id_stands_in(recorder: DeliveryRecorder) -> None:
    payload = {"to": "+15551230001", "body": "hi"}
    assert parse(recorder, sms_sender(), queued(payload, "msg-7")).id == "msg-7"


def test_the_channels_own_check_rejects_with_its_reason(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    sender = sms_sender(refuse="send_at needs a Messaging Service")
    with pytest.raises(DeliveryEnded):
        parse(recorder, sender, queued(sms_request()))
    state = recorder.store.get_state("r-1")
    assert state is not None
    assert (state.status, state.error_message) == ("rejected", "send_at needs a Messaging Service")
    (event,) = published.events
    assert event.detail["reason"] == "send_at needs a Messaging Service"


def test_a_validation_reason_names_each_field(recorder: DeliveryRecorder) -> None:
    reason = _rejected(recorder, queued({"id": "r-1", "to": "12", "body": "", "x": 1}))
    assert "to: " in reason
    assert "body: " in reason
    assert "x: Extra inputs are not permitted" in reason


def test_an_invalid_id_falls_back_to_the_queue_message_id(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    with pytest.raises(DeliveryEnded):
        parse(recorder, sms_sender(), queued({"id": "~sid", "to": "x"}, "msg-3"))
    assert recorder.store.get_state("~sid") is None
    state = recorder.store.get_state("msg-3")
    assert state is not None
    assert state.status == "rejected"
    assert [e.id for e in published.events] == ["msg-3"]


def test_an_integer_too_long_to_read_is_bad_input(recorder: DeliveryRecorder) -> None:
    body = b'{"id": "r-1", "to": "+15551230001", "body": "x", "metadata": {"n": ' + b"9" * 5000
    reason = _rejected(recorder, queued(None, raw=body + b"}}", message_id="msg-1"))
    assert reason.startswith("not UTF-8 JSON")


def test_the_raw_payload_is_kept_cut_to_its_limit(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    body = b"x" * (MAX_RAW_PAYLOAD_CHARS + 500)
    _rejected(recorder, queued(None, raw=body))
    (event,) = published.events
    assert event.detail["raw_payload"] == "x" * MAX_RAW_PAYLOAD_CHARS
    history = recorder.store.list_history("msg-1")
    assert [row["RowKey"] for row in history] == ["h-local-0-rejected"]


def test_a_bad_copy_of_a_known_id_is_noted_in_its_history_only(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    assert recorder.store.create_state(
        "r-1", {"channel": "sms", "status": "sending", "status_source": "local"}
    )
    with pytest.raises(DeliveryEnded):
        parse(recorder, sms_sender(), queued({"id": "r-1", "to": "bad"}, "msg-9"))
    state = recorder.store.get_state("r-1")
    assert state is not None
    assert state.status == "sending"
    assert published.events == []
    (row,) = recorder.store.list_history("r-1")
    assert (row["RowKey"], row["status"], row["applied"]) == (
        "h-local-rejected-msg-9",
        "rejected",
        False,
    )


def test_a_redelivered_bad_message_is_not_noted_as_a_copy_of_itself(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    for dequeue_count in (1, 2):
        with pytest.raises(DeliveryEnded):
            parse(
                recorder, sms_sender(), queued(None, raw=b"not json", dequeue_count=dequeue_count)
            )
    assert len(published.events) == 1
    keys = [row["RowKey"] for row in recorder.store.list_history("msg-1")]
    assert keys == ["h-local-0-rejected"]
