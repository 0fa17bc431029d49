"""Recording reports: ETag-checked state, history, events, and the re-emit after a crash."""

from __future__ import annotations

from typing import Any

import pytest

from shared import delivery_recorder, delivery_store
from shared.delivery_recorder import RecordOutcome, Report, record

SID = "SM" + "e" * 32


def _claim(rid: str) -> None:
    assert delivery_store.create_state(
        rid,
        {"channel": "sms", "status": "sending", "status_source": "local", "event_count": 0},
    )


def _report(status: str) -> Report:
    return Report(key=f"cb-{SID}-{status}-x", status=status, source="twilio", twilio_sid=SID)


def test_reports_apply_forward_only_and_repeats_change_nothing(
    app_env: Any, read_events: Any
) -> None:
    _claim("r-1")
    outcomes = [record("r-1", _report(s)) for s in ("sent", "delivered", "sent", "delivered")]
    assert outcomes == [
        RecordOutcome.APPLIED,
        RecordOutcome.APPLIED,
        RecordOutcome.DUPLICATE,
        RecordOutcome.DUPLICATE,
    ]
    assert record("r-1", _report("queued")) == RecordOutcome.KEPT
    state = delivery_store.get_state("r-1")
    assert state is not None
    assert (state.status, state.twilio_sid, state.event_count) == ("delivered", SID, 2)
    assert [(e["status"], e["sequence"]) for e in read_events()] == [("sent", 1), ("delivered", 2)]
    history = delivery_store.list_history("r-1")
    assert [(h["status"], h["applied"]) for h in history] == [
        ("sent", True),
        ("delivered", True),
        ("queued", False),
    ]
    assert delivery_store.sid_owner(SID) == "r-1"


def test_a_report_applied_before_a_crash_is_published_again(app_env: Any, read_events: Any) -> None:
    _claim("r-2")
    # The crashed run updated the state but published nothing and wrote no history row.
    delivery_store.update_state(
        "r-2",
        lambda s: {
            "status": "sent",
            "status_source": "twilio",
            "twilio_sid": SID,
            "event_count": 1,
            "last_report_key": _report("sent").key,
        },
    )
    assert record("r-2", _report("sent")) == RecordOutcome.APPLIED
    assert [(e["status"], e["sequence"]) for e in read_events()] == [("sent", 1)]
    assert record("r-2", _report("sent")) == RecordOutcome.DUPLICATE
    assert len(read_events()) == 1


def test_a_report_about_another_sid_never_moves_the_delivery(app_env: Any) -> None:
    _claim("r-3")
    record("r-3", _report("sent"))
    other = Report(
        key="cb-other-delivered-x", status="delivered", source="twilio", twilio_sid="SMx"
    )
    assert record("r-3", other) == RecordOutcome.KEPT
    state = delivery_store.get_state("r-3")
    assert state is not None
    assert state.status == "sent"


def test_unknown_request_is_reported_as_such(app_env: Any) -> None:
    assert record("nobody", _report("sent")) == RecordOutcome.UNKNOWN


def test_state_updates_are_etag_checked_and_retried(app_env: Any) -> None:
    _claim("r-4")
    seen: list[int] = []

    def decide(state: delivery_store.DeliveryState) -> dict[str, Any]:
        seen.append(state.attempts)
        if len(seen) == 1:
            # Another writer gets in between this read and the write: the write gets 412.
            delivery_store.update_state("r-4", lambda _: {"attempts": 7})
        return {"event_count": state.event_count + 1}

    state, change = delivery_store.update_state("r-4", decide)
    assert seen == [0, 7]  # decided again on the fresh row
    assert change == {"event_count": 1}
    stored = delivery_store.get_state("r-4")
    assert stored is not None
    assert (stored.attempts, stored.event_count) == (7, 1)
    assert state.etag == stored.etag


def test_a_concurrent_duplicate_changes_and_publishes_nothing(
    app_env: Any, read_events: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _claim("r-5")
    original = delivery_recorder._decide

    def racing(report: Report, state: delivery_store.DeliveryState) -> Any:
        # The twin callback records the same report between this read and this write.
        monkeypatch.setattr(delivery_recorder, "_decide", original)
        assert record("r-5", report) == RecordOutcome.APPLIED
        return original(report, state)

    monkeypatch.setattr(delivery_recorder, "_decide", racing)
    assert record("r-5", _report("sent")) == RecordOutcome.DUPLICATE
    assert [(e["status"], e["sequence"]) for e in read_events()] == [("sent", 1)]
    assert len(delivery_store.list_history("r-5")) == 1
    state = delivery_store.get_state("r-5")
    assert state is not None
    assert state.event_count == 1


def test_a_twilio_report_correcting_a_local_give_up_clears_its_error(
    app_env: Any, read_events: Any
) -> None:
    assert delivery_store.create_state(
        "r-6",
        {
            "channel": "sms",
            "status": "failed",
            "status_source": "local",
            "error_code": 20500,
            "error_message": "create message: internal error",
            "failure_class": "ambiguous",
            "event_count": 1,
        },
    )
    # The message did reach Twilio after all; its callback arrives after the app gave up.
    assert record("r-6", _report("delivered")) == RecordOutcome.APPLIED
    state = delivery_store.get_state("r-6")
    assert state is not None
    assert (state.status, state.status_source, state.twilio_sid) == ("delivered", "twilio", SID)
    assert (state.error_code, state.error_message) == (None, None)
    assert not state.failure_class
    (event,) = read_events()
    assert (event["status"], event["error_code"]) == ("delivered", None)


def test_a_twilio_failure_correcting_a_local_give_up_keeps_its_own_error(app_env: Any) -> None:
    assert delivery_store.create_state(
        "r-7",
        {"channel": "sms", "status": "failed", "status_source": "local", "error_code": 20500},
    )
    undelivered = Report(
        key=f"cb-{SID}-undelivered-x",
        status="undelivered",
        source="twilio",
        twilio_sid=SID,
        error_code=30003,
        error_message="Unreachable destination handset",
    )
    record("r-7", undelivered)
    state = delivery_store.get_state("r-7")
    assert state is not None
    assert (state.status, state.error_code, state.error_message) == (
        "undelivered",
        30003,
        "Unreachable destination handset",
    )
