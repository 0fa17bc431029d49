"""The status sweeper's decisions over an in-memory table, with Twilio behind a scripted
`TwilioStatusReader`: selection from the index, back-off, the 429 and configuration stops, the
age limit, abandoned claims, stale and finished index rows (the same cases as the Azurite-based
`tests/unit/app/test_status_sweeper.py`, and a few more)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError

from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_report import Report
from shared.delivery_store import DeliveryState, now, open_partition
from shared.failure_classes import ClassifiedError, FailureClass
from shared.send_claims import request_fingerprint
from shared.settings import DEFAULT_STATUS_SWEEP_BACKOFF
from shared.sms_sender import SMS
from shared.status_rules import Channel
from shared.status_sweeper import sweep
from shared.sweep_schedule import first_due
from shared.twilio_gateway import PolledStatus, TwilioResource
from tests.fakes.app_settings import settings_for_test, use_settings
from tests.fakes.senders import message_sid
from tests.fakes.table_storage import FakeTable, ListPublisher
from tests.fakes.twilio_status import FakeStatusReader, too_many_requests

MINUTE = timedelta(minutes=1)
CLAIM_TIMEOUT = timedelta(minutes=60)  # STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES' default


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from settings_for_test(monkeypatch)


def _request(rid: str) -> dict[str, Any]:
    return {"id": rid, "to": "+15551230001", "body": f"hello {rid}"}


def _open(
    recorder: DeliveryRecorder,
    rid: str,
    opened: datetime,
    *,
    sid: str | None,
    status: str = "queued",
) -> None:
    """A delivery as the send path leaves it: indexed, claimed and (with `sid`) sent."""
    request = _request(rid)
    store = recorder.store
    store.open_delivery(
        rid, "sms", opened, first_due(opened, DEFAULT_STATUS_SWEEP_BACKOFF), request
    )
    assert store.create_state(
        rid,
        {
            "channel": "sms",
            "status": "sending",
            "status_source": "local",
            "attempts": 1,
            "event_count": 0,
            "created_at": opened,
            "claimed_at": opened,
            "request_hash": request_fingerprint(SMS.model.model_validate(request)),
        },
    )
    if sid is not None:
        recorder.record(
            rid, Report(key="local-1-created", status=status, source="twilio", twilio_sid=sid)
        )


def _unsent_claim(recorder: DeliveryRecorder, rid: str) -> tuple[datetime, datetime]:
    """A delivery claimed two hours ago and never recorded as sent: (now, when it was opened)."""
    start = now()
    opened = start - timedelta(hours=2)
    _open(recorder, rid, opened, sid=None)
    return start, opened


def _index_row(table: FakeTable, rid: str, opened: datetime) -> dict[str, Any] | None:
    return table.rows.get((open_partition(opened), rid))


def _state(recorder: DeliveryRecorder, rid: str) -> DeliveryState:
    state = recorder.store.get_state(rid)
    assert state is not None
    return state


def _polled_history(recorder: DeliveryRecorder, rid: str) -> list[dict[str, Any]]:
    return [row for row in recorder.store.list_history(rid) if row["source"] == "poll"]


# --- polling by SID -------------------------------------------------------------------------


def test_a_stuck_delivery_is_polled_and_recorded_like_a_callback(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    start = now()
    _open(recorder, "stuck", start, sid=message_sid(1))
    _open(recorder, "fresh", start + 10 * MINUTE, sid=message_sid(2))  # not due yet
    twilio = FakeStatusReader(statuses={message_sid(1): "delivered"})
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert twilio.asked == [message_sid(1)]
    assert (summary.due, summary.polled, summary.recorded) == (1, 1, 1)
    state = _state(recorder, "stuck")
    assert (state.status, state.status_source) == ("delivered", "twilio")
    assert [(r["status"], r["applied"]) for r in _polled_history(recorder, "stuck")] == [
        ("delivered", True)
    ]
    assert (published.events[-1].status, published.events[-1].detail) == (
        "delivered",
        {"source": "poll"},
    )
    assert _index_row(table, "stuck", start) is None  # final: closed
    assert _index_row(table, "fresh", start + 10 * MINUTE) is not None


def test_a_status_still_open_is_polled_again_with_back_off(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    _open(recorder, "slow", start, sid=message_sid(3))
    twilio = FakeStatusReader(statuses={message_sid(3): "sent"})
    first = start + 2 * MINUTE
    sweep(recorder, twilio, now=first)
    row = _index_row(table, "slow", start)
    assert row is not None
    assert row["polls"] == 1
    assert row["due_at"] == first + timedelta(seconds=DEFAULT_STATUS_SWEEP_BACKOFF[1])
    sweep(recorder, twilio, now=first + MINUTE)  # not due again yet
    assert twilio.asked == [message_sid(3)]
    sweep(recorder, twilio, now=first + 6 * MINUTE)
    assert twilio.asked == [message_sid(3)] * 2
    again = _index_row(table, "slow", start)
    assert again is not None
    assert again["polls"] == 2
    assert _state(recorder, "slow").status == "sent"
    # The same polled status is recorded once, however often it is seen.
    assert [r["status"] for r in _polled_history(recorder, "slow")] == ["sent"]


def test_a_recently_moved_status_is_not_polled(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    _open(recorder, "moving", start - 10 * MINUTE, sid=message_sid(40))  # state written now
    twilio = FakeStatusReader(statuses={message_sid(40): "delivered"})
    summary = sweep(recorder, twilio, now=start + timedelta(seconds=5))
    assert twilio.asked == []
    row = _index_row(table, "moving", start - 10 * MINUTE)
    assert row is not None
    assert row["polls"] == 0
    updated = _state(recorder, "moving").updated_at
    assert updated is not None
    # Looked at once it has been quiet for the first back-off step.
    assert row["due_at"] == updated + timedelta(seconds=DEFAULT_STATUS_SWEEP_BACKOFF[0])
    assert summary.rescheduled == 1


def test_a_run_looks_at_most_at_max_deliveries(
    recorder: DeliveryRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_settings(monkeypatch, STATUS_SWEEP_MAX_DELIVERIES="2")
    start = now()
    for n in (80, 81, 82):
        _open(recorder, f"r{n}", start + timedelta(seconds=n - 80), sid=message_sid(n))
    twilio = FakeStatusReader(statuses={message_sid(n): "delivered" for n in (80, 81, 82)})
    first = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert (first.due, first.request_ids) == (2, ["r80", "r81"])  # oldest first
    assert sweep(recorder, twilio, now=start + 2 * MINUTE).request_ids == ["r82"]


# --- errors from Twilio ---------------------------------------------------------------------


def test_a_429_ends_the_run_and_the_next_run_goes_on(recorder: DeliveryRecorder) -> None:
    start = now()
    for n in (10, 11, 12):
        _open(recorder, f"r{n}", start + timedelta(seconds=n), sid=message_sid(n))
    twilio = FakeStatusReader(
        statuses={message_sid(n): "delivered" for n in (10, 11, 12)},
        errors={message_sid(11): too_many_requests()},
    )
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert summary.stopped is not None
    assert "429" in summary.stopped
    assert twilio.asked == [message_sid(10), message_sid(11)]  # r12 was not asked
    twilio.errors.clear()
    later = sweep(recorder, twilio, now=start + 3 * MINUTE)
    assert later.stopped is None
    assert sorted(later.request_ids) == ["r11", "r12"]
    assert [_state(recorder, f"r{n}").status for n in (10, 11, 12)] == ["delivered"] * 3


def test_a_configuration_error_ends_the_run_but_a_404_does_not(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    for n in (13, 14, 15):
        _open(recorder, f"r{n}", start + timedelta(seconds=n), sid=message_sid(n))
    gone = ClassifiedError(FailureClass.CONFIGURATION, "not found", 20404, 404)
    auth = ClassifiedError(FailureClass.CONFIGURATION, "authenticate", 20003, 401)
    twilio = FakeStatusReader(errors={message_sid(13): gone, message_sid(14): auth})
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert summary.stopped == "configuration error"
    assert twilio.asked == [message_sid(13), message_sid(14)]
    assert summary.errors == 1  # the 404
    row = _index_row(table, "r13", start + timedelta(seconds=13))
    assert row is not None
    assert row["polls"] == 1  # asked again after its next back-off step


def test_other_twilio_errors_skip_one_delivery_only(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    _open(recorder, "broken", start, sid=message_sid(20))
    _open(recorder, "fine", start + timedelta(seconds=1), sid=message_sid(21))
    twilio = FakeStatusReader(
        statuses={message_sid(21): "delivered"},
        errors={message_sid(20): ClassifiedError(FailureClass.AMBIGUOUS, "boom", 20500, 500)},
    )
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert (summary.errors, summary.stopped) == (1, None)
    assert twilio.asked == [message_sid(20), message_sid(21)]
    row = _index_row(table, "broken", start)
    assert row is not None
    assert row["polls"] == 1
    assert _state(recorder, "fine").status == "delivered"


def test_an_unexpected_error_with_one_delivery_does_not_stop_the_others(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    _open(recorder, "buggy", start, sid=message_sid(95))
    _open(recorder, "next", start + timedelta(seconds=1), sid=message_sid(96))

    class Buggy(FakeStatusReader):
        def fetch(self, channel: Channel, sid: str) -> PolledStatus:
            if sid == message_sid(95):
                self.asked.append(sid)
                raise RuntimeError("a bug")
            return super().fetch(channel, sid)

    twilio = Buggy(statuses={message_sid(96): "delivered"})
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert (summary.errors, summary.stopped) == (1, None)
    assert twilio.asked == [message_sid(95), message_sid(96)]
    assert _state(recorder, "next").status == "delivered"
    row = _index_row(table, "buggy", start)
    assert row is not None
    assert row["polls"] == 0  # not rescheduled: due again next run


def test_storage_trouble_with_one_delivery_does_not_stop_the_others(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    _open(recorder, "a", start, sid=message_sid(97))
    _open(recorder, "b", start + timedelta(seconds=1), sid=message_sid(98))
    twilio = FakeStatusReader(statuses={message_sid(97): "delivered", message_sid(98): "sent"})
    real_get = table.get_entity
    failed: list[str] = []

    def get_entity(partition_key: str, row_key: str) -> Any:
        if partition_key == "a" and not failed:
            failed.append(partition_key)
            raise ServiceRequestError("storage unreachable")
        return real_get(partition_key, row_key)

    table.get_entity = get_entity  # type: ignore[method-assign]
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert summary.errors == 1
    assert twilio.asked == [message_sid(98)]
    assert _state(recorder, "b").status == "sent"


# --- the age limit --------------------------------------------------------------------------


def test_after_the_age_limit_the_final_status_is_recorded_as_unknown(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    start = now()
    opened = start - timedelta(hours=73)
    _open(recorder, "no-receipt", opened, sid=message_sid(30), status="sent")
    _open(recorder, "scheduled", opened, sid=message_sid(31), status="scheduled")
    twilio = FakeStatusReader(statuses={message_sid(30): "sent", message_sid(31): "scheduled"})
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert summary.unknown == 1
    assert _state(recorder, "no-receipt").status == "sent"  # what Twilio last said stays
    (row,) = _polled_history(recorder, "no-receipt")
    assert row["RowKey"] == f"h-poll-final-status-unknown-{message_sid(30)}"
    detail = json.loads(row["detail"])
    assert detail["final_status_unknown"] is True
    assert "within 72 hours; Twilio still says sent" in detail["reason"]
    (event,) = [e for e in published.events if e.detail.get("final_status_unknown")]
    assert (event.id, event.status) == ("no-receipt", "sent")
    assert _index_row(table, "no-receipt", opened) is None
    # A message Twilio holds until its send time is not given up on.
    assert _index_row(table, "scheduled", opened) is not None


def test_a_delivery_twilio_cannot_answer_about_is_given_up_at_the_age_limit(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    opened = start - timedelta(hours=73)
    _open(recorder, "deleted", opened, sid=message_sid(32), status="sent")
    gone = ClassifiedError(FailureClass.CONFIGURATION, "not found", 20404, 404)
    twilio = FakeStatusReader(errors={message_sid(32): gone})
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert (summary.unknown, summary.errors, summary.stopped) == (1, 1, None)
    (row,) = _polled_history(recorder, "deleted")
    assert "Twilio could not be asked" in json.loads(row["detail"])["reason"]
    assert _index_row(table, "deleted", opened) is None


# --- rows with nothing to ask ---------------------------------------------------------------


def test_finished_and_stale_index_rows_are_dropped_without_asking_twilio(
    recorder: DeliveryRecorder,
) -> None:
    start = now()
    _open(recorder, "done", start, sid=message_sid(50))
    recorder.record(
        "done",
        Report(key="cb-late", status="delivered", source="twilio", twilio_sid=message_sid(50)),
    )
    # A crash between the final report and the close leaves the row: the sweeper drops it.
    recorder.store.open_delivery("done", "sms", start, start, _request("done"))
    # A copy of a delivery claimed in another hour leaves a row in its own hour.
    other_hour = start - timedelta(hours=2)
    recorder.store.open_delivery("done", "sms", other_hour, start, _request("done"))
    # An index row whose claim never happened (the process died in between).
    old = start - timedelta(hours=2)
    recorder.store.open_delivery("never-claimed", "sms", old, old, _request("never-claimed"))
    twilio = FakeStatusReader()
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert twilio.asked == []
    assert summary.closed == 3
    assert recorder.store.due_deliveries(start + 2 * MINUTE, 10) == []


def test_the_row_of_a_copy_claimed_in_another_hour_is_dropped_the_real_one_polled(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    _open(recorder, "open", start - 3 * MINUTE, sid=message_sid(51), status="sent")
    copy_hour = start - timedelta(hours=3)
    recorder.store.open_delivery("open", "sms", copy_hour, copy_hour, _request("open"))
    twilio = FakeStatusReader(statuses={message_sid(51): "sent"})
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert summary.request_ids == ["open", "open"]  # the copy's row first: older hour
    assert twilio.asked == [message_sid(51)]  # asked once, for the real row
    assert _index_row(table, "open", copy_hour) is None
    assert _index_row(table, "open", start - 3 * MINUTE) is not None


def test_a_young_index_row_without_a_claim_waits_for_the_claim_timeout(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    recorder.store.open_delivery("claiming", "sms", start, start, _request("claiming"))
    sweep(recorder, FakeStatusReader(), now=start + MINUTE)
    row = _index_row(table, "claiming", start)
    assert row is not None
    assert row["due_at"] == start + CLAIM_TIMEOUT


@pytest.mark.parametrize(
    "change",
    [
        {"status": "rejected"},
        {"status": "failed", "failure_class": "transient"},
        {"status": "failed", "failure_class": "permanent"},
    ],
    ids=["rejected", "transient", "permanent"],
)
def test_a_delivery_that_never_reached_twilio_leaves_the_index(
    recorder: DeliveryRecorder, table: FakeTable, change: dict[str, str]
) -> None:
    start, opened = _unsent_claim(recorder, "unsent")
    recorder.store.update_state("unsent", lambda _: change)
    twilio = FakeStatusReader()
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert twilio.asked == []
    assert summary.closed == 1
    assert _index_row(table, "unsent", opened) is None


def test_a_report_applied_but_not_finished_gets_its_event_and_history_row(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    start = now()
    _open(recorder, "half-done", start, sid=message_sid(90))
    key = f"cb-{message_sid(90)}-delivered-x"
    # The state write of a `delivered` callback, then the process died (no event, no history)
    # and Twilio gave up retrying the callback.
    recorder.store.update_state(
        "half-done",
        lambda state: {
            "status": "delivered",
            "status_source": "twilio",
            "event_count": state.event_count + 1,
            "last_report_key": key,
            "report_keys": [key],
        },
    )
    twilio = FakeStatusReader()
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert twilio.asked == []
    assert summary.finished == 1
    (row,) = [r for r in recorder.store.list_history("half-done") if r["RowKey"] == f"h-{key}"]
    assert (row["status"], row["applied"]) == ("delivered", True)
    assert json.loads(row["detail"]) == {"source": "poll", "recovered": True}
    (event,) = [e for e in published.events if e.status == "delivered"]
    assert event.sequence == 2
    assert _index_row(table, "half-done", start) is None


# --- abandoned claims -----------------------------------------------------------------------


def test_a_recent_claim_is_left_to_its_queue_message(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start = now()
    _open(recorder, "claim-young", start - 10 * MINUTE, sid=None)
    twilio = FakeStatusReader()
    sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert twilio.asked == []
    assert _state(recorder, "claim-young").status == "sending"
    row = _index_row(table, "claim-young", start - 10 * MINUTE)
    assert row is not None
    # Looked at again when its queue message can no longer be retried (the claim timeout).
    assert row["due_at"] == start - 10 * MINUTE + CLAIM_TIMEOUT


def test_an_abandoned_claim_that_reached_twilio_is_reconciled(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start, opened = _unsent_claim(recorder, "claim-sent")
    twilio = FakeStatusReader(found=[TwilioResource(sid=message_sid(60), status="delivered")])
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert twilio.asked == ["find:claim-sent"]
    assert summary.reconciled == 1
    state = _state(recorder, "claim-sent")
    assert (state.status, state.twilio_sid) == ("delivered", message_sid(60))
    assert recorder.store.sid_owner(message_sid(60)) == "claim-sent"
    (row,) = _polled_history(recorder, "claim-sent")
    assert json.loads(row["detail"]) == {"source": "poll", "reconciled": True}
    assert _index_row(table, "claim-sent", opened) is None


def test_a_reconciled_claim_still_open_is_polled_from_the_start_of_the_back_off(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start, opened = _unsent_claim(recorder, "claim-queued")
    twilio = FakeStatusReader(found=[TwilioResource(sid=message_sid(61), status="sent")])
    at = start + 2 * MINUTE
    sweep(recorder, twilio, now=at)
    row = _index_row(table, "claim-queued", opened)
    assert row is not None
    assert (row["polls"], row["due_at"]) == (
        0,
        at + timedelta(seconds=DEFAULT_STATUS_SWEEP_BACKOFF[0]),
    )


def test_an_abandoned_claim_that_never_reached_twilio_is_failed_not_sent(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    start, opened = _unsent_claim(recorder, "claim-lost")
    _open(recorder, "other", opened, sid=message_sid(71))  # owns SM…71: never adopted
    twilio = FakeStatusReader(
        found=[TwilioResource(sid=message_sid(71), status="delivered")],
        statuses={message_sid(71): "delivered"},
    )
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert summary.abandoned == 1
    state = _state(recorder, "claim-lost")
    assert (state.status, state.status_source, state.twilio_sid) == ("failed", "local", None)
    assert "nothing was sent" in (state.error_message or "")
    (event,) = [e for e in published.events if e.id == "claim-lost"]
    assert event.status == "failed"
    assert [r["RowKey"] for r in _polled_history(recorder, "claim-lost")] == ["h-poll-abandoned-1"]
    assert _index_row(table, "claim-lost", opened) is None


def test_a_claim_that_gave_up_and_is_not_found_is_only_dropped(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    start, opened = _unsent_claim(recorder, "gave-up")
    recorder.store.update_state(
        "gave-up", lambda _: {"status": "failed", "failure_class": "ambiguous"}
    )
    twilio = FakeStatusReader()
    summary = sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert twilio.asked == ["find:gave-up"]  # it may have reached Twilio: asked
    assert (summary.abandoned, summary.closed) == (0, 1)
    assert published.events == []
    assert _index_row(table, "gave-up", opened) is None


def test_a_claim_whose_indexed_request_is_not_the_claimed_one_is_not_reconciled(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start, opened = _unsent_claim(recorder, "mixed")
    table.rows[(open_partition(opened), "mixed")]["request"] = json.dumps(
        {**_request("mixed"), "body": "another request"}
    )
    twilio = FakeStatusReader()
    sweep(recorder, twilio, now=start + 2 * MINUTE)
    assert twilio.asked == []
    assert _state(recorder, "mixed").status == "sending"
    assert _index_row(table, "mixed", opened) is None


def _take_over(recorder: DeliveryRecorder, rid: str) -> None:
    """What a live attempt's reclaim writes: the next claim."""
    recorder.store.update_state(
        rid,
        lambda state: {
            "status": "sending",
            "status_source": "local",
            "attempts": state.attempts + 1,
            "claimed_at": now(),
            "failure_class": "",
        },
    )


