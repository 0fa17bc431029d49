"""`DeliveryRecorder` over an in-memory table: the status rules, repeats, the crash paths, and
how many storage requests each path costs."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_report import RecordOutcome, Report
from shared.delivery_store import StaleStateError, now, open_partition
from tests.fakes.table_storage import FakeTable, ListPublisher

SID = "SM" + "e" * 32


def _claim(recorder: DeliveryRecorder, rid: str = "r-1", sid: str | None = None) -> None:
    claimed = recorder.store.create_state(
        rid,
        {
            "channel": "sms",
            "status": "sending",
            "status_source": "local",
            "twilio_sid": sid,
            "event_count": 0,
            "created_at": now(),
        },
    )
    assert claimed is not None


def _callback(status: str, sid: str = SID) -> Report:
    return Report(key=f"cb-{sid}-{status}-x", status=status, source="twilio", twilio_sid=sid)


def _requests(table: FakeTable) -> Counter[str]:
    counted = Counter(table.requests)
    table.requests.clear()
    return counted


def test_reports_apply_forward_only_and_repeats_change_nothing(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    _claim(recorder)
    statuses = ("sent", "delivered", "sent", "delivered")
    outcomes = [recorder.record("r-1", _callback(s)) for s in statuses]
    assert outcomes == [RecordOutcome.APPLIED] * 2 + [RecordOutcome.DUPLICATE] * 2
    assert recorder.record("r-1", _callback("queued")) == RecordOutcome.KEPT
    state = recorder.store.get_state("r-1")
    assert state is not None
    assert (state.status, state.twilio_sid, state.event_count) == ("delivered", SID, 2)
    assert [(e.status, e.sequence) for e in published.events] == [("sent", 1), ("delivered", 2)]
    history = recorder.store.list_history("r-1")
    assert [(h["status"], h["applied"]) for h in history] == [
        ("sent", True),
        ("delivered", True),
        ("queued", False),
    ]
    assert recorder.store.sid_owner(SID) == "r-1"


def test_a_callback_costs_four_requests_a_final_one_five_a_repeat_one(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    _claim(recorder, sid=SID)  # the send path recorded the SID
    recorder.store.open_delivery("r-1", "sms", now(), now(), {"id": "r-1"})
    _requests(table)
    recorder.record("r-1", _callback("sent"))
    assert _requests(table) == {"query": 1, "merge": 1, "insert": 1}  # + the event
    recorder.record("r-1", _callback("delivered"))
    assert _requests(table) == {"query": 1, "merge": 1, "insert": 1, "delete": 1}
    recorder.record("r-1", _callback("sent"))  # an older report, again
    assert _requests(table) == {"query": 1}
    recorder.record("r-1", _callback("delivered"))  # the latest, again
    assert _requests(table) == {"query": 1}


def test_the_send_path_report_is_one_transaction_without_a_read(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    claimed = recorder.store.create_state(
        "r-1", {"channel": "sms", "status": "sending", "status_source": "local"}
    )
    assert claimed is not None
    _requests(table)
    created = Report(
        key="local-1-created", status="queued", source="twilio", twilio_sid=SID, remember=True
    )
    assert recorder.record("r-1", created, known=claimed) == RecordOutcome.APPLIED
    assert _requests(table) == {"insert": 1, "transaction": 1}  # the SID index, state + history
    assert [(e.status, e.twilio_sid) for e in published.events] == [("queued", SID)]
    state = recorder.store.get_state("r-1")
    assert state is not None
    assert state.remembered_report is not None
    assert [h["RowKey"] for h in recorder.store.list_history("r-1")] == ["h-local-1-created"]


def test_a_stale_known_state_is_read_again(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    claimed = recorder.store.create_state(
        "r-1", {"channel": "sms", "status": "sending", "status_source": "local"}
    )
    assert claimed is not None
    assert recorder.record("r-1", _callback("sent")) == RecordOutcome.APPLIED  # came first
    created = Report(key="local-1-created", status="queued", source="twilio", twilio_sid=SID)
    assert recorder.record("r-1", created, known=claimed) == RecordOutcome.KEPT
    state = recorder.store.get_state("r-1")
    assert state is not None
    assert state.status == "sent"
    assert [e.status for e in published.events] == ["sent"]


def test_a_report_applied_before_a_crash_is_finished_by_its_repeat(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    _claim(recorder)
    published.failures.append(ConnectionResetError(104, "reset"))
    with pytest.raises(ConnectionResetError):
        recorder.record("r-1", _callback("sent"))
    assert recorder.store.list_history("r-1") == []
    assert recorder.record("r-1", _callback("sent")) == RecordOutcome.APPLIED
    assert [(e.status, e.sequence) for e in published.events] == [("sent", 1)]
    assert recorder.record("r-1", _callback("sent")) == RecordOutcome.DUPLICATE
    assert len(published.events) == 1


def test_a_concurrent_copy_that_loses_the_race_publishes_nothing(
    recorder: DeliveryRecorder, published: ListPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    _claim(recorder)
    real_change = recorder.store.change_state
    raced: list[bool] = []

    def racing(state, change):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(True)
            assert recorder.record("r-1", _callback("sent")) == RecordOutcome.APPLIED
        return real_change(state, change)

    monkeypatch.setattr(recorder.store, "change_state", racing)
    assert recorder.record("r-1", _callback("sent")) == RecordOutcome.DUPLICATE
    assert [e.sequence for e in published.events] == [1]


def test_a_report_about_another_sid_is_kept_not_applied(recorder: DeliveryRecorder) -> None:
    _claim(recorder)
    recorder.record("r-1", _callback("sent"))
    other = "SM" + "f" * 32
    assert recorder.record("r-1", _callback("delivered", other)) == RecordOutcome.KEPT
    state = recorder.store.get_state("r-1")
    assert state is not None
    assert state.status == "sent"


def test_an_unknown_delivery_is_not_found(recorder: DeliveryRecorder) -> None:
    assert recorder.record("nobody", _callback("sent")) == RecordOutcome.NOT_FOUND


def test_a_final_status_closes_the_index_row(recorder: DeliveryRecorder, table: FakeTable) -> None:
    _claim(recorder)
    state = recorder.store.get_state("r-1")
    assert state is not None
    assert state.created_at is not None
    recorder.store.open_delivery("r-1", "sms", state.created_at, now(), {"id": "r-1"})
    partition = open_partition(state.created_at)
    recorder.record("r-1", _callback("sent"))
    assert (partition, "r-1") in table.rows
    recorder.record("r-1", _callback("delivered"))
    assert (partition, "r-1") not in table.rows


def test_news_is_an_event_without_a_status_change(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    _claim(recorder)
    recorder.record("r-1", _callback("sent"))
    answer = Report(
        key="answer-0-CA1", status="in-progress", source="twilio", detail={"digits": "1"}, news=True
    )
    assert recorder.record("r-1", answer) == RecordOutcome.APPLIED
    assert recorder.record("r-1", answer) == RecordOutcome.DUPLICATE
    event = published.events[-1]
    assert (event.status, event.sequence, event.detail) == (
        "sent",
        2,
        {"digits": "1", "reported_status": "in-progress"},
    )


def test_a_refused_copy_is_announced_once(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    _claim(recorder)
    first = recorder.record_conflict(
        "r-1", "call", "conflict-m2", "names an sms", metadata={}, sequence=0
    )
    again = recorder.record_conflict(
        "r-1", "call", "conflict-m2", "names an sms", metadata={}, sequence=0
    )
    assert (first, again) == (RecordOutcome.APPLIED, RecordOutcome.DUPLICATE)
    assert [(e.status, e.detail.get("conflict")) for e in published.events] == [("rejected", True)]
    (row,) = recorder.store.list_history("r-1")
    assert (row["channel"], row["applied"]) == ("call", False)


def test_a_first_report_cut_short_is_finished_by_its_retry(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    rejected = Report(key="local-0-rejected", status="rejected", source="local")
    published.failures.append(ConnectionResetError(104, "reset"))
    with pytest.raises(ConnectionResetError):
        recorder.record_first("r-9", "sms", rejected, {"reason": "bad"})
    assert recorder.record_first("r-9", "sms", rejected, {"reason": "bad"}) == RecordOutcome.APPLIED
    assert (
        recorder.record_first("r-9", "sms", rejected, {"reason": "bad"}) == RecordOutcome.DUPLICATE
    )
    assert [(e.status, e.sequence) for e in published.events] == [("rejected", 1)]


def _gave_up(recorder: DeliveryRecorder) -> None:
    assert recorder.store.create_state(
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


def test_a_twilio_report_correcting_a_local_give_up_clears_its_error(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    _gave_up(recorder)
    # The message did reach Twilio after all; its callback arrives after the app gave up.
    assert recorder.record("r-6", _callback("delivered")) == RecordOutcome.APPLIED
    state = recorder.store.get_state("r-6")
    assert state is not None
    assert (state.status, state.status_source, state.twilio_sid) == ("delivered", "twilio", SID)
    assert (state.error_code, state.error_message, state.failure_class) == (None, None, None)
    (event,) = published.events
    assert (event.status, event.error_code, event.sequence) == ("delivered", None, 2)


def test_a_twilio_failure_correcting_a_local_give_up_keeps_its_own_error(
    recorder: DeliveryRecorder,
) -> None:
    _gave_up(recorder)
    undelivered = Report(
        key=f"cb-{SID}-undelivered-x",
        status="undelivered",
        source="twilio",
        twilio_sid=SID,
        error_code=30003,
        error_message="Unreachable destination handset",
    )
    recorder.record("r-6", undelivered)
    state = recorder.store.get_state("r-6")
    assert state is not None
    assert (state.status, state.error_code, state.error_message) == (
        "undelivered",
        30003,
        "Unreachable destination handset",
    )


def test_a_send_report_whose_answer_was_lost_still_publishes_its_event(
    recorder: DeliveryRecorder, published: ListPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The transaction commits, its answer is lost, and the SDK's retry meets its own write:
    # 412. The key is this claim's own, so the re-read tells the write went through.
    claimed = recorder.store.create_state(
        "r-1", {"channel": "sms", "status": "sending", "status_source": "local"}
    )
    assert claimed is not None
    real_write = recorder.store.write_report

    def lost_answer(*args):  # type: ignore[no-untyped-def]
        real_write(*args)
        raise StaleStateError("r-1")

    monkeypatch.setattr(recorder.store, "write_report", lost_answer)
    created = Report(
        key="local-1-created", status="queued", source="twilio", twilio_sid=SID, remember=True
    )
    assert recorder.record("r-1", created, known=claimed) == RecordOutcome.APPLIED
    assert [(e.status, e.sequence, e.twilio_sid) for e in published.events] == [("queued", 1, SID)]
