"""When the status sweeper looks at an unfinished delivery: first after `backoff[0]`, then after
poll n `backoff[n]` later, the last step repeating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.settings import DEFAULT_STATUS_SWEEP_BACKOFF
from shared.sweep_schedule import first_due, next_due

OPENED = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def test_the_first_look_is_the_first_step_after_opening() -> None:
    assert first_due(OPENED, (45.0, 600.0)) == OPENED + timedelta(seconds=45)


def test_the_default_schedule_polls_after_1_5_30_minutes_2_hours_then_every_6_hours() -> None:
    due = first_due(OPENED, DEFAULT_STATUS_SWEEP_BACKOFF)
    gaps = [due - OPENED]
    for polls in range(1, 8):
        later = next_due(due, polls, DEFAULT_STATUS_SWEEP_BACKOFF)
        gaps.append(later - due)
        due = later
    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    assert gaps == [minute, 5 * minute, 30 * minute, 2 * hour, *[6 * hour] * 4]


def test_the_next_look_counts_from_the_last_poll_not_from_opening() -> None:
    polled_at = OPENED + timedelta(days=2, seconds=7)
    assert next_due(polled_at, 1, (10.0, 20.0)) == polled_at + timedelta(seconds=20)


@pytest.mark.parametrize(("polls", "seconds"), [(0, 1.0), (1, 2.0), (2, 3.0), (3, 3.0), (99, 3.0)])
def test_the_last_step_repeats(polls: int, seconds: float) -> None:
    assert next_due(OPENED, polls, [1.0, 2.0, 3.0]) == OPENED + timedelta(seconds=seconds)


def test_a_one_step_schedule_always_waits_that_step() -> None:
    assert first_due(OPENED, (90.0,)) == OPENED + timedelta(seconds=90)
    assert next_due(OPENED, 5, (90.0,)) == OPENED + timedelta(seconds=90)


def test_fractions_of_a_second_and_the_time_zone_are_kept() -> None:
    local = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    due = first_due(local, (2.5,))
    assert due == local + timedelta(milliseconds=2500)
    assert due.utcoffset() == timedelta(hours=2)