def test_a_claim_taken_over_while_it_is_settled_is_not_failed(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    start, opened = _unsent_claim(recorder, "claim-back")

    class LiveAttempt(FakeStatusReader):
        """Twilio has nothing yet; meanwhile the request's queue message came back and its
        attempt took the claim over."""

        def find(
            self, channel: Channel, request: dict[str, Any], since: datetime
        ) -> list[TwilioResource]:
            found = super().find(channel, request, since)
            _take_over(recorder, "claim-back")
            return found

    summary = sweep(recorder, LiveAttempt(), now=start + 2 * MINUTE)
    assert summary.abandoned == 0
    state = _state(recorder, "claim-back")
    assert (state.status, state.attempts) == ("sending", 2)
    assert published.events == []
    assert _index_row(table, "claim-back", opened) is not None


def test_a_claim_taken_over_before_the_settled_row_is_closed_is_indexed_again(
    recorder: DeliveryRecorder, table: FakeTable
) -> None:
    start, opened = _unsent_claim(recorder, "claim-late")
    store = recorder.store
    close = store.close_delivery

    def taken_over_first(request_id: str, partition: str) -> None:
        # The live attempt reclaims and indexes the delivery (a no-op: the row is there) just
        # after the sweeper recorded `failed`, just before the sweeper removes the row.
        _take_over(recorder, request_id)
        store.open_delivery(
            request_id, "sms", start, start, _request(request_id), created_at=opened
        )
        close(request_id, partition)

    store.close_delivery = taken_over_first  # type: ignore[method-assign]
    summary = sweep(recorder, FakeStatusReader(), now=start + 2 * MINUTE)
    assert summary.abandoned == 1
    state = _state(recorder, "claim-late")
    assert (state.status, state.attempts) == ("sending", 2)
    assert _index_row(table, "claim-late", opened) is not None  # polled once it has sent


def test_the_send_reports_event_is_published_again_once_on_the_first_look(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    # As the send path leaves it: the claim, then its report in one transaction (remembered).
    # Its event may never have gone out (a crash after the transaction on the last attempt).
    start = now()
    request = {"id": "sent-1", "to": "+15551230001", "body": "hello"}
    recorder.store.open_delivery("sent-1", "sms", start, start, request)
    claimed = recorder.store.create_state(
        "sent-1",
        {"channel": "sms", "status": "sending", "status_source": "local", "created_at": start},
    )
    assert claimed is not None
    created = Report(
        key="local-1-created",
        status="queued",
        source="twilio",
        twilio_sid=message_sid(60),
        remember=True,
    )
    recorder.record("sent-1", created, known=claimed)
    published.events.clear()
    twilio = FakeStatusReader(statuses={message_sid(60): "queued"})
    assert sweep(recorder, twilio, now=start + 2 * MINUTE).finished == 1
    assert [(e.status, e.sequence) for e in published.events] == [("queued", 1)]
    sweep(recorder, twilio, now=start + 60 * MINUTE)  # looked at again: nothing new
    assert [(e.status, e.sequence) for e in published.events] == [("queued", 1)]
