"""A send whose report was cut short after the SID was stored (the history insert or the event
publish failed) is finished by the retry, exactly once, and never sent again.

The faults are injected into the one store call that fails (once); Azurite does the real work.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

import status_callback
from shared import delivery_recorder, delivery_store
from shared.process_state import reset_process_state
from shared.send_pipeline import QueueDelivery, SendOutcome, process
from shared.sms_sender import SMS


def _sms(rid: str) -> dict[str, Any]:
    return {"id": rid, "to": "+15551230001", "body": f"Unfinished report {rid}"}


def _history_keys(rid: str) -> list[str]:
    return [row["RowKey"].removeprefix("h-") for row in delivery_store.list_history(rid)]


def _fail_history_once(monkeypatch: pytest.MonkeyPatch, key: str) -> list[str]:
    """`add_history` of `key` raises once (Azurite stalled); the real insert runs otherwise."""
    real_add = delivery_store.add_history
    failed: list[str] = []

    def add_history(request_id: str, row_key: str, properties: Any) -> bool:
        if row_key == key and not failed:
            failed.append(row_key)
            raise ConnectionResetError(104, "Connection reset by peer")
        return real_add(request_id, row_key, properties)

    monkeypatch.setattr(delivery_store, "add_history", add_history)
    return failed


def _fail_publish_once(monkeypatch: pytest.MonkeyPatch, status: str) -> list[str]:
    """The first publish of an event with `status` raises once; the real publish otherwise."""
    real_publish = delivery_recorder.publish
    failed: list[str] = []

    def publish(event: Any) -> None:
        if event.status == status and not failed:
            failed.append(event.status)
            raise ConnectionResetError(104, "Connection reset by peer")
        real_publish(event)

    monkeypatch.setattr(delivery_recorder, "publish", publish)
    return failed


def _no_callbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Status callbacks go to a closed port, so only the send path moves the delivery."""
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:9")
    reset_process_state()


def _queued_events(app: Any, rid: str) -> list[dict[str, Any]]:
    return [e for e in app.events() if e["id"] == rid and e["status"] == "queued"]


def _inject(monkeypatch: pytest.MonkeyPatch, fault: str) -> list[str]:
    if fault == "history":
        return _fail_history_once(monkeypatch, "local-1-created")
    return _fail_publish_once(monkeypatch, "queued")


@pytest.mark.parametrize(
    "faults",
    [
        ["history"],  # the event went out, the history row did not
        ["publish"],  # neither went out
        ["publish", "history"],  # and the retry that finishes it fails too
        ["history", "publish"],
    ],
)
def test_a_retry_finishes_the_report_of_a_send_cut_short(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch, faults: list[str]
) -> None:
    _no_callbacks(monkeypatch)
    for attempt, fault in enumerate(faults, start=1):
        injected = _inject(monkeypatch, fault)
        with pytest.raises(ConnectionResetError):
            app.send_sms(_sms(rid), message_id="m-1", dequeue=attempt)
        assert injected, f"the {fault} fault did not fire on attempt {attempt}"
        assert delivery_store.get_state(rid).twilio_sid is not None
    sid = delivery_store.get_state(rid).twilio_sid
    retry = len(faults) + 1
    app.send_sms(_sms(rid), message_id="m-1", dequeue=retry)
    app.send_sms(_sms(rid), message_id="m-1", dequeue=retry + 1)  # a later retry: nothing new
    app.send_sms(_sms(rid), message_id="m-2")  # nor a producer's duplicate copy
    assert [m["sid"] for m in app.messages_for(rid)] == [sid]
    assert _history_keys(rid) == ["local-1-created"]
    (row,) = delivery_store.list_history(rid)
    assert (row["status"], row["twilio_sid"], row["applied"]) == ("queued", sid, True)
    events = _queued_events(app, rid)
    # At least once, always the same report: consumers tolerate a repeated sequence. Each run
    # whose publish succeeded before its history insert failed published it once more.
    assert {(e["sequence"], e["twilio_sid"]) for e in events} == {(1, sid)}
    assert len(events) == 1 + faults.count("history")
    state = delivery_store.get_state(rid)
    assert (state.status, state.event_count, state.attempts) == ("queued", 1, 1)


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
    app.send_sms(_sms(rid), message_id="m-1", dequeue=3)
    assert len(app.messages_for(rid)) == 1
    keys = _history_keys(rid)
    assert keys.count("local-1-created") == 1
    queued = [
        row for row in delivery_store.list_history(rid) if row["RowKey"] == "h-local-1-created"
    ]
    assert (queued[0]["status"], queued[0]["twilio_sid"]) == ("queued", state.twilio_sid)
    events = app.wait_events_until("delivered")
    # The missed `queued` event is published late with its own sequence (1): consumers order by
    # sequence, so the delivery never seems to move backwards.
    assert [(e["sequence"], e["status"]) for e in events if e["sequence"] == 1] == [(1, "queued")]
    assert sorted(e["sequence"] for e in events) == list(range(1, len(events) + 1))
    assert delivery_store.get_state(rid).status == "delivered"


def test_the_last_attempt_finishes_the_report_instead_of_giving_up(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_callbacks(monkeypatch)
    failed = _fail_history_once(monkeypatch, "local-1-created")
    # No retry follows the last attempt: it finishes the report itself and ends without
    # an exception (the message was sent and recorded: nothing for `-poison`).
    app.send_sms(_sms(rid), message_id="m-1", dequeue=5)
    assert failed == ["local-1-created"]
    state = delivery_store.get_state(rid)
    assert (state.status, state.status_source) == ("queued", "twilio")
    assert _history_keys(rid) == ["local-1-created"]
    (event,) = {(e["sequence"], e["status"]) for e in app.events()}
    assert event == (1, "queued")
    assert len(app.messages_for(rid)) == 1


def test_process_reports_a_finished_retry_as_a_duplicate(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_callbacks(monkeypatch)
    _fail_history_once(monkeypatch, "local-1-created")
    body = json.dumps(_sms(rid)).encode()
    with pytest.raises(ConnectionResetError):
        process(SMS, QueueDelivery("m-1", body, 1))
    assert _history_keys(rid) == []
    assert process(SMS, QueueDelivery("m-1", body, 2)) == SendOutcome.DUPLICATE
    assert _history_keys(rid) == ["local-1-created"]
