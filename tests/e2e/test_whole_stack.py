"""The whole path with real processes: producer → Azurite queue → functions host → app → Twilio
emulator → signed callbacks → functions host → deliveries table and events queue."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import requests
from azure.storage.queue import QueueClient

from producer.client import Producer
from producer.errors import InvalidInputError

# Fixtures from conftest.py: `stack` (the running processes), `producer`, `wait`.
Stack = Any
Waiter = Any

SMS_FINAL = {"delivered", "undelivered", "failed", "rejected"}
CALL_FINAL = {"completed", "busy", "no-answer", "failed", "canceled", "rejected"}


def new_id(kind: str) -> str:
    """A request id no other test uses."""
    return f"e2e-{kind}-{uuid.uuid4().hex[:10]}"


def twilio_messages(stack: Stack, to: str) -> list[dict[str, Any]]:
    """Messages the Twilio emulator stored for recipient `to`."""
    messages: list[dict[str, Any]] = stack.twilio_inspect("messages")["messages"]
    return [m for m in messages if m["to"] == to]


def statuses(rows: list[dict[str, object]]) -> list[object]:
    """The status of each history row, oldest first."""
    return [row.get("status") for row in rows]


def poison_messages(producer: Producer, queue: str) -> list[Any]:
    """The poison queue's messages; none while the host has not created the poison queue yet
    (it records `failed` just before it moves the message)."""
    try:
        return producer.list_poison(queue).messages
    except InvalidInputError:
        return []


def events_for(producer: Producer, request_id: str) -> list[Any]:
    """The delivery events of one request on the events queue (consumed)."""
    return [e.event for e in producer.events() if e.event is not None and e.event.id == request_id]


def test_sms_is_delivered_once_with_every_status_recorded(
    stack: Stack, producer: Producer, wait: Waiter
) -> None:
    request_id, to = new_id("sms"), "+15551110001"
    producer.send_sms({"id": request_id, "to": to, "body": "Your code is 1234"})
    record = wait.final_state(request_id, SMS_FINAL)
    assert record.current is not None
    assert record.current["status"] == "delivered"
    assert str(record.current["twilio_sid"]).startswith("SM")
    record = wait.history_with(request_id, {"queued", "sent", "delivered"})
    assert statuses(record.history).count("delivered") == 1
    assert len(twilio_messages(stack, to)) == 1
    event_statuses = [e.status for e in events_for(producer, request_id)]
    assert event_statuses[-1] == "delivered", event_statuses


def test_same_request_twice_sends_one_message(
    stack: Stack, producer: Producer, wait: Waiter
) -> None:
    request_id, to = new_id("dup"), "+15551110002"
    producer.send_sms({"id": request_id, "to": to, "body": "once"})
    producer.send_sms({"id": request_id, "to": to, "body": "once"})
    wait.final_state(request_id, SMS_FINAL)
    # Both copies have been taken off the queue once the queue is empty again.
    queue = QueueClient.from_connection_string(
        stack.azurite.connection_string, stack.settings["SMS_QUEUE_NAME"]
    )
    wait.until(
        lambda: queue.get_queue_properties().approximate_message_count == 0,
        "the SMS queue to drain",
    )
    assert len(twilio_messages(stack, to)) == 1


def test_call_gather_digits_are_recorded(stack: Stack, producer: Producer, wait: Waiter) -> None:
    request_id, to = new_id("call"), "+15551110003"
    stack.twilio_control("callees", {"number": to, "digits": ["7"]})
    script = [
        {"type": "say", "text": "Hello & welcome <friend>"},
        {"type": "gather", "prompt": "Press 7 to confirm.", "num_digits": 1},
        {"type": "say", "text": "Thank you."},
        {"type": "hangup"},
    ]
    producer.place_call({"id": request_id, "to": to, "script": script})
    record = wait.final_state(request_id, CALL_FINAL)
    assert record.current is not None
    assert record.current["status"] == "completed"
    answers = [row["detail"] for row in record.history if isinstance(row.get("detail"), dict)]
    assert any(detail.get("digits") == "7" for detail in answers), record.history
    calls = stack.twilio_inspect(f"calls?to={to.replace('+', '%2B')}")["calls"]
    assert len(calls) == 1
    assert calls[0]["digits"] == ["7"]
    # The callee heard the text exactly, though TwiML had to escape it.
    spoken = [entry.get("text") for entry in calls[0]["transcript"]]
    assert "Hello & welcome <friend>" in spoken
    assert "Thank you." in spoken


def test_bad_input_is_rejected_and_recorded_without_retry(
    stack: Stack, producer: Producer, wait: Waiter
) -> None:
    request_id = new_id("bad")
    payload = json.dumps({"id": request_id, "to": "not-a-number", "body": "x"})
    queue = QueueClient.from_connection_string(
        stack.azurite.connection_string, stack.settings["SMS_QUEUE_NAME"]
    )
    queue.send_message(base64.b64encode(payload.encode()).decode())
    record = wait.final_state(request_id, SMS_FINAL)
    assert record.current is not None
    assert record.current["status"] == "rejected"
    assert "to" in str(record.current.get("error_message", "")).lower()
    assert record.current.get("attempts", 0) in (0, 1)
    assert twilio_messages(stack, "not-a-number") == []


def test_undecodable_message_is_recorded_as_rejected(
    stack: Stack, producer: Producer, wait: Waiter
) -> None:
    queue = QueueClient.from_connection_string(
        stack.azurite.connection_string, stack.settings["SMS_QUEUE_NAME"]
    )
    sent = queue.send_message(base64.b64encode(b"this is not json").decode())
    # Without an `id` the request id falls back to the queue message id.
    record = wait.final_state(sent.id, SMS_FINAL)
    assert record.current is not None
    assert record.current["status"] == "rejected"


def test_deeply_nested_requests_are_rejected_in_one_run(
    stack: Stack, producer: Producer, wait: Waiter
) -> None:
    # 10,000 levels (20 KB) exhaust Python's recursion in the JSON parser.
    deep = "[" * 10_000 + "]" * 10_000
    programs = {
        "SMS_QUEUE_NAME": '"body": "deep"',
        "CALL_QUEUE_NAME": '"script": [{"type": "say", "text": "deep"}]',
    }
    for setting, program in programs.items():
        request_id = new_id("deep")
        text = f'{{"id": "{request_id}", "to": "+15551110009", {program}, "metadata": {deep}}}'
        queue = QueueClient.from_connection_string(
            stack.azurite.connection_string, stack.settings[setting]
        )
        sent = queue.send_message(base64.b64encode(text.encode()).decode())
        # Unparsable, so the queue message id names the delivery; the history row comes last.
        record = wait.history_with(sent.id, {"rejected"})
        assert record.current is not None
        assert record.current["status"] == "rejected"
        assert "nests" in str(record.current.get("error_message", ""))
        assert statuses(record.history) == ["rejected"]
        assert [e.status for e in events_for(producer, sent.id)] == ["rejected"]
        poisoned = poison_messages(producer, stack.settings[setting])
        assert not [m for m in poisoned if request_id in (m.text or m.raw)]
    assert twilio_messages(stack, "+15551110009") == []


def test_429_from_twilio_is_retried_until_it_succeeds(
    stack: Stack, producer: Producer, wait: Waiter
) -> None:
    request_id, to = new_id("429"), "+15551110004"
    stack.twilio_control("faults", {"error_429": {"rate": 1.0, "count": 2}})
    producer.send_sms({"id": request_id, "to": to, "body": "retry me"})
    record = wait.final_state(request_id, SMS_FINAL)
    assert record.current is not None
    assert record.current["status"] == "delivered"
    assert int(str(record.current["attempts"])) >= 3
    assert len(twilio_messages(stack, to)) == 1


def test_permanent_twilio_error_fails_without_retry(
    stack: Stack, producer: Producer, wait: Waiter
) -> None:
    request_id = new_id("perm")
    # Twilio's magic To number +15005550002: 21612, the number cannot be reached.
    producer.send_sms({"id": request_id, "to": "+15005550002", "body": "never"})
    record = wait.final_state(request_id, SMS_FINAL)
    assert record.current is not None
    assert record.current["status"] == "failed"
    assert int(str(record.current["error_code"])) == 21612
    assert int(str(record.current["attempts"])) == 1


def test_poison_after_last_attempt_then_replay_succeeds(
    stack: Stack, producer: Producer, wait: Waiter
) -> None:
    request_id, to = new_id("poison"), "+15551110005"
    stack.twilio_control("faults", {"error_500": {"rate": 1.0, "count": 5}})
    producer.send_sms({"id": request_id, "to": to, "body": "eventually"})
    record = wait.final_state(request_id, {"failed"})
    assert record.current is not None
    assert int(str(record.current["attempts"])) == 5
    queue = stack.settings["SMS_QUEUE_NAME"]
    listing = wait.until(lambda: poison_messages(producer, queue), "the poison message")
    assert any(request_id in (m.text or m.raw) for m in listing)
    assert twilio_messages(stack, to) == []

    replayed = producer.replay_poison(queue)
    assert len(replayed) == 1
    record = wait.final_state(request_id, {"delivered"})
    assert len(twilio_messages(stack, to)) == 1
    assert producer.list_poison(queue).messages == []


def test_forged_callback_is_refused_and_changes_nothing(
    stack: Stack, producer: Producer, wait: Waiter
) -> None:
    request_id = new_id("forged")
    producer.send_sms({"id": request_id, "to": "+15551110006", "body": "hi"})
    wait.final_state(request_id, SMS_FINAL)
    # Every report Twilio sends for a delivered message is recorded before the forged ones.
    before = wait.history_with(request_id, {"queued", "sent", "delivered"})
    assert before.current is not None
    forged = {
        "MessageSid": before.current["twilio_sid"],
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "AccountSid": stack.settings["TWILIO_ACCOUNT_SID"],
    }
    url = f"{stack.host_url}/api/status_callback?rid={request_id}&channel=sms"
    for headers in ({"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, {}):
        response = requests.post(url, data=forged, headers=headers, timeout=10)
        assert response.status_code == 403
    after = producer.status(request_id)
    assert after.current is not None
    assert after.current["status"] == before.current["status"] == "delivered"
    assert len(after.history) == len(before.history)
