"""`delivery_report`: the one builder each of a history row and an event, and the report a state
row remembers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import delivery_report
from shared.delivery_report import (
    Report,
    delivery_event,
    from_remembered,
    history_row,
    remembered,
)

SID = "SM" + "a" * 32
AT = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery_report, "now", lambda: AT)


def test_a_history_row_has_every_field_of_the_report() -> None:
    report = Report(
        key="cb-x",
        status="undelivered",
        source="twilio",
        sequence=3,
        twilio_sid=SID,
        error_code=30003,
        error_message="Unreachable",
        detail={"num_segments": "2"},
    )
    assert history_row(report, applied=True) == {
        "status": "undelivered",
        "source": "twilio",
        "channel": None,
        "sequence": 3,
        "twilio_sid": SID,
        "error_code": 30003,
        "error_message": "Unreachable",
        "detail": {"num_segments": "2"},
        "applied": True,
    }


def test_a_history_row_names_its_own_source_and_channel_and_drops_empty_detail() -> None:
    report = Report(
        key="poll-x", status="sent", source="twilio", history_source="poll", channel="call"
    )
    row = history_row(report, applied=False)
    assert (row["source"], row["channel"], row["detail"], row["applied"]) == (
        "poll",
        "call",
        None,
        False,
    )


def test_an_event_carries_the_delivery_status_and_the_reports_error() -> None:
    report = Report(
        key="cb", status="sent", source="twilio", error_code=1, error_message="e", detail={"a": 1}
    )
    event = delivery_event(
        "r-1",
        report,
        channel="sms",
        status="delivered",
        twilio_sid=SID,
        sequence=4,
        metadata={"m": True},
    )
    assert event.model_dump() == {
        "id": "r-1",
        "channel": "sms",
        "status": "delivered",
        "twilio_sid": SID,
        "error_code": 1,
        "error_message": "e",
        "at": AT,
        "sequence": 4,
        "metadata": {"m": True},
        "detail": {"a": 1},
    }


def test_an_events_sequence_is_at_least_one() -> None:
    report = Report(key="k", status="rejected", source="local")
    event = delivery_event(
        "r", report, channel="sms", status="rejected", twilio_sid=None, sequence=0, metadata={}
    )
    assert event.sequence == 1


def test_news_carries_the_status_twilio_reported_without_changing_the_report() -> None:
    report = Report(
        key="answer", status="in-progress", source="twilio", detail={"digits": "1"}, news=True
    )
    event = delivery_event(
        "r", report, channel="call", status="ringing", twilio_sid=None, sequence=2, metadata={}
    )
    assert event.status == "ringing"
    assert event.detail == {"digits": "1", "reported_status": "in-progress"}
    assert report.detail == {"digits": "1"}


def test_a_remembered_report_comes_back_as_it_was() -> None:
    report = Report(
        key="local-1-created",
        status="queued",
        source="twilio",
        twilio_sid=SID,
        error_code=None,
        detail={"reconciled": False},
        state_change={"failure_class": ""},
        remember=True,
    )
    data = remembered(report, 3)
    assert from_remembered(data) == (
        Report(
            key="local-1-created",
            status="queued",
            source="twilio",
            twilio_sid=SID,
            detail={"reconciled": False},
        ),
        3,
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, None),
        ({"key": 7, "status": "queued"}, None),
        (
            {"key": "k", "status": "sent", "source": "poll", "sequence": True, "event_sequence": 0},
            (Report(key="k", status="sent", source="local"), 1),
        ),
        (
            {
                "key": "k",
                "status": "sent",
                "error_code": "30003",
                "detail": "text",
                "twilio_sid": 1,
            },
            (Report(key="k", status="sent", source="local"), 1),
        ),
    ],
    ids=["empty", "key-not-text", "odd-values", "wrong-types"],
)
def test_an_unreadable_remembered_report_reads_safely(
    data: dict[str, object], expected: tuple[Report, int] | None
) -> None:
    assert from_remembered(data) == expected  # type: ignore[arg-type]
