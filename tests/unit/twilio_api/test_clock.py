"""Emulated time: waits scaled by the speed, Twilio's RFC 2822 dates, ISO 8601 parsing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from emulators.twilio_api.clock import Clock, parse_iso8601, rfc2822, utc_now


def test_real_seconds_divide_by_the_speed_and_never_go_negative() -> None:
    clock = Clock(200)
    assert clock.real_seconds(10) == pytest.approx(0.05)
    assert clock.real_seconds(-5) == 0.0


@pytest.mark.parametrize("speed", [0, -1])
def test_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Clock(speed)


async def test_sleep_lasts_the_scaled_time() -> None:
    clock = Clock(1000)
    started = time.monotonic()
    await clock.sleep(50)  # 0.05 s of real time
    assert time.monotonic() - started >= 0.04


def test_utc_now_is_aware_utc() -> None:
    assert utc_now().tzinfo is UTC


def test_rfc2822_formats_in_utc_like_twilio() -> None:
    moment = datetime(2023, 8, 24, 7, 1, 45, tzinfo=timezone(timedelta(hours=2)))
    assert rfc2822(moment) == "Thu, 24 Aug 2023 05:01:45 +0000"


def test_parse_iso8601_takes_naive_as_utc_and_converts_offsets() -> None:
    assert parse_iso8601(" 2024-01-02T03:04:05 ") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_iso8601("2024-01-02T05:04:05+02:00") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_iso8601("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "tomorrow", "2024-13-01"])
def test_parse_iso8601_answers_none_for_no_timestamp(text: str) -> None:
    assert parse_iso8601(text) is None
