"""NCRONTAB expressions as the Functions timer trigger reads them (the NCrontab library's rules).

Six fields `second minute hour day month day-of-week`, or five without the seconds (then the
second is 0). Each field is `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a`
to the field's maximum), or a comma list of those. Months and days of the week also take names,
matched case-insensitively as a prefix of the English name (`Jan`, `MON`, `Tuesday`). Day of week
is 0-6, Sunday 0. Day of month and day of week must both match (NCrontab ANDs them, unlike Vixie
cron). Like NCrontab, a reversed range `5-1` means `1-5` and a step below 1 counts as 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_INTEGER = re.compile(r"^-?[0-9]+$")
# A schedule that matches no date within one 400-year Gregorian cycle never matches.
SEARCH_YEARS = 400


class CronError(ValueError):
    """An expression NCrontab would refuse; the message says which field and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


SECOND = _Field("Second", 0, 59)
MINUTE = _Field("Minute", 0, 59)
HOUR = _Field("Hour", 0, 23)
DAY = _Field("Day", 1, 31)
MONTH = _Field("Month", 1, 12, MONTH_NAMES)
DAY_OF_WEEK = _Field("DayOfWeek", 0, 6, DAY_NAMES)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed expression: the allowed values of each field."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    has_seconds: bool

    def next_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after `moment` (whole seconds, same tzinfo), or None
        when the expression matches no date (e.g. 31 February)."""
        t = moment.replace(microsecond=0) + timedelta(seconds=1)
        last_year = moment.year + SEARCH_YEARS
        while t.year <= last_year:
            if t.month not in self.months:
                t = _first_of_next_month(t)
            elif t.day not in self.days or _weekday(t) not in self.days_of_week:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
            elif t.second not in self.seconds:
                t += timedelta(seconds=1)
            else:
                return t
        return None

    def occurs_more_than_once_a_minute(self, moment: datetime) -> bool:
        """The host's test for turning the schedule monitor off: `X * * * * *` with more than
        one occurrence in the minute after `moment`."""
        every_minute = (
            len(self.minutes) == 60
            and len(self.hours) == 24
            and len(self.days) == 31
            and len(self.months) == 12
            and len(self.days_of_week) == 7
        )
        if not every_minute:
            return False
        first = self.next_after(moment)
        second = self.next_after(first) if first is not None else None
        return second is not None and second < moment + timedelta(minutes=1)


def _first_of_next_month(t: datetime) -> datetime:
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return t.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)


def _weekday(t: datetime) -> int:
    """Day of week with Sunday 0, as .NET's DayOfWeek."""
    return (t.weekday() + 1) % 7


def parse_cron(expression: str) -> CronSchedule:
    """Parse an NCRONTAB expression; five fields (no seconds) or six. Raises CronError."""
    tokens = expression.split()
    # The timer trigger asks NCrontab for seconds unless there are exactly five fields.
    has_seconds = len(tokens) != 5
    if has_seconds and len(tokens) != 6:
        raise CronError(
            f"'{expression}' is an invalid crontab expression. It must contain 6 components of "
            "a schedule in the sequence of seconds, minutes, hours, days, months, and days of "
            "week (or 5, without the seconds)."
        )
    fields = (SECOND, MINUTE, HOUR, DAY, MONTH, DAY_OF_WEEK)[0 if has_seconds else 1 :]
    values = [_parse_field(token, field) for token, field in zip(tokens, fields, strict=True)]
    if not has_seconds:
        values.insert(0, frozenset({0}))
    seconds, minutes, hours, days, months, days_of_week = values
    return CronSchedule(
        expression=" ".join(tokens),
        seconds=seconds,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        days_of_week=days_of_week,
        has_seconds=has_seconds,
    )


def _parse_field(token: str, field: _Field) -> frozenset[int]:
    try:
        chosen: set[int] = set()
        for part in token.split(","):
            chosen |= _parse_part(part, field)
    except CronError as error:
        raise CronError(
            f"'{token}' is not a valid [{field.name}] crontab field expression: {error}"
        ) from None
    return frozenset(chosen)


def _parse_part(part: str, field: _Field) -> set[int]:
    if not part:
        raise CronError("a crontab field value cannot be empty")
    stepped = "/" in part
    step = 1
    if stepped:
        part, _, raw_step = part.partition("/")
        if not part:
            raise CronError("a step needs a value, range or * before '/'")
        step = max(_integer(raw_step), 1)
    if part == "*":
        low, high = field.low, field.high
    elif "-" in part[1:]:
        first, _, last = part.partition("-")
        low, high = sorted((_value(first, field), _value(last, field)))
    else:
        low = _value(part, field)
        # `a/n` runs from a to the field's maximum; a lone value is just itself.
        high = field.high if stepped else low
    return set(range(low, high + 1, step))


def _integer(text: str) -> int:
    if not _INTEGER.match(text):
        raise CronError(f"'{text}' is not a number")
    return int(text)


def _value(text: str, field: _Field) -> int:
    if not text:
        raise CronError("a crontab field value cannot be empty")
    value = _integer(text) if text[0] in "0123456789" else _named_value(text, field)
    if value < field.low or value > field.high:
        raise CronError(
            f"{value} is outside the [{field.name}] field's range {field.low}-{field.high}"
        )
    return value


def _named_value(text: str, field: _Field) -> int:
    if not field.names:
        raise CronError(
            f"'{text}' must be a number between {field.low} and {field.high} (all inclusive)"
        )
    for index, name in enumerate(field.names):
        if name.lower().startswith(text.lower()):
            return field.low + index
    raise CronError(f"'{text}' is not a known name; use one of {', '.join(field.names)}")
