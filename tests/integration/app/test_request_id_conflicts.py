"""One request id names one request: a copy with another channel or other content is refused."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from shared.app_services import app_store
from shared.failure_classes import ClassifiedError


def _history_keys(rid: str) -> list[str]:
    return [row["RowKey"] for row in app_store().list_history(rid)]


def test_a_call_reusing_an_sms_id_is_refused_and_announced(
    app: Any, rid: str, caplog: pytest.LogCaptureFixture
) -> None:
    app.send_sms({"id": rid, "to": "+15551230001", "body": f"order {rid}"}, message_id="m-sms")
    before = app.wait_status(rid, "delivered")
    events_before = len(app.wait_events_until("delivered"))
    caplog.set_level(logging.INFO)
    call = {"id": rid, "to": "+15557654321", "twiml": "<Response><Say>hi</Say></Response>"}
    app.send_call(call | {"metadata": {"copy": "call"}}, message_id="m-call")  # no retry

    assert app.calls_for(rid) == []
    after = app_store().get_state(rid)
    assert (after.channel, after.status, after.twilio_sid, after.event_count) == (
        "sms",
        before.status,
        before.twilio_sid,
        before.event_count,
    )
    assert "h-conflict-m-call" in _history_keys(rid)
    conflicts = [e for e in app.events() if e["detail"].get("conflict")]
    assert len(app.events()) == events_before + 1
    (event,) = conflicts
    assert (event["channel"], event["status"], event["metadata"]) == (
        "call",
        "rejected",
        {"copy": "call"},
    )
    assert "sms request" in event["detail"]["reason"]
    warnings = [r for r in caplog.records if r.name.startswith("shared.")]
    assert any(r.levelno == logging.WARNING and "conflict" in r.getMessage() for r in warnings)
    assert not any("7654321" in r.getMessage() for r in caplog.records)

    app.send_call(call, message_id="m-call", dequeue=2)  # a redelivery: refused once only
    assert len(app.events()) == events_before + 1


def test_a_retry_sends_the_claimed_request_not_a_conflicting_copy(app: Any, rid: str) -> None:
    first = {"id": rid, "to": "+15551230001", "body": f"for A {rid}", "metadata": {"who": "A"}}
    other = {"id": rid, "to": "+15551230002", "body": f"for B {rid}", "metadata": {"who": "B"}}
    app.emulator("/_emulator/faults", {"error_429": {"rate": 1, "count": 1}})
    with pytest.raises(ClassifiedError):
        app.send_sms(first, message_id="A")
    app.send_sms(other, message_id="B")  # same id, other content: refused, no exception
    assert app.messages_for(rid) == []
    app.send_sms(first, message_id="A", dequeue=2)

    (message,) = app.messages_for(rid)
    assert (message["to"], message["body"]) == (first["to"], first["body"])
    state = app.wait_status(rid, "delivered")
    assert state.metadata == {"who": "A"}
    events = app.wait_events_until("delivered")
    refused = [e for e in events if e["detail"].get("conflict")]
    assert [e["metadata"] for e in refused] == [{"who": "B"}]
    assert all(e["metadata"] == {"who": "A"} for e in events if e not in refused)
    assert "h-conflict-B" in _history_keys(rid)


def test_a_copy_with_the_same_content_is_still_a_plain_duplicate(app: Any, rid: str) -> None:
    request = {"id": rid, "to": "+15551230001", "body": f"same {rid}", "metadata": {"n": 1}}
    app.send_sms(request, message_id="m-1")
    app.send_sms(dict(reversed(request.items())), message_id="m-2")
    assert len(app.messages_for(rid)) == 1
    assert not any(key.startswith("h-conflict") for key in _history_keys(rid))
