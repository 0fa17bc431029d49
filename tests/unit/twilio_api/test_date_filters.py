"""The List date filters: one reading of Twilio's documented semantics for DateSent and
StartTime/EndTime (the same `YYYY-MM-DD` and twilio-python's midnight date-time agree)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulators.twilio_api.date_filters import parse_date_filter, read_date_filters
from emulators.twilio_api.errors import TwilioError

NOON = datetime(2026, 7, 6, 12, 30, 15, 500_000, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["2026-07-06", "2026-07-06T00:00:00Z", "2026-07-06T00:00:00"])
@pytest.mark.parametrize(
    ("key", "same_day", "later_day", "earlier_day"),
    [
        ("DateSent", True, False, False),
        ("DateSent<", True, False, True),  # "on and before a specific date"
        ("DateSent>", True, True, False),  # "on and after"
        ("StartTime", True, False, False),
        ("StartTime<", False, False, True),  # "started before this date"
        ("StartTime>", True, True, False),  # "started on or after this date"
        ("EndTime<", False, False, True),
        ("EndTime>", True, True, False),
    ],
)
def test_a_day_bound_follows_the_documented_rule(
    raw: str, key: str, same_day: bool, later_day: bool, earlier_day: bool
) -> None:
    date_filter = parse_date_filter(key, raw)

    assert date_filter.passes(NOON) is same_day
    assert date_filter.passes(datetime(2026, 7, 5, 23, 59, 59, tzinfo=UTC)) is earlier_day
    assert date_filter.passes(datetime(2026, 7, 7, 0, 0, 0, tzinfo=UTC)) is later_day


@pytest.mark.parametrize("field", ["DateSent", "StartTime", "EndTime"])
def test_a_moment_bound_compares_to_the_second_both_ways_inclusive(field: str) -> None:
    before = parse_date_filter(field + "<", "2026-07-06T12:30:15Z")
    after = parse_date_filter(field + ">", "2026-07-06T14:30:15+02:00")

    assert before.passes(NOON)
    assert after.passes(NOON)
    assert not before.passes(NOON.replace(second=16))
    assert not after.passes(NOON.replace(second=14))


def test_equal_with_a_moment_keeps_its_utc_day() -> None:
    date_filter = parse_date_filter("StartTime", "2026-07-07T01:00:00+02:00")

    assert date_filter.passes(NOON)


def test_a_missing_date_is_never_listed() -> None:
    assert not parse_date_filter("DateSent>", "2000-01-01").passes(None)


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01", "2026-07-06T25:00:00Z"])
def test_a_bound_that_is_no_date_is_20001(raw: str) -> None:
    with pytest.raises(TwilioError) as caught:
        parse_date_filter("EndTime>", raw)

    assert caught.value.status == 400
    assert caught.value.code == 20001
    assert raw in caught.value.message


def test_read_date_filters_takes_the_fields_asked_for_and_skips_empty_values() -> None:
    query = {"StartTime<": "2026-07-06", "EndTime": "", "DateSent": "2026-07-06", "To": "+1"}

    found = read_date_filters(query, "StartTime", "EndTime")

    assert [(f.field, f.op) for f in found] == [("StartTime", "<")]
