"""send_sms / send_call called through main(): bad input is recorded, never retried."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.functions.queue import QueueMessage

import send_call
import send_sms
from shared import delivery_store

LONG_BODY = json.dumps({"id": "r-1", "to": "+15005550006", "body": "x" * 1601}).encode()


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
    state = delivery_store.get_state(rid)
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
    state = delivery_store.get_state("queue-msg-7")
    assert state is not None
    assert state.status == "rejected"


def test_scheduling_without_a_messaging_service_is_bad_input(app_env: Any) -> None:
    body = {"id": "s-1", "to": "+15005550006", "body": "x", "send_at": "2030-01-01T00:00:00Z"}
    send_sms.main(_message(json.dumps(body).encode()))
    state = delivery_store.get_state("s-1")
    assert state is not None
    assert state.status == "rejected"
    assert "Messaging Service" in (state.error_message or "")


def test_a_second_bad_copy_is_noted_but_changes_nothing(app_env: Any, read_events: Any) -> None:
    send_sms.main(_message(json.dumps({"id": "r-5", "to": "bad", "body": "x"}).encode(), "m-a"))
    send_sms.main(_message(json.dumps({"id": "r-5", "to": "+1", "body": ""}).encode(), "m-b"))
    state = delivery_store.get_state("r-5")
    assert state is not None
    assert state.status == "rejected"
    assert "body" not in (state.error_message or "")  # still the first copy's reason
    assert len(delivery_store.list_history("r-5")) == 2
    assert len(read_events()) == 1
