"""A send whose report was cut short after Twilio created the Message is finished by the retry
and never sent again: when the state transaction failed (no SID stored), the retry reconciles;
when the event publish failed (state and history written), the retry publishes it again.

The faults are injected into the one call that fails (once); Azurite does the real work.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

import status_callback
from shared.app_services import app_recorder, app_store
from shared.process_state import reset_process_state
from shared.send_channel import SendOutcome
from shared.send_intake import QueueDelivery
from shared.send_pipeline import process
from shared.sms_sender import SMS


def _sms(rid: str) -> dict[str, Any]:
    return {"id": rid, "to": "+15551230001", "body": f"Unfinished report {rid}"}


def _history_keys(rid: str) -> list[str]:
    return [row["RowKey"].removeprefix("h-") for row in app_store().list_history(rid)]


def _fail_write_once(monkeypatch: pytest.MonkeyPatch, key: str) -> list[str]:
    """The state transaction of report `key` raises once (Azurite stalled): nothing written."""
    store = app_store()
    real_write = store.write_report
    failed: list[str] = []

    def write_report(state: Any, change: Any, row_key: str, history: Any) -> Any:
        if row_key == key and not failed:
            failed.append(row_key)
            raise ConnectionResetError(104, "Connection reset by peer")
        return real_write(state, change, row_key, history)

    monkeypatch.setattr(store, "write_report", write_report)
    return failed


def _fail_publish_once(monkeypatch: pytest.MonkeyPatch, status: str | None) -> list[str]:
    """The first publish of an event with `status` (None: any) raises once; the real publish
    otherwise."""
    publisher = app_recorder().publisher
    real_publish = publisher.publish
    failed: list[str] = []

    def publish(event: Any) -> None:
        if status in (None, event.status) and not failed:
            failed.append(event.status)
            raise ConnectionResetError(104, "Connection reset by peer")
        real_publish(event)

    monkeypatch.setattr(publisher, "publish", publish)
    return failed


def _no_callbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Status callbacks go to a closed port, so only the send path moves the delivery."""
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:9")
    reset_process_state()


def _queued_events(app: Any, rid: str) -> list[dict[str, Any]]:
    return [e for e in app.events() if e["id"] == rid and e["status"] == "queued"]


def _inject(monkeypatch: pytest.MonkeyPatch, fault: str) -> list[str]:
    if fault == "write":
        return _fail_write_once(monkeypatch, "local-1-created")
    return _fail_publish_once(monkeypatch, None)


@pytest.mark.parametrize(
    ("faults", "key"),
    [
        (["write"], "local-2-reconciled"),  # no SID stored: the retry finds the Message
        (["publish"], "local-1-created"),  # state and history written, the event not
        (["publish", "publish"], "local-1-created"),  # and the retry that finishes it fails too
        (["write", "publish"], "local-2-reconciled"),
    ],
)
def test_a_retry_finishes_the_report_of_a_send_cut_short(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch, faults: list[str], key: str
) -> None:
    _no_callbacks(monkeypatch)
    for attempt, fault in enumerate(faults, start=1):
        injected = _inject(monkeypatch, fault)
        with pytest.raises(ConnectionResetError):
            app.send_sms(_sms(rid), message_id="m-1", dequeue=attempt)
        assert injected, f"the {fault} fault did not fire on attempt {attempt}"
    app.send_sms(_sms(rid), message_id="m-1", dequeue=len(faults) + 1)
    app.send_sms(_sms(rid), message_id="m-2")  # a producer's duplicate copy: nothing new
    (message,) = app.messages_for(rid)
    sid = message["sid"]
    assert _history_keys(rid) == [key]
    (row,) = app_store().list_history(rid)
    # A reconcile records what Twilio says by then (the emulator may have moved it on).
    assert (row["twilio_sid"], row["applied"]) == (sid, True)
    assert row["status"] in ("queued", "sent", "delivered")
    events = [e for e in app.events() if e["id"] == rid]
    assert [(e["sequence"], e["status"], e["twilio_sid"]) for e in events] == [
        (1, row["status"], sid)
    ]
    state = app_store().get_state(rid)
    assert (state.status, state.event_count, state.twilio_sid) == (row["status"], 1, sid)


def test_a_retry_after_callbacks_moved_the_delivery_on_still_finishes_the_report(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Status callbacks wait until the first attempt has stored the SID (and failed), so the
    # send path's report applies first, as it usually does; then they move the delivery on.
    first_attempt_over = threading.Event()
    real_record = status_callback.record_status_callback

    def record_after_the_first_attempt(*args: Any) -> Any:
        assert first_attempt_over.wait(timeout=30), "the first attempt never ended"
        return real_record(*args)

    monkeypatch.setattr(status_callback, "record_status_callback", record_after_the_first_attempt)
    failed = _fail_publish_once(monkeypatch, "queued")
    try:
        with pytest.raises(ConnectionResetError):
            app.send_sms(_sms(rid), message_id="m-1")
    finally:
        first_attempt_over.set()
    assert failed == ["queued"]
    state = app.wait_status(rid, "delivered")  # the callbacks came before the retry
    app.send_sms(_sms(rid), message_id="m-1", dequeue=2)
    assert len(app.messages_for(rid)) == 1
    keys = _history_keys(rid)
    assert keys.count("local-1-created") == 1
    queued = [row for row in app_store().list_history(rid) if row["RowKey"] == "h-local-1-created"]
    assert (queued[0]["status"], queued[0]["twilio_sid"]) == ("queued", state.twilio_sid)
    events = app.wait_events_until("delivered")
    # The missed `queued` event is published late with its own sequence (1): consumers order by
    # sequence, so the delivery never seems to move backwards.
    assert [(e["sequence"], e["status"]) for e in events if e["sequence"] == 1] == [(1, "queued")]
    assert sorted(e["sequence"] for e in events) == list(range(1, len(events) + 1))
    assert app_store().get_state(rid).status == "delivered"


def test_the_last_attempt_finishes_the_report_instead_of_giving_up(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_callbacks(monkeypatch)
    failed = _fail_publish_once(monkeypatch, "queued")
    # No retry follows the last attempt: it finishes the report itself and ends without
    # an exception (the message was sent and recorded: nothing for `-poison`).
    app.send_sms(_sms(rid), message_id="m-1", dequeue=5)
    assert failed == ["queued"]
    state = app_store().get_state(rid)
    assert (state.status, state.status_source) == ("queued", "twilio")
    assert _history_keys(rid) == ["local-1-created"]
    (event,) = {(e["sequence"], e["status"]) for e in app.events()}
    assert event == (1, "queued")
    assert len(app.messages_for(rid)) == 1


def test_process_reports_a_finished_retry_as_a_duplicate(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_callbacks(monkeypatch)
    _fail_publish_once(monkeypatch, "queued")
    body = json.dumps(_sms(rid)).encode()
    with pytest.raises(ConnectionResetError):
        process(SMS, QueueDelivery("m-1", body, 1), app_recorder())
    assert _history_keys(rid) == ["local-1-created"]
    assert _queued_events(app, rid) == []
    assert process(SMS, QueueDelivery("m-1", body, 2), app_recorder()) == SendOutcome.DUPLICATE
    assert [e["sequence"] for e in _queued_events(app, rid)] == [1]
