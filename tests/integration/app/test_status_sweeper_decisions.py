"""The status sweeper's decisions against real Azurite, with Twilio behind the injected
`TwilioStatusReader` seam: selection from the index, back-off, the 429 early stop, the age limit,
abandoned claims, stale index rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import delivery_store
from shared.app_services import app_recorder, app_store
from shared.delivery_report import Report
from shared.failure_classes import ClassifiedError, FailureClass
from shared.send_claims import request_fingerprint
from shared.settings import DEFAULT_STATUS_SWEEP_BACKOFF
from shared.sms_sender import SMS
from shared.status_rules import Channel
from shared.status_sweeper import sweep
from shared.sweep_schedule import first_due, next_due
from shared.twilio_gateway import PolledStatus, TwilioResource

MINUTE = timedelta(minutes=1)


def _sid(n: int) -> str:
    return f"SM{n:032x}"


@dataclass
class FakeTwilio:
    """What Twilio says, per SID; every question asked is kept."""

    statuses: dict[str, str] = field(default_factory=dict)
    found: list[TwilioResource] = field(default_factory=list)
    errors: dict[str, ClassifiedError] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def fetch(self, channel: Channel, sid: str) -> PolledStatus:
        self.asked.append(sid)
        if sid in self.errors:
            raise self.errors[sid]
        return PolledStatus(sid=sid, status=self.statuses[sid])

    def find(
        self, channel: Channel, request: dict[str, Any], since: datetime
    ) -> list[TwilioResource]:
        self.asked.append(f"find:{request['id']}")
        return list(self.found)


def _request(rid: str) -> dict[str, Any]:
    return {"id": rid, "to": "+15551230001", "body": f"hello {rid}"}


def _open(rid: str, opened: datetime, *, sid: str | None, status: str = "queued") -> None:
    """A delivery as the send path leaves it: indexed, claimed and (with `sid`) sent."""
    request = _request(rid)
    app_store().open_delivery(
        rid, "sms", opened, first_due(opened, DEFAULT_STATUS_SWEEP_BACKOFF), request
    )
    assert app_store().create_state(
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
        app_recorder().record(
            rid, Report(key="local-1-created", status=status, source="twilio", twilio_sid=sid)
        )


def _index_row(rid: str, opened: datetime) -> dict[str, Any] | None:
    rows = app_store().table.query_entities(
        "PartitionKey eq @pk and RowKey eq @rk",
        parameters={"pk": delivery_store.open_partition(opened), "rk": rid},
    )
    found = list(rows)
    return dict(found[0]) if found else None


def _history(rid: str) -> list[dict[str, Any]]:
    return app_store().list_history(rid)


def test_back_off_steps_then_repeats_the_last_one() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    backoff = (60.0, 300.0, 1800.0)
    assert first_due(start, backoff) == start + timedelta(seconds=60)
    assert [next_due(start, n, backoff) - start for n in (1, 2, 3, 9)] == [
        timedelta(seconds=300),
        timedelta(seconds=1800),
        timedelta(seconds=1800),
        timedelta(seconds=1800),
    ]


def test_a_stuck_delivery_is_polled_and_recorded_like_a_callback(
    app_env: Any, read_events: Any
) -> None:
    now = delivery_store.now()
    _open("stuck", now, sid=_sid(1))
    _open("fresh", now + 10 * MINUTE, sid=_sid(2))  # not due yet: never asked
    twilio = FakeTwilio(statuses={_sid(1): "delivered"})
    summary = sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert twilio.asked == [_sid(1)]
    assert (summary.polled, summary.recorded) == (1, 1)
    state = app_store().get_state("stuck")
    assert state is not None
    assert (state.status, state.status_source) == ("delivered", "twilio")
    polled = [row for row in _history("stuck") if row["source"] == "poll"]
    assert [(row["status"], row["applied"]) for row in polled] == [("delivered", True)]
    events = [e for e in read_events() if e["id"] == "stuck"]
    assert events[-1]["status"] == "delivered"
    assert events[-1]["detail"] == {"source": "poll"}
    assert _index_row("stuck", now) is None  # final: the recorder closed it
    assert _index_row("fresh", now + 10 * MINUTE) is not None


def test_a_status_still_open_is_polled_again_with_back_off(app_env: Any) -> None:
    now = delivery_store.now()
    _open("slow", now, sid=_sid(3))
    twilio = FakeTwilio(statuses={_sid(3): "sent"})
    first = now + 2 * MINUTE
    sweep(app_recorder(), twilio, now=first)
    row = _index_row("slow", now)
    assert row is not None
    assert row["polls"] == 1
    assert row["due_at"] == first + timedelta(seconds=DEFAULT_STATUS_SWEEP_BACKOFF[1])
    sweep(app_recorder(), twilio, now=first + MINUTE)  # not due again yet
    assert twilio.asked == [_sid(3)]
    sweep(app_recorder(), twilio, now=first + 6 * MINUTE)
    assert twilio.asked == [_sid(3), _sid(3)]
    again = _index_row("slow", now)
    assert again is not None
    assert again["polls"] == 2
    state = app_store().get_state("slow")
    assert state is not None
    assert state.status == "sent"
    # The same polled status is recorded once, however often it is seen.
    assert [r["status"] for r in _history("slow") if r["source"] == "poll"] == ["sent"]


def test_a_429_ends_the_run_and_the_next_run_goes_on(app_env: Any) -> None:
    now = delivery_store.now()
    for n in (10, 11, 12):
        _open(f"r{n}", now + timedelta(seconds=n), sid=_sid(n))
    too_many = ClassifiedError(FailureClass.TRANSIENT, "Too Many Requests", 20429, 429)
    twilio = FakeTwilio(
        statuses={_sid(n): "delivered" for n in (10, 11, 12)}, errors={_sid(11): too_many}
    )
    summary = sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert summary.stopped is not None
    assert "429" in summary.stopped
    assert twilio.asked == [_sid(10), _sid(11)]  # r12 was not asked
    twilio.errors.clear()
    later = sweep(app_recorder(), twilio, now=now + 3 * MINUTE)
    assert later.stopped is None
    assert sorted(later.request_ids) == ["r11", "r12"]
    for n in (10, 11, 12):
        state = app_store().get_state(f"r{n}")
        assert state is not None
        assert state.status == "delivered"


def test_other_twilio_errors_skip_one_delivery_only(app_env: Any) -> None:
    now = delivery_store.now()
    _open("broken", now, sid=_sid(20))
    _open("fine", now + timedelta(seconds=1), sid=_sid(21))
    twilio = FakeTwilio(
        statuses={_sid(21): "delivered"},
        errors={_sid(20): ClassifiedError(FailureClass.AMBIGUOUS, "boom", 20500, 500)},
    )
    summary = sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert (summary.errors, summary.stopped) == (1, None)
    assert twilio.asked == [_sid(20), _sid(21)]
    row = _index_row("broken", now)
    assert row is not None
    assert row["polls"] == 1


def test_after_the_age_limit_the_final_status_is_recorded_as_unknown(
    app_env: Any, read_events: Any
) -> None:
    now = delivery_store.now()
    opened = now - timedelta(hours=73)
    _open("no-receipt", opened, sid=_sid(30), status="sent")
    _open("scheduled", opened, sid=_sid(31), status="scheduled")
    twilio = FakeTwilio(statuses={_sid(30): "sent", _sid(31): "scheduled"})
    summary = sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert summary.unknown == 1
    state = app_store().get_state("no-receipt")
    assert state is not None
    assert state.status == "sent"  # what Twilio last said stays the status
    (row,) = [r for r in _history("no-receipt") if r["source"] == "poll"]
    assert row["RowKey"] == f"h-poll-final-status-unknown-{_sid(30)}"
    assert json.loads(row["detail"])["final_status_unknown"] is True
    (event,) = [e for e in read_events() if e["detail"].get("final_status_unknown")]
    assert (event["id"], event["status"]) == ("no-receipt", "sent")
    assert _index_row("no-receipt", opened) is None
    # A message Twilio holds until its send time is not given up on.
    assert _index_row("scheduled", opened) is not None


def test_a_recently_moved_status_is_not_polled(app_env: Any) -> None:
    now = delivery_store.now()
    _open("moving", now - 10 * MINUTE, sid=_sid(40))  # its state row was written just now
    twilio = FakeTwilio(statuses={_sid(40): "delivered"})
    sweep(app_recorder(), twilio, now=now + timedelta(seconds=5))
    assert twilio.asked == []
    row = _index_row("moving", now - 10 * MINUTE)
    assert row is not None
    assert row["polls"] == 0


def test_finished_and_stale_index_rows_are_dropped_without_asking_twilio(app_env: Any) -> None:
    now = delivery_store.now()
    _open("done", now, sid=_sid(50))
    app_recorder().record(
        "done", Report(key="cb-late", status="delivered", source="twilio", twilio_sid=_sid(50))
    )
    assert _index_row("done", now) is None  # closed by the recorder
    # A crash between the final report and the close leaves the row: the sweeper drops it.
    app_store().open_delivery("done", "sms", now, now, _request("done"))
    # A copy of a delivery claimed in another hour leaves a row in its own hour.
    app_store().open_delivery("done", "sms", now - timedelta(hours=2), now, _request("done"))
    # An index row whose claim never happened (the process died in between).
    old = now - timedelta(hours=2)
    app_store().open_delivery("never-claimed", "sms", old, old, _request("never-claimed"))
    twilio = FakeTwilio()
    summary = sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert twilio.asked == []
    assert summary.closed == 3
    assert app_store().due_deliveries(now + 2 * MINUTE, 10) == []


def test_an_abandoned_claim_that_reached_twilio_is_reconciled(app_env: Any) -> None:
    now = delivery_store.now()
    opened = now - timedelta(hours=2)
    _open("claim-sent", opened, sid=None)
    twilio = FakeTwilio(found=[TwilioResource(sid=_sid(60), status="delivered")])
    summary = sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert twilio.asked == ["find:claim-sent"]
    assert summary.reconciled == 1
    state = app_store().get_state("claim-sent")
    assert state is not None
    assert (state.status, state.twilio_sid) == ("delivered", _sid(60))
    assert app_store().sid_owner(_sid(60)) == "claim-sent"
    (row,) = [r for r in _history("claim-sent") if r["source"] == "poll"]
    assert json.loads(row["detail"]) == {"source": "poll", "reconciled": True}
    assert _index_row("claim-sent", opened) is None


def test_an_abandoned_claim_that_never_reached_twilio_is_failed_not_sent(
    app_env: Any, read_events: Any
) -> None:
    now = delivery_store.now()
    opened = now - timedelta(hours=2)
    _open("claim-lost", opened, sid=None)
    _open("other", opened, sid=_sid(71))  # owns SM…71: never adopted by another request
    twilio = FakeTwilio(found=[TwilioResource(sid=_sid(71), status="delivered")])
    twilio.statuses[_sid(71)] = "delivered"
    summary = sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert summary.abandoned == 1
    state = app_store().get_state("claim-lost")
    assert state is not None
    assert (state.status, state.status_source, state.twilio_sid) == ("failed", "local", None)
    assert "nothing was sent" in (state.error_message or "")
    (event,) = [e for e in read_events() if e["id"] == "claim-lost"]
    assert event["status"] == "failed"
    assert _index_row("claim-lost", opened) is None


def test_a_recent_claim_is_left_to_its_queue_message(app_env: Any) -> None:
    now = delivery_store.now()
    _open("claim-young", now - 10 * MINUTE, sid=None)
    twilio = FakeTwilio()
    sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert twilio.asked == []
    state = app_store().get_state("claim-young")
    assert state is not None
    assert state.status == "sending"
    row = _index_row("claim-young", now - 10 * MINUTE)
    assert row is not None
    # Looked at again when its queue message can no longer be retried (the claim timeout).
    assert row["due_at"] == now - 10 * MINUTE + timedelta(minutes=60)


def test_a_run_looks_at_most_at_max_deliveries(
    configure: Any, storage_connection_string: str
) -> None:
    configure(storage_connection_string, STATUS_SWEEP_MAX_DELIVERIES="2")
    now = delivery_store.now()
    for n in (80, 81, 82):
        _open(f"r{n}", now + timedelta(seconds=n - 80), sid=_sid(n))
    twilio = FakeTwilio(statuses={_sid(n): "delivered" for n in (80, 81, 82)})
    assert sweep(app_recorder(), twilio, now=now + 2 * MINUTE).due == 2
    assert sweep(app_recorder(), twilio, now=now + 2 * MINUTE).due == 1


def test_a_report_applied_but_not_finished_gets_its_event_and_history_row(
    app_env: Any, read_events: Any
) -> None:
    now = delivery_store.now()
    _open("half-done", now, sid=_sid(90))
    key = f"cb-{_sid(90)}-delivered-x"
    # The state write of a `delivered` callback, then the process died (no event, no history)
    # and Twilio gave up retrying the callback.
    app_store().update_state(
        "half-done",
        lambda state: {
            "status": "delivered",
            "status_source": "twilio",
            "event_count": state.event_count + 1,
            "last_report_key": key,
        },
    )
    twilio = FakeTwilio()
    summary = sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert twilio.asked == []
    assert summary.finished == 1
    (row,) = [r for r in _history("half-done") if r["RowKey"] == f"h-{key}"]
    assert (row["status"], row["applied"]) == ("delivered", True)
    assert json.loads(row["detail"]) == {"source": "poll", "recovered": True}
    (event,) = [e for e in read_events() if e["id"] == "half-done" and e["status"] == "delivered"]
    assert event["sequence"] == 2
    assert _index_row("half-done", now) is None


def test_an_unexpected_error_with_one_delivery_does_not_stop_the_others(app_env: Any) -> None:
    now = delivery_store.now()
    _open("buggy", now, sid=_sid(95))
    _open("next", now + timedelta(seconds=1), sid=_sid(96))

    class Buggy(FakeTwilio):
        def fetch(self, channel: Channel, sid: str) -> PolledStatus:
            if sid == _sid(95):
                self.asked.append(sid)
                raise RuntimeError("a bug")
            return super().fetch(channel, sid)

    twilio = Buggy(statuses={_sid(96): "delivered"})
    summary = sweep(app_recorder(), twilio, now=now + 2 * MINUTE)
    assert (summary.errors, summary.stopped) == (1, None)
    assert twilio.asked == [_sid(95), _sid(96)]
    state = app_store().get_state("next")
    assert state is not None
    assert state.status == "delivered"
    assert _index_row("buggy", now) is not None  # due again next run


def _take_over(rid: str) -> None:
    """What a live attempt's reclaim writes (`send_pipeline._reclaim`): the next claim."""
    app_store().update_state(
        rid,
        lambda state: {
            "status": "sending",
            "status_source": "local",
            "attempts": state.attempts + 1,
            "claimed_at": delivery_store.now(),
            "failure_class": "",
        },
    )


