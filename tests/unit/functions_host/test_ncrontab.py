"""The NCRONTAB parser: fields, ranges, steps, lists, names, and the next occurrence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulators.functions_host.ncrontab import CronError, parse_cron

# A Tuesday.
NOW = datetime(2026, 12, 1, 8, 30, 15, 500_000, tzinfo=UTC)


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("* * * * * *", _at(2026, 12, 1, 8, 30, 16)),
        ("*/5 * * * * *", _at(2026, 12, 1, 8, 30, 20)),
        ("0 */5 * * * *", _at(2026, 12, 1, 8, 35)),
        ("0 0 */2 * * *", _at(2026, 12, 1, 10)),
        ("10-20/5 * * * * *", _at(2026, 12, 1, 8, 30, 20)),
        ("50/5 * * * * *", _at(2026, 12, 1, 8, 30, 50)),  # a/n: from a to the maximum
        ("5,10,40 * * * * *", _at(2026, 12, 1, 8, 30, 40)),
        ("0 0,30 9-17 * * *", _at(2026, 12, 1, 9)),
        ("0 30 9 * * 1-5", _at(2026, 12, 1, 9, 30)),
        ("0 0 9 * * MON-FRI", _at(2026, 12, 1, 9)),
        ("0 0 12 * * sun", _at(2026, 12, 6, 12)),
        ("0 0 12 * * 0", _at(2026, 12, 6, 12)),  # Sunday is 0
        ("0 0 12 * * Saturday", _at(2026, 12, 5, 12)),
        ("0 0 0 31 * *", _at(2026, 12, 31)),
        ("0 0 0 1 JAN,jul *", _at(2027, 1, 1)),
        ("0 0 0 30 2-3 *", _at(2027, 3, 30)),  # no 30 February
        ("0 0 0 29 2 *", _at(2028, 2, 29)),  # leap year
        ("0 0 0 13 * 5", _at(2027, 8, 13)),  # Friday the 13th: day AND day of week
        ("5-1 0 0 * * *", _at(2026, 12, 2, 0, 0, 1)),  # a reversed range is swapped
        ("*/0 * * * * *", _at(2026, 12, 1, 8, 30, 16)),  # a step below 1 counts as 1
        ("5 4 * * *", _at(2026, 12, 2, 4, 5)),  # five fields: no seconds, second 0
        ("  0   0  *  * * *  ", _at(2026, 12, 1, 9)),
    ],
)
def test_next_occurrence(expression: str, expected: datetime) -> None:
    assert parse_cron(expression).next_after(NOW) == expected


def test_next_is_strictly_after_an_exact_occurrence() -> None:
    schedule = parse_cron("0 * * * * *")
    assert schedule.next_after(_at(2026, 12, 1, 8, 30)) == _at(2026, 12, 1, 8, 31)


def test_month_end_and_year_roll_over() -> None:
    schedule = parse_cron("59 59 23 31 12 *")
    assert schedule.next_after(_at(2026, 12, 31, 23, 59, 59)) == _at(2027, 12, 31, 23, 59, 59)


def test_a_date_that_never_exists_has_no_occurrence() -> None:
    assert parse_cron("0 0 0 31 2 *").next_after(NOW) is None


def test_fields_hold_the_values_they_name() -> None:
    schedule = parse_cron("0 0 0 * * MON,wed-FRIDAY")
    assert schedule.days_of_week == frozenset({1, 3, 4, 5})
    assert schedule.has_seconds
    assert not parse_cron("0 0 * * *").has_seconds


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "must contain 6 components"),
        ("* * * * * * *", "must contain 6 components"),
        ("", "must contain 6 components"),
        ("60 * * * * *", "[Second]"),
        ("* 60 * * * *", "[Minute]"),
        ("* * 24 * * *", "[Hour]"),
        ("* * * 0 * *", "[Day]"),
        ("* * * 32 * *", "[Day]"),
        ("* * * * 13 *", "[Month]"),
        ("* * * * 0 *", "[Month]"),
        ("* * * * * 7", "[DayOfWeek]"),
        ("* * * * * XYZ", "not a known name"),
        ("* * * * * Mondays", "not a known name"),
        ("x * * * * *", "must be a number"),
        ("1,,2 * * * * *", "cannot be empty"),
        ("1, * * * * *", "cannot be empty"),
        ("*/x * * * * *", "is not a number"),
        ("/5 * * * * *", "a step needs"),
        ("1-x * * * * *", "must be a number"),
        ("-5 * * * * *", "must be a number"),
        ("*-5 * * * * *", "must be a number"),
        ("\u0663 * * * * *", "must be a number"),  # a non-ASCII digit
    ],
)
def test_invalid_expressions_are_refused(expression: str, message: str) -> None:
    with pytest.raises(CronError) as refused:
        parse_cron(expression)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("expression", "frequent"),
    [
        ("* * * * * *", True),
        ("*/30 * * * * *", True),
        ("0 * * * * *", False),  # exactly once a minute keeps the monitor
        ("0 */5 * * * *", False),
        ("* 0 * * * *", False),  # a restricted minute field keeps it too
    ],
)
def test_more_than_once_a_minute(expression: str, frequent: bool) -> None:
    assert parse_cron(expression).occurs_more_than_once_a_minute(NOW) is frequent
