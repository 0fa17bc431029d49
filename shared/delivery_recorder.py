"""Record one report about a delivery: apply it to the state row, append history, emit an event.

Used by the send path (the app's own transitions), the status callback and the Gather answers.
Order: state (ETag-checked) → event → history row. The history row marks the report as done, so
a report repeated after that changes nothing; if the process dies before it, the retried report
finds its key in `last_report_key` and the event is published again (at least once). A copy of
the report that runs concurrently and loses the ETag race to the first one (412, then finds its
key applied) is a duplicate: it changes and publishes nothing.
Only a report that changes the current status (or carries news such as digits) emits an event,
so consumers never see a delivery move backwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import JsonValue

from shared import delivery_store
from shared.contracts import DeliveryEvent
from shared.delivery_store import CLEARED, DeliveryState, StateChange
from shared.events_publisher import publish
from shared.status_rules import FAILED, REJECTED, Channel, Source, is_final, should_apply


class RecordOutcome(StrEnum):
    """What recording a report did."""

    APPLIED = "applied"  # the current status changed (or news was added): event published
    KEPT = "kept"  # recorded in history; the current status stays (older or equal report)
    DUPLICATE = "duplicate"  # this exact report was recorded before: nothing changed
    UNKNOWN = "unknown"  # no delivery with this request id
    IGNORED = "ignored"  # not a report the app understands (no status): nothing recorded


@dataclass(frozen=True)
class Report:
    """One report about a delivery. `key` is unique per report (the history row is `h-<key>`)."""

    key: str
    status: str
    source: Source
    sequence: int | None = None
    twilio_sid: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)
    # Extra properties written to the state row together with an applied report.
    state_change: StateChange = field(default_factory=dict)
    # News without a status change (Gather digits): always an event, status untouched.
    news: bool = False
    # Keep the report on the state row when it applies (`remembered_report`), so that a retry
    # can finish it (`finish_report`) even after later reports moved the delivery on.
    remember: bool = False
    # The history row's `source` when it is not `source`: `poll` for what the status sweeper
    # read from Twilio (Twilio's word, so `source` is `twilio` for the status rules).
    history_source: str | None = None
    # Applies only while the state's `attempts` is this: a verdict about one claim (the status
    # sweeper's "abandoned") must not land on a newer claim that a live attempt made since.
    for_attempt: int | None = None


def _decide(report: Report, state: DeliveryState) -> StateChange | None:
    if state.last_report_key == report.key:
        return None  # applied before a crash; the event goes out again below
    if report.twilio_sid and state.twilio_sid and report.twilio_sid != state.twilio_sid:
        return None  # a report about another Twilio resource never moves this delivery
    if report.for_attempt is not None and state.attempts != report.for_attempt:
        return None  # the claim it judged was taken over by another attempt
    if report.news:
        return {"event_count": state.event_count + 1, "last_report_key": report.key}
    if not should_apply(
        state.channel,
        state.status,
        state.sequence,
        report.status,
        report.sequence,
        current_source=state.status_source,
        new_source=report.source,
    ):
        return None
    change: StateChange = {
        "status": report.status,
        "status_source": report.source,
        "sequence": report.sequence,
        "error_code": report.error_code,
        "error_message": report.error_message,
        "event_count": state.event_count + 1,
        "last_report_key": report.key,
        **report.state_change,
    }
    if state.twilio_sid is None:
        change["twilio_sid"] = report.twilio_sid
    if report.remember:
        change["remembered_report"] = _remembered(report, state.event_count + 1)
    if _corrects_local_failure(state, report):
        # Twilio's word replaces the app's "gave up": the old error no longer describes it.
        change["error_code"] = report.error_code if report.error_code is not None else CLEARED
        change["error_message"] = report.error_message or CLEARED
        change.setdefault("failure_class", CLEARED)
    return change


def _corrects_local_failure(state: DeliveryState, report: Report) -> bool:
    return state.status == FAILED and state.status_source == "local" and report.source == "twilio"


def record(request_id: str, report: Report) -> RecordOutcome:
    """Apply `report` to the delivery `request_id` (see the module docstring for the order)."""
    if delivery_store.history_exists(request_id, report.key):
        return RecordOutcome.DUPLICATE
    applied_before: list[bool] = []  # whether the first read already showed this report

    def decide(state: DeliveryState) -> StateChange | None:
        if not applied_before:
            applied_before.append(state.last_report_key == report.key)
        change = _decide(report, state)
        if change is not None and change.get("twilio_sid"):
            # Indexed before the state names the SID (idempotent, first writer wins): a process
            # that dies in between never leaves a recorded SID out of the index.
            delivery_store.index_sid(str(change["twilio_sid"]), request_id)
        return change

    try:
        state, change = delivery_store.update_state(request_id, decide)
    except LookupError:
        return RecordOutcome.UNKNOWN
    if change is None and state.last_report_key == report.key and not applied_before[0]:
        # A concurrent copy of this report applied it between our read and our write (412):
        # that copy publishes the event and writes the history row.
        return RecordOutcome.DUPLICATE
    # Already applied when first read: an earlier run died before its history row, so the
    # event goes out again (at least once).
    emit = change is not None or state.last_report_key == report.key
    if emit:
        publish(_event(request_id, state, report))
    if not delivery_store.add_history(request_id, report.key, _history(report, applied=emit)):
        return RecordOutcome.DUPLICATE
    if emit:
        _close_if_final(request_id, state)
    return RecordOutcome.APPLIED if emit else RecordOutcome.KEPT


def _history(report: Report, *, applied: bool) -> dict[str, Any]:
    return {
        "status": report.status,
        "source": report.history_source or report.source,
        "sequence": report.sequence,
        "twilio_sid": report.twilio_sid,
        "error_code": report.error_code,
        "error_message": report.error_message,
        "detail": report.detail or None,
        "applied": applied,
    }


def _remembered(report: Report, event_sequence: int) -> dict[str, JsonValue]:
    return {
        "key": report.key,
        "status": report.status,
        "source": report.source,
        "sequence": report.sequence,
        "twilio_sid": report.twilio_sid,
        "error_code": report.error_code,
        "error_message": report.error_message,
        "detail": report.detail,
        "event_sequence": event_sequence,
    }


def finish_report(request_id: str, state: DeliveryState) -> RecordOutcome:
    """Finish the report remembered on `state` (`Report.remember`) if the run that applied it
    stopped before its history row (a storage error in the event publish or the history insert):
    publish its event again, with the status and `sequence` it had (at least once; consumers
    order by `sequence`, so a late one never moves a delivery backwards), then write the row.

    `DUPLICATE` when its history row exists (nothing to do), `IGNORED` when none is remembered.
    """
    remembered = state.remembered_report
    if not remembered or not isinstance(remembered.get("key"), str):
        return RecordOutcome.IGNORED
    detail = remembered.get("detail")
    report = Report(
        key=str(remembered["key"]),
        status=str(remembered["status"]),
        source="twilio" if remembered.get("source") == "twilio" else "local",
        sequence=_optional_int(remembered.get("sequence")),
        twilio_sid=_optional_str(remembered.get("twilio_sid")),
        error_code=_optional_int(remembered.get("error_code")),
        error_message=_optional_str(remembered.get("error_message")),
        detail=detail if isinstance(detail, dict) else {},
    )
    if delivery_store.history_exists(request_id, report.key):
        return RecordOutcome.DUPLICATE
    publish(
        DeliveryEvent(
            id=request_id,
            channel=state.channel,
            status=report.status,
            twilio_sid=report.twilio_sid or state.twilio_sid,
            error_code=report.error_code,
            error_message=report.error_message,
            at=delivery_store.now(),
            sequence=_optional_int(remembered.get("event_sequence")) or 1,
            metadata=state.metadata,
            detail=dict(report.detail),
        )
    )
    if not delivery_store.add_history(request_id, report.key, _history(report, applied=True)):
        return RecordOutcome.DUPLICATE
    return RecordOutcome.APPLIED


def _optional_int(value: JsonValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _optional_str(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None


def _close_if_final(request_id: str, state: DeliveryState) -> None:
    """Drop a delivery whose status Twilio reported final from the index of unfinished ones.
    After the history row: a crash before this leaves the index row, which the sweeper drops."""
    if state.created_at is not None and is_final(state.channel, state.status, state.status_source):
        delivery_store.close_delivery(request_id, delivery_store.open_partition(state.created_at))


def _event(request_id: str, state: DeliveryState, report: Report) -> DeliveryEvent:
    detail = dict(report.detail)
    if report.news:
        detail["reported_status"] = report.status
    return DeliveryEvent(
        id=request_id,
        channel=state.channel,
        status=state.status,
        twilio_sid=state.twilio_sid,
        error_code=report.error_code,
        error_message=report.error_message,
        at=delivery_store.now(),
        sequence=max(state.event_count, 1),
        metadata=state.metadata,
        detail=detail,
    )


def record_first(
    request_id: str, channel: Channel, report: Report, properties: StateChange
) -> RecordOutcome:
    """Create the delivery with `report` as its first status (e.g. `rejected`) and emit the event.

    Returns `DUPLICATE` (and changes nothing) when the delivery already exists, unless it was
    created by this very report and its history row is missing: an earlier run died (or failed
    to publish) in between, so the event goes out again and the history row is written.
    """
    created = delivery_store.create_state(
        request_id,
        {
            **properties,
            "channel": channel,
            "status": report.status,
            "status_source": report.source,
            "error_code": report.error_code,
            "error_message": report.error_message,
            "event_count": 1,
            "last_report_key": report.key,
            **report.state_change,
        },
    )
    if created is None:
        existing = delivery_store.get_state(request_id)
        unfinished = (
            existing is not None
            and existing.last_report_key == report.key
            and not delivery_store.history_exists(request_id, report.key)
        )
        if existing is None or not unfinished:
            return RecordOutcome.DUPLICATE
        created = existing
    publish(_event(request_id, created, report))
    delivery_store.add_history(
        request_id,
        report.key,
        {"status": report.status, "source": report.source, "detail": report.detail or None},
    )
    return RecordOutcome.APPLIED


def record_conflict(
    request_id: str,
    channel: Channel,
    key: str,
    reason: str,
    *,
    metadata: dict[str, JsonValue],
    sequence: int,
) -> RecordOutcome:
    """Refuse a copy that reuses `request_id` for another request: the delivery's state is not
    touched; a `rejected` event (`detail.conflict`) for the copy and the history row `h-<key>`.

    The event goes out before the history row, so a retry after a crash publishes it again.
    Returns `DUPLICATE` when `h-<key>` exists (this copy was refused before).
    """
    if delivery_store.history_exists(request_id, key):
        return RecordOutcome.DUPLICATE
    detail: dict[str, JsonValue] = {"reason": reason, "conflict": True}
    publish(
        DeliveryEvent(
            id=request_id,
            channel=channel,
            status=REJECTED,
            twilio_sid=None,
            error_message=reason,
            at=delivery_store.now(),
            sequence=max(sequence, 1),
            metadata=metadata,
            detail=detail,
        )
    )
    delivery_store.add_history(
        request_id,
        key,
        {
            "status": REJECTED,
            "source": "local",
            "channel": channel,
            "error_message": reason,
            "detail": detail,
            "applied": False,
        },
    )
    return RecordOutcome.APPLIED