def test_a_claim_taken_over_while_it_is_settled_is_not_failed(
    app_env: Any, read_events: Any
) -> None:
    now = delivery_store.now()
    opened = now - timedelta(hours=2)
    _open("claim-back", opened, sid=None)

    class LiveAttempt(FakeTwilio):
        """Twilio has nothing yet; meanwhile the request's queue message came back (the host was
        down longer than the claim timeout) and its attempt took the claim over."""

        def find(
            self, channel: Channel, request: dict[str, Any], since: datetime
        ) -> list[TwilioResource]:
            found = super().find(channel, request, since)
            _take_over("claim-back")
            return found

    summary = sweep(app_recorder(), LiveAttempt(), now=now + 2 * MINUTE)
    assert summary.abandoned == 0
    state = app_store().get_state("claim-back")
    assert state is not None
    # The live attempt's claim stands (it reconciles, then sends): no `failed` recorded on it.
    assert (state.status, state.attempts) == ("sending", 2)
    assert [e for e in read_events() if e["id"] == "claim-back"] == []
    assert _index_row("claim-back", opened) is not None


def test_a_claim_taken_over_before_the_settled_row_is_closed_is_indexed_again(
    app_env: Any, monkeypatch: Any
) -> None:
    now = delivery_store.now()
    opened = now - timedelta(hours=2)
    _open("claim-late", opened, sid=None)
    store = app_store()
    close = store.close_delivery

    def taken_over_first(request_id: str, partition: str) -> None:
        # The live attempt reclaims and indexes the delivery (a no-op: the row is there) just
        # after the sweeper recorded `failed`, just before the sweeper removes the row.
        _take_over(request_id)
        app_store().open_delivery(
            request_id, "sms", now, now, _request(request_id), created_at=opened
        )
        close(request_id, partition)

    monkeypatch.setattr(store, "close_delivery", taken_over_first)
    summary = sweep(app_recorder(), FakeTwilio(), now=now + 2 * MINUTE)
    monkeypatch.setattr(store, "close_delivery", close)
    assert summary.abandoned == 1
    state = app_store().get_state("claim-late")
    assert state is not None
    assert (state.status, state.attempts) == ("sending", 2)
    assert _index_row("claim-late", opened) is not None  # polled once the attempt has sent
