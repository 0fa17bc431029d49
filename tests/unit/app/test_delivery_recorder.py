"""Recording reports: ETag-checked state, history, events, and the re-emit after a crash."""

from __future__ import annotations

from typing import Any

import pytest

from shared.app_services import app_recorder, app_store
from shared.delivery_report import RecordOutcome, Report
from shared.delivery_store import DeliveryState

SID = "SM" + "e" * 32


def _claim(rid: str) -> None:
    assert app_store().create_state(
        rid,
        {"channel": "sms", "status": "sending", "status_source": "local", "event_count": 0},
    )


def _report(status: str) -> Report:
    return Report(key=f"cb-{SID}-{status}-x", status=status, source="twilio", twilio_sid=SID)


def test_reports_apply_forward_only_and_repeats_change_nothing(
    app_env: Any, read_events: Any
) -> None:
    _claim("r-1")
    outcomes = [
        app_recorder().record("r-1", _report(s)) for s in ("sent", "delivered", "sent", "delivered")
    ]
    assert outcomes == [
        RecordOutcome.APPLIED,
        RecordOutcome.APPLIED,
        RecordOutcome.DUPLICATE,
        RecordOutcome.DUPLICATE,
    ]
    assert app_recorder().record("r-1", _report("queued")) == RecordOutcome.KEPT
    state = app_store().get_state("r-1")
    assert state is not None
    assert (state.status, state.twilio_sid, state.event_count) == ("delivered", SID, 2)
    assert [(e["status"], e["sequence"]) for e in read_events()] == [("sent", 1), ("delivered", 2)]
    history = app_store().list_history("r-1")
    assert [(h["status"], h["applied"]) for h in history] == [
        ("sent", True),
        ("delivered", True),
        ("queued", False),
    ]
    assert app_store().sid_owner(SID) == "r-1"


def test_a_report_applied_before_a_crash_is_published_again(app_env: Any, read_events: Any) -> None:
    _claim("r-2")
    # The crashed run updated the state but published nothing and wrote no history row.
    app_store().update_state(
        "r-2",
        lambda s: {
            "status": "sent",
            "status_source": "twilio",
            "twilio_sid": SID,
            "event_count": 1,
            "last_report_key": _report("sent").key,
            "report_keys": [_report("sent").key],
        },
    )
    assert app_recorder().record("r-2", _report("sent")) == RecordOutcome.APPLIED
    assert [(e["status"], e["sequence"]) for e in read_events()] == [("sent", 1)]
    assert app_recorder().record("r-2", _report("sent")) == RecordOutcome.DUPLICATE
    assert len(read_events()) == 1


def test_a_report_about_another_sid_never_moves_the_delivery(app_env: Any) -> None:
    _claim("r-3")
    app_recorder().record("r-3", _report("sent"))
    other = Report(
        key="cb-other-delivered-x", status="delivered", source="twilio", twilio_sid="SMx"
    )
    assert app_recorder().record("r-3", other) == RecordOutcome.KEPT
    state = app_store().get_state("r-3")
    assert state is not None
    assert state.status == "sent"


def test_unknown_request_is_reported_as_such(app_env: Any) -> None:
    assert app_recorder().record("nobody", _report("sent")) == RecordOutcome.NOT_FOUND


def test_state_updates_are_etag_checked_and_retried(app_env: Any) -> None:
    _claim("r-4")
    seen: list[int] = []

    def decide(state: DeliveryState) -> dict[str, Any]:
        seen.append(state.attempts)
        if len(seen) == 1:
            # Another writer gets in between this read and the write: the write gets 412.
            app_store().update_state("r-4", lambda _: {"attempts": 7})
        return {"event_count": state.event_count + 1}

    state, change = app_store().update_state("r-4", decide)
    assert seen == [0, 7]  # decided again on the fresh row
    assert change == {"event_count": 1}
    stored = app_store().get_state("r-4")
    assert stored is not None
    assert (stored.attempts, stored.event_count) == (7, 1)
    assert state.etag == stored.etag


def test_a_concurrent_duplicate_changes_and_publishes_nothing(
    app_env: Any, read_events: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _claim("r-5")
    store = app_store()
    real_change = store.change_state
    raced: list[bool] = []

    def racing(state: Any, change: Any) -> Any:
        if not raced:
            # The twin callback records the same report between this read and this write.
            raced.append(True)
            assert app_recorder().record("r-5", _report("sent")) == RecordOutcome.APPLIED
        return real_change(state, change)

    monkeypatch.setattr(store, "change_state", racing)
    assert app_recorder().record("r-5", _report("sent")) == RecordOutcome.DUPLICATE
    assert [(e["status"], e["sequence"]) for e in read_events()] == [("sent", 1)]
    assert len(app_store().list_history("r-5")) == 1
    state = app_store().get_state("r-5")
    assert state is not None
    assert state.event_count == 1


def test_a_twilio_report_correcting_a_local_give_up_clears_its_error(
    app_env: Any, read_events: Any
) -> None:
    assert app_store().create_state(
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
    assert app_recorder().record("r-6", _report("delivered")) == RecordOutcome.APPLIED
    state = app_store().get_state("r-6")
    assert state is not None
    assert (state.status, state.status_source, state.twilio_sid) == ("delivered", "twilio", SID)
    assert (state.error_code, state.error_message) == (None, None)
    assert not state.failure_class
    (event,) = read_events()
    assert (event["status"], event["error_code"]) == ("delivered", None)


def test_a_twilio_failure_correcting_a_local_give_up_keeps_its_own_error(app_env: Any) -> None:
    assert app_store().create_state(
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
    app_recorder().record("r-7", undelivered)
    state = app_store().get_state("r-7")
    assert state is not None
    assert (state.status, state.error_code, state.error_message) == (
        "undelivered",
        30003,
        "Unreachable destination handset",
    )
