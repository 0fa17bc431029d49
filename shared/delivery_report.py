"""One report about a delivery, what recording it did, and the two things made from it: its
history row and its event (the one place each is built)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import JsonValue

from shared.contracts import DeliveryEvent
from shared.delivery_store import StateChange, now
from shared.status_rules import Channel, Source


class RecordOutcome(StrEnum):
    """What recording a report did."""

    APPLIED = "applied"  # the current status changed (or news was added): event published
    KEPT = "kept"  # recorded in history; the current status stays (older or equal report)
    DUPLICATE = "duplicate"  # this exact report was recorded before: nothing changed
    NOT_FOUND = "not-found"  # no delivery with this request id
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
    # of the attempt that applied it can publish its event again (`finish_report`).
    remember: bool = False
    # The history row's `source` when it is not `source`: `poll` for what the status sweeper
    # read from Twilio (Twilio's word, so `source` is `twilio` for the status rules).
    history_source: str | None = None
    # Applies only while the state's `attempts` is this: a verdict about one claim (the status
    # sweeper's "abandoned") must not land on a newer claim that a live attempt made since.
    for_attempt: int | None = None
    # The history row's channel, for a row that is not about the delivery's own request (a
    # refused copy of its id).
    channel: Channel | None = None


def history_row(report: Report, *, applied: bool) -> dict[str, Any]:
    """The history row `h-<report.key>` (its properties; the store adds `at`)."""
    return {
        "status": report.status,
        "source": report.history_source or report.source,
        "channel": report.channel,
        "sequence": report.sequence,
        "twilio_sid": report.twilio_sid,
        "error_code": report.error_code,
        "error_message": report.error_message,
        "detail": report.detail or None,
        "applied": applied,
    }


def delivery_event(
    request_id: str,
    report: Report,
    *,
    channel: Channel,
    status: str,
    twilio_sid: str | None,
    sequence: int,
    metadata: dict[str, JsonValue],
) -> DeliveryEvent:
    """The event announcing `report` on delivery `request_id`, whose current status is now
    `status` (news such as Gather digits also carries the status Twilio reported)."""
    detail = dict(report.detail)
    if report.news:
        detail["reported_status"] = report.status
    return DeliveryEvent(
        id=request_id,
        channel=channel,
        status=status,
        twilio_sid=twilio_sid,
        error_code=report.error_code,
        error_message=report.error_message,
        at=now(),
        sequence=max(sequence, 1),
        metadata=metadata,
        detail=detail,
    )


def remembered(report: Report, event_sequence: int) -> dict[str, JsonValue]:
    """`report` as the state row remembers it (`Report.remember`)."""
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


def from_remembered(data: dict[str, JsonValue]) -> tuple[Report, int] | None:
    """The report a state row remembers and its event's sequence; None when unreadable."""
    key, detail = data.get("key"), data.get("detail")
    if not isinstance(key, str):
        return None
    report = Report(
        key=key,
        status=str(data.get("status")),
        source="twilio" if data.get("source") == "twilio" else "local",
        sequence=_optional_int(data.get("sequence")),
        twilio_sid=_optional_str(data.get("twilio_sid")),
        error_code=_optional_int(data.get("error_code")),
        error_message=_optional_str(data.get("error_message")),
        detail=detail if isinstance(detail, dict) else {},
    )
    return report, _optional_int(data.get("event_sequence")) or 1


def _optional_int(value: JsonValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _optional_str(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None
