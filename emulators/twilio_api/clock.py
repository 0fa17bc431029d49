"""Emulated time: `--speed` shortens every wait; dates on resources are real UTC wall-clock time."""

import asyncio
from datetime import UTC, datetime
from email.utils import format_datetime


class Clock:
    """Scales the emulator's waits: at speed N, an N-second wait takes one real second."""

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed

    def real_seconds(self, emulated_seconds: float) -> float:
        """How long `emulated_seconds` of Twilio time lasts in real time at this speed."""
        return max(0.0, emulated_seconds) / self.speed

    async def sleep(self, emulated_seconds: float) -> None:
        """Sleep for `emulated_seconds` of Twilio time (scaled by the speed)."""
        await asyncio.sleep(self.real_seconds(emulated_seconds))


def utc_now() -> datetime:
    """The current UTC time (timezone-aware)."""
    return datetime.now(UTC)


def rfc2822(moment: datetime) -> str:
    """Format like Twilio's date fields: `Thu, 24 Aug 2023 05:01:45 +0000`."""
    return format_datetime(moment.astimezone(UTC))


def parse_iso8601(text: str) -> datetime | None:
    """Parse an ISO 8601 timestamp (naive values are taken as UTC); None if it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
