"""send_sms / send_call called through main(): bad input is recorded, never retried."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from azure.functions.queue import QueueMessage

import send_call
import send_sms
import twiml_voice
from shared import delivery_store, twilio_gateway
from shared.app_services import app_store
from shared.contracts import REQUEST_MAX_NESTING, SmsRequest
from shared.failure_classes import ClassifiedError, FailureClass, classify
from shared.twilio_gateway import TwilioRequestError
from tests.webhook_calls import call_webhook


def _message(body: bytes, message_id: str = "m-1", dequeue_count: int = 1) -> QueueMessage:
    return QueueMessage(id=message_id, body=body, dequeue_count=dequeue_count)


@pytest.mark.parametrize(
    ("function", "body", "reason"),
    [
        (send_sms, b"{not json", "not UTF-8 JSON"),
        (send_sms, b"\xff\xfe", "not UTF-8 JSON"),
        (send_sms, b"[1, 2]", "not a JSON object"),
        (send_sms, json.dumps({"id": "r-1", "to": "555", "body": "x"}).encode(), "to"),
        (
            send_sms,
            json.dumps({"id": "r-1", "to": "+15005550006", "body": "x" * 1601}).encode(),
            "body",
        ),
        (send_call, json.dumps({"id": "r-1", "to": "+15005550006"}).encode(), "exactly one"),
    ],
)
def test_bad_input_is_rejected_with_reason_payload_and_event(
    app_env: Any, read_events: Any, function: Any, body: bytes, reason: str
) -> None:
    function.main(_message(body))  # no exception: the host must not retry
    rid = "r-1" if b'"id"' in body else "m-1"
    state = app_store().get_state(rid)
    assert state is not None
    assert (state.status, state.failure_class) == ("rejected", "bad_input")
    assert reason in (state.error_message or "")
    (event,) = read_events()
    assert (event["id"], event["status"], event["sequence"]) == (rid, "rejected", 1)
    assert event["detail"]["raw_payload"] == body.decode("utf-8", errors="replace")
    assert event["channel"] == ("call" if function is send_call else "sms")


def test_a_request_without_id_uses_the_queue_message_id(app_env: Any, read_events: Any) -> None:
    body = json.dumps({"to": "bad", "body": "x"}).encode()
    send_sms.main(_message(body, message_id="queue-msg-7"))
    state = app_store().get_state("queue-msg-7")
    assert state is not None
    assert state.status == "rejected"


def test_scheduling_without_a_messaging_service_is_bad_input(app_env: Any) -> None:
    body = {"id": "s-1", "to": "+15005550006", "body": "x", "send_at": "2030-01-01T00:00:00Z"}
    send_sms.main(_message(json.dumps(body).encode()))
    state = app_store().get_state("s-1")
    assert state is not None
    assert state.status == "rejected"
    assert "Messaging Service" in (state.error_message or "")


def test_a_second_bad_copy_is_noted_but_changes_nothing(app_env: Any, read_events: Any) -> None:
    send_sms.main(_message(json.dumps({"id": "r-5", "to": "bad", "body": "x"}).encode(), "m-a"))
    send_sms.main(_message(json.dumps({"id": "r-5", "to": "+1", "body": ""}).encode(), "m-b"))
    state = app_store().get_state("r-5")
    assert state is not None
    assert state.status == "rejected"
    assert "body" not in (state.error_message or "")  # still the first copy's reason
    assert len(app_store().list_history("r-5")) == 2
    assert len(read_events()) == 1


def test_a_long_valid_script_is_stored_whole_and_served(app_env: Any, signed: Any) -> None:
    # Within the contract's caps, yet longer than one table property (64 KiB of UTF-16):
    # emoji take two UTF-16 units each, and the default voice is stored with the script. A
    # gather after each say keeps every TwiML document under Twilio's 64 KB.
    script: list[dict[str, Any]] = []
    for n in range(7):
        script += [{"type": "say", "text": f"step {n} " + "\U0001f600" * 3990}]
        script += [{"type": "gather", "num_digits": 1}]
    body = {"id": "long-1", "to": "+15005550006", "script": script, "voice": "v" * 3000}
    with pytest.raises(ClassifiedError) as caught:  # nothing listens at the Twilio URL
        send_call.main(_message(json.dumps(body).encode()))
    assert caught.value.failure_class == FailureClass.TRANSIENT
    state = app_store().get_state("long-1")
    assert state is not None
    assert state.script == {"steps": script, "voice": "v" * 3000, "language": None}
    url = "https://app.example.test/api/twiml_voice?rid=long-1"
    twiml = "".join(
        call_webhook(twiml_voice.main, signed("GET", f"{url}&step={start}")).get_body().decode()
        for start in range(0, len(script), 2)
    )
    assert all(step["text"] in twiml for step in script if step["type"] == "say")


def test_json_longer_than_a_property_round_trips_through_the_store(app_env: Any) -> None:
    program = {"steps": [{"type": "say", "text": "\u00e9\U0001f600" * 20_000}]}
    created = app_store().create_state(
        "big-1",
        {"channel": "call", "status": "sending", "status_source": "local", "script": program},
    )
    assert created is not None
    assert created.script == program
    state, _ = app_store().update_state("big-1", lambda s: {"attempts": 2})
    assert (state.script, state.attempts) == (program, 2)
    stored = app_store().get_state("big-1")
    assert stored is not None
    assert stored.script == program
    detail = {"raw_payload": "\U0001f600" * 40_000}
    assert app_store().add_history("big-1", "local-0-big", {"detail": detail})
    (row,) = app_store().list_history("big-1")
    assert json.loads(row["detail"]) == detail


def test_oversize_metadata_is_rejected_with_a_clear_reason(app_env: Any, read_events: Any) -> None:
    body = {"id": "meta-1", "to": "+15005550006", "body": "x", "metadata": {"b": "m" * 31_000}}
    send_sms.main(_message(json.dumps(body).encode()))  # no exception: not retried
    state = app_store().get_state("meta-1")
    assert state is not None
    assert (state.status, state.failure_class) == ("rejected", "bad_input")
    assert "metadata is longer than 8000 characters" in (state.error_message or "")
    (event,) = read_events()
    assert event["status"] == "rejected"


@pytest.mark.parametrize(
    ("http_status", "raised_class", "noted_class"),
    [
        (400, FailureClass.AMBIGUOUS, "ambiguous"),  # classed permanent for a create
        (429, FailureClass.AMBIGUOUS, "ambiguous"),  # transient would skip the next reconcile
        (401, FailureClass.CONFIGURATION, "configuration"),
    ],
)
def test_a_failed_reconcile_lookup_is_retried_not_a_verdict(
    app_env: Any,
    read_events: Any,
    leave_claim: Any,
    monkeypatch: pytest.MonkeyPatch,
    http_status: int,
    raised_class: FailureClass,
    noted_class: str,
) -> None:
    long_ago = delivery_store.now() - timedelta(minutes=10)
    # attempt 1's POST may have reached Twilio
    leave_claim("rc-1", at=long_ago, failure_class="ambiguous")

    def list_fails(**_: Any) -> list[Any]:
        failure = classify(None, http_status)
        raise TwilioRequestError(failure, f"list messages: HTTP {http_status}", None, http_status)

    monkeypatch.setattr(twilio_gateway, "find_messages", list_fails)
    body = json.dumps({"id": "rc-1", "to": "+15005550006", "body": "x"}).encode()
    with pytest.raises(ClassifiedError) as caught:
        send_sms.main(_message(body, "m-1", dequeue_count=2))
    assert caught.value.failure_class == raised_class
    state = app_store().get_state("rc-1")
    assert state is not None
    assert (state.status, state.failure_class, state.attempts) == ("sending", noted_class, 2)
    assert read_events() == []


def _deeply_nested(rid: str, depth: int, channel: str) -> bytes:
    """A request whose metadata nests `depth` arrays (10,000 levels is about 20 KB)."""
    program = '"body": "x"' if channel == "sms" else '"twiml": "<Response/>"'
    text = f'{{"id": "{rid}", "to": "+15005550006", {program}, "metadata": {{"k": '
    return (text + "[" * depth + "]" * depth + "}}").encode()


@pytest.mark.parametrize("function", [send_sms, send_call])
@pytest.mark.parametrize(
    ("depth", "rid", "reason"),
    [
        # Too deep for the parser: the id cannot be read, the queue message id stands in.
        (10_000, "m-1", "nests objects/arrays too deeply"),
        # Parsed, but deeper than the contract allows: named where.
        (300, "r-1", "deeper than 32 levels (at request.metadata.k.0.0"),
        (31, "r-1", "deeper than 32 levels (at request.metadata.k.0.0"),  # one level too deep
    ],
)
def test_deeply_nested_json_is_rejected_in_one_run(
    app_env: Any, read_events: Any, function: Any, depth: int, rid: str, reason: str
) -> None:
    channel = "call" if function is send_call else "sms"
    body = _deeply_nested("r-1", depth, channel)
    function.main(_message(body))  # no exception: rejected at once, never retried
    state = app_store().get_state(rid)
    assert state is not None
    assert (state.status, state.failure_class, state.channel) == ("rejected", "bad_input", channel)
    assert reason in (state.error_message or "")
    (event,) = read_events()
    assert (event["id"], event["status"], event["channel"]) == (rid, "rejected", channel)
    assert reason in event["detail"]["reason"]
    assert event["detail"]["raw_payload"] == body.decode()[:8000]
    function.main(_message(body, dequeue_count=2))  # a redelivery changes nothing
    assert len(read_events()) == 1


def test_metadata_nested_up_to_the_limit_is_accepted(app_env: Any) -> None:
    # The request object is level 1 and `metadata` level 2: 30 more levels fit.
    fits = REQUEST_MAX_NESTING - 2
    metadata = json.loads('{"k": ' + "[" * fits + "]" * fits + "}")
    request = SmsRequest.model_validate(
        {"id": "r-1", "to": "+15005550006", "body": "x", "metadata": metadata}
    )
    assert request.metadata == metadata


def test_an_integer_too_long_to_read_is_bad_input(app_env: Any, read_events: Any) -> None:
    body = (
        b'{"id": "r-1", "to": "+15005550006", "body": "x", "metadata": {"n": ' + b"9" * 5000 + b"}}"
    )
    send_sms.main(_message(body))  # Python refuses integers over 4300 digits: ValueError
    state = app_store().get_state("m-1")
    assert state is not None
    assert (state.status, state.failure_class) == ("rejected", "bad_input")
    assert "not UTF-8 JSON" in (state.error_message or "")
    (event,) = read_events()
    assert event["status"] == "rejected"
