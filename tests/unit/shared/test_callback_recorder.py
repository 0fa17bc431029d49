"""`record_status_callback` over an in-memory table: which fields are read per channel, the shape
checks that keep an altered callback out, unknown deliveries, opt-outs and the event detail."""

from __future__ import annotations

import pytest

from shared.callback_recorder import record_status_callback
from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_report import RecordOutcome
from shared.delivery_store import OPT_OUT_PARTITION, DeliveryState, DeliveryStore, now
from tests.fakes.senders import call_sid, message_sid
from tests.fakes.table_storage import FakeTable, ListPublisher

SMS_SID = message_sid(1)
CALL_SID = call_sid(1)


@pytest.fixture
def recorder(table: FakeTable, published: ListPublisher) -> DeliveryRecorder:
    recorder = DeliveryRecorder(DeliveryStore(table), published)
    for rid, channel in (("r-sms", "sms"), ("r-call", "call")):
        created = recorder.store.create_state(
            rid,
            {
                "channel": channel,
                "status": "sending",
                "status_source": "local",
                "event_count": 0,
                "created_at": now(),
            },
        )
        assert created is not None
    table.requests.clear()
    return recorder


def _state(recorder: DeliveryRecorder, rid: str) -> DeliveryState:
    state = recorder.store.get_state(rid)
    assert state is not None
    return state


def test_an_sms_callback_is_recorded_with_its_key_and_detail(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    form = {"MessageSid": SMS_SID, "MessageStatus": "sent", "NumSegments": "2", "To": "+1555"}
    assert record_status_callback(recorder, "r-sms", "sms", form) == RecordOutcome.APPLIED
    state = _state(recorder, "r-sms")
    assert (state.status, state.status_source, state.twilio_sid) == ("sent", "twilio", SMS_SID)
    (row,) = recorder.store.list_history("r-sms")
    assert row["RowKey"] == f"h-cb-{SMS_SID}-sent-x"
    (event,) = published.events
    assert (event.status, event.detail) == ("sent", {"num_segments": "2"})
    # Twilio retries a callback it thinks failed: the repeat changes nothing.
    assert record_status_callback(recorder, "r-sms", "sms", form) == RecordOutcome.DUPLICATE
    assert len(published.events) == 1


def test_the_legacy_sms_fields_are_read_too(recorder: DeliveryRecorder) -> None:
    form = {"SmsSid": SMS_SID, "SmsStatus": "delivered"}
    assert record_status_callback(recorder, "r-sms", "sms", form) == RecordOutcome.APPLIED
    assert _state(recorder, "r-sms").status == "delivered"


def test_a_call_callback_carries_its_sequence_and_detail(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    form = {
        "CallSid": CALL_SID,
        "CallStatus": "completed",
        "SequenceNumber": "3",
        "CallDuration": "42",
        "AnsweredBy": "human",
    }
    # Without a channel in the URL, a CallStatus field means a call.
    assert record_status_callback(recorder, "r-call", None, form) == RecordOutcome.APPLIED
    state = _state(recorder, "r-call")
    assert (state.status, state.sequence, state.twilio_sid) == ("completed", 3, CALL_SID)
    assert recorder.store.list_history("r-call")[0]["RowKey"] == f"h-cb-{CALL_SID}-completed-3"
    assert published.events[0].detail == {"duration": "42", "answered_by": "human"}


def test_an_error_code_that_is_not_a_number_is_dropped(recorder: DeliveryRecorder) -> None:
    form = {
        "MessageSid": SMS_SID,
        "MessageStatus": "failed",
        "ErrorCode": "oops",
        "ErrorMessage": "",
    }
    assert record_status_callback(recorder, "r-sms", "sms", form) == RecordOutcome.APPLIED
    state = _state(recorder, "r-sms")
    assert (state.status, state.error_code, state.error_message) == ("failed", None, None)


@pytest.mark.parametrize(
    ("channel", "form"),
    [
        ("sms", {"MessageStatus": "sent"}),
        ("sms", {"MessageSi": "d" + SMS_SID, "MessageStatus": "sent"}),
        ("sms", {"MessageSid": SMS_SID, "SmsSid": message_sid(2), "MessageStatus": "sent"}),
        ("sms", {"MessageSid": CALL_SID, "MessageStatus": "sent"}),
        ("call", {"CallSid": CALL_SID, "CallStatus": "completed", "SequenceNumbe": "r3"}),
        ("call", {"CallSid": SMS_SID, "CallStatus": "completed", "SequenceNumber": "1"}),
    ],
    ids=["no-sid", "shifted-name", "sids-differ", "call-sid", "no-sequence", "message-sid"],
)
def test_a_callback_without_twilios_shape_writes_nothing(
    recorder: DeliveryRecorder,
    table: FakeTable,
    published: ListPublisher,
    channel: str,
    form: dict[str, str],
) -> None:
    assert record_status_callback(recorder, f"r-{channel}", channel, form) == RecordOutcome.IGNORED
    assert table.requests == {}
    assert published.events == []


def test_without_rid_or_status_nothing_is_asked_of_storage(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    sent = {"MessageSid": SMS_SID, "MessageStatus": "sent"}
    assert record_status_callback(recorder, None, "sms", sent) == RecordOutcome.NOT_FOUND
    assert record_status_callback(recorder, "", "sms", sent) == RecordOutcome.NOT_FOUND
    no_status = {"MessageSid": SMS_SID}
    assert record_status_callback(recorder, "r-sms", "sms", no_status) == RecordOutcome.IGNORED
    assert table.requests == {}


def test_an_unknown_request_is_not_found(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    form = {"MessageSid": SMS_SID, "MessageStatus": "sent"}
    assert record_status_callback(recorder, "nobody", "sms", form) == RecordOutcome.NOT_FOUND
    assert sum(table.requests.values()) == 1  # the state read, nothing written
    assert published.events == []


def test_an_opt_out_flags_the_recipient(recorder: DeliveryRecorder, table: FakeTable) -> None:
    form = {
        "MessageSid": SMS_SID,
        "MessageStatus": "failed",
        "ErrorCode": "21610",
        "To": "+15551230001",
    }
    assert record_status_callback(recorder, "r-sms", "sms", form) == RecordOutcome.APPLIED
    row = table.rows[(OPT_OUT_PARTITION, "+15551230001")]
    assert (row["opted_out"], row["error_code"], row["request_id"]) == (True, 21610, "r-sms")
    # Not for an unknown request: nothing of it is recorded.
    table.rows.pop((OPT_OUT_PARTITION, "+15551230001"))
    assert record_status_callback(recorder, "nobody", "sms", form) == RecordOutcome.NOT_FOUND
    assert (OPT_OUT_PARTITION, "+15551230001") not in table.rows


def test_an_opt_out_without_a_recipient_flags_nobody(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    form = {"MessageSid": SMS_SID, "MessageStatus": "failed", "ErrorCode": "21610"}
    assert record_status_callback(recorder, "r-sms", "sms", form) == RecordOutcome.APPLIED
    assert [key for key in table.rows if key[0] == OPT_OUT_PARTITION] == []
