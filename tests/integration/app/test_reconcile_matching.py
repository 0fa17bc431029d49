"""Reconcile adopts only a Message that matches the request: body, media count, and it pages."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from shared import delivery_store, twilio_gateway
from shared.app_services import app_store
from shared.failure_classes import ClassifiedError

SENDER = "+15005550006"  # the app fixture's TWILIO_FROM_NUMBER


def _recipient() -> str:
    # The emulator is shared by the session: a number of this test's own.
    return f"+1555777{random.randrange(10_000):04d}"


def _unrecorded_message(to: str, body: str | None, media: list[str] | None, rid: str) -> str:
    """A Message no delivery recorded (as if an attempt created it and died)."""
    return twilio_gateway.create_message(
        to=to,
        from_=SENDER,
        messaging_service_sid=None,
        body=body,
        media_urls=media,
        status_callback=f"http://127.0.0.1:9/api/status_callback?rid={rid}&channel=sms",
        send_at=None,
        validity_period=None,
    ).sid


def _fail_then_retry(app: Any, request: dict[str, Any]) -> None:
    """Attempt 1 fails ambiguously (a 500 before Twilio stored anything); attempt 2 reconciles."""
    app.emulator("/_emulator/faults", {"error_500": {"rate": 1, "count": 1}})
    with pytest.raises(ClassifiedError):
        app.send_sms(request, message_id="m-1")
    app.send_sms(request, message_id="m-1", dequeue=2)


def test_a_media_only_request_does_not_adopt_a_text_message(app: Any, rid: str) -> None:
    to = _recipient()
    other = _unrecorded_message(to, "an unrelated text", None, "someone-else")
    _fail_then_retry(app, {"id": rid, "to": to, "media_urls": ["https://cdn.example.com/a.png"]})
    (message,) = app.messages_for(rid)
    state = app_store().get_state(rid)
    assert state.twilio_sid == message["sid"] != other


def test_a_message_with_other_media_is_not_adopted(app: Any, rid: str) -> None:
    to = _recipient()
    other = _unrecorded_message(to, f"hello {rid}", None, "someone-else")
    request = {
        "id": rid,
        "to": to,
        "body": f"hello {rid}",
        "media_urls": ["https://cdn.example.com/a.png"],
    }
    _fail_then_retry(app, request)
    (message,) = app.messages_for(rid)
    assert app_store().get_state(rid).twilio_sid == message["sid"] != other


def _claimed_a_minute_ago(leave_claim: Any, rid: str) -> None:
    """The state an attempt that may have reached Twilio left a minute ago."""
    earlier = delivery_store.now() - timedelta(minutes=1)
    leave_claim(rid, at=earlier, by="m-1", dequeue=1, failure_class="ambiguous")


def test_reconcile_pages_past_newer_messages(app: Any, rid: str, leave_claim: Any) -> None:
    to = _recipient()
    request = {"id": rid, "to": to, "body": f"code for {rid}"}
    _claimed_a_minute_ago(leave_claim, rid)
    created = _unrecorded_message(to, request["body"], None, rid)  # attempt 1 did send
    newer = twilio_gateway.RECONCILE_PAGE + 5
    for n in range(newer):
        _unrecorded_message(to, f"other {n}", None, f"{rid}-other")
    app.send_sms(request, message_id="m-1", dequeue=2)
    assert [m["sid"] for m in app.messages_for(rid)] == [created]
    assert app_store().get_state(rid).twilio_sid == created


def test_reconcile_reads_back_to_the_claim_behind_more_than_500_newer_messages(
    app: Any, rid: str, leave_claim: Any
) -> None:
    """A host killed mid-send, restarted with hundreds of newer sends to the same number: the
    earlier attempt's Message is found however deep it lies (a fixed cap of 500 sent it twice)."""
    to = _recipient()
    request = {"id": rid, "to": to, "body": f"code for {rid}"}
    _claimed_a_minute_ago(leave_claim, rid)
    created = _unrecorded_message(to, request["body"], None, rid)
    for n in range(600):
        _unrecorded_message(to, f"other {n}", None, f"{rid}-other")
    app.send_sms(request, message_id="m-1", dequeue=2)
    assert [m["sid"] for m in app.messages_for(rid)] == [created]
    assert app_store().get_state(rid).twilio_sid == created


def test_a_list_that_never_reaches_the_claim_time_is_ambiguous_and_sends_nothing(
    app: Any, rid: str, leave_claim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twilio_gateway, "RECONCILE_LIMIT", 80)
    to = _recipient()
    request = {"id": rid, "to": to, "body": f"code for {rid}"}
    _claimed_a_minute_ago(leave_claim, rid)
    for n in range(100):
        _unrecorded_message(to, f"other {n}", None, f"{rid}-other")
    with pytest.raises(ClassifiedError, match="without reaching the claim time") as raised:
        app.send_sms(request, message_id="m-1", dequeue=2)
    assert raised.value.failure_class == "ambiguous"
    assert app.messages_for(rid) == []
    assert app_store().get_state(rid).status == "sending"
