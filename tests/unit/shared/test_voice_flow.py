"""`voice_twiml` over an in-memory table: the twimlet form, a stored script from its step, Gather
answers recorded as news (and not stopping the script when recording fails), the apology."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core.exceptions import ServiceRequestError

from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_store import DeliveryStore, now
from shared.twiml_render import UNKNOWN_REQUEST_TEXT
from shared.voice_flow import voice_twiml
from tests.fakes.app_settings import PUBLIC_BASE_URL, settings_for_test
from tests.fakes.senders import call_sid
from tests.fakes.table_storage import FakeTable, ListPublisher

SID = call_sid(7)
SCRIPT = {
    "steps": [
        {"type": "say", "text": "Press one to confirm"},
        {"type": "gather", "num_digits": 1},
        {"type": "say", "text": "Thank you"},
    ],
    "voice": "alice",
    "language": None,
}


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from settings_for_test(monkeypatch)


@pytest.fixture
def recorder(table: FakeTable, published: ListPublisher) -> DeliveryRecorder:
    recorder = DeliveryRecorder(DeliveryStore(table), published)
    created = recorder.store.create_state(
        "c-1",
        {
            "channel": "call",
            "status": "in-progress",
            "status_source": "twilio",
            "twilio_sid": SID,
            "event_count": 2,
            "created_at": now(),
            "script": SCRIPT,
        },
    )
    assert created is not None
    return recorder


def _keys(recorder: DeliveryRecorder) -> list[str]:
    return [str(row["RowKey"]) for row in recorder.store.list_history("c-1")]


def test_without_rid_the_twimlet_form_is_rendered(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    table.requests.clear()
    twiml = voice_twiml(recorder, None, None, [("Message", "Hello there")], {})
    assert "<Say>Hello there</Say>" in twiml
    assert table.requests == {}


def test_the_script_is_served_from_its_step_with_its_continuation_url(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    twiml = voice_twiml(recorder, "c-1", None, [], {"CallSid": SID})
    assert '<Say voice="alice">Press one to confirm</Say>' in twiml
    assert f'action="{PUBLIC_BASE_URL}/api/twiml_voice?rid=c-1&amp;step=2"' in twiml
    assert "Thank you" not in twiml  # the gather waits for the answer
    rest = voice_twiml(recorder, "c-1", "2", [], {"CallSid": SID})
    assert '<Say voice="alice">Thank you</Say>' in rest
    assert "Press one" not in rest
    assert published.events == []  # serving records nothing


def test_an_answer_is_recorded_as_news_and_the_script_goes_on(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    form = {"CallSid": SID, "CallStatus": "in-progress", "Digits": "1"}
    twiml = voice_twiml(recorder, "c-1", "2", [], form)
    assert "Thank you" in twiml
    assert _keys(recorder) == [f"h-answer-1-{SID}"]
    (event,) = published.events
    assert (event.status, event.sequence) == ("in-progress", 3)
    assert event.detail == {"step": 1, "digits": "1", "reported_status": "in-progress"}
    # Twilio retries the same POST: recorded once.
    voice_twiml(recorder, "c-1", "2", [], form)
    assert len(published.events) == 1


def test_a_recording_is_recorded_like_digits(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    form = {"CallSid": SID, "RecordingUrl": "https://api.twilio.com/rec/RE1"}
    voice_twiml(recorder, "c-1", "2", [], form)
    assert published.events[0].detail["recording_url"] == "https://api.twilio.com/rec/RE1"


def test_a_failure_to_record_the_answer_does_not_stop_the_script(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    published.failures.append(ConnectionResetError(104, "reset"))
    twiml = voice_twiml(recorder, "c-1", "2", [], {"CallSid": SID, "Digits": "1"})
    assert "Thank you" in twiml
    assert UNKNOWN_REQUEST_TEXT not in twiml


def test_digits_at_step_zero_record_nothing(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    voice_twiml(recorder, "c-1", "0", [], {"CallSid": SID, "Digits": "1"})
    assert published.events == []
    assert _keys(recorder) == []


def test_an_unknown_rid_gets_the_apology_and_nothing_is_recorded(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    twiml = voice_twiml(recorder, "nobody", None, [], {"CallSid": SID})
    assert UNKNOWN_REQUEST_TEXT in twiml
    assert "<Hangup />" in twiml
    assert published.events == []
    assert not any(key[0] == "nobody" for key in table.rows)


def test_storage_down_gets_the_apology(recorder: DeliveryRecorder, table: FakeTable) -> None:
    table.failures.append(ServiceRequestError("storage unreachable"))
    assert UNKNOWN_REQUEST_TEXT in voice_twiml(recorder, "c-1", None, [], {"CallSid": SID})


@pytest.mark.parametrize(
    ("step", "key_step", "reason"),
    [
        ("abc", "bad", "no script for this step"),
        ("9", "9", "step 9 is beyond the script"),
        ("-1", "bad", "step -1 is beyond the script"),
    ],
)
def test_a_step_that_cannot_be_served_gets_the_apology_recorded_as_news(
    recorder: DeliveryRecorder,
    published: ListPublisher,
    step: str,
    key_step: str,
    reason: str,
) -> None:
    twiml = voice_twiml(recorder, "c-1", step, [], {"CallSid": SID, "CallStatus": "in-progress"})
    assert UNKNOWN_REQUEST_TEXT in twiml
    assert _keys(recorder) == [f"h-apology-{key_step}-{SID}"]
    (event,) = published.events
    assert event.detail["reason"] == f"apology served: {reason}"
    assert event.detail["step"] == step


def test_a_call_without_a_script_gets_the_apology(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    assert recorder.store.create_state(
        "c-2", {"channel": "call", "status": "queued", "status_source": "twilio"}
    )
    assert UNKNOWN_REQUEST_TEXT in voice_twiml(recorder, "c-2", None, [], {})
    (event,) = published.events
    assert (event.id, event.detail["reason"]) == ("c-2", "apology served: no script for this step")
    assert [row["RowKey"] for row in recorder.store.list_history("c-2")] == ["h-apology-0-nosid"]
