"""The List APIs' date filters (Messages `DateSent`, Calls `StartTime` and `EndTime`, each also
with `<` and `>`), as Twilio's API definition (twilio_api_v2010.json) documents them.

A bound is a UTC day (`YYYY-MM-DD`, or a date-time at midnight: twilio-python sends every date
as `YYYY-MM-DDT00:00:00Z`) or a moment (a date-time with another time of day; compared to the
second; without an offset it is taken as UTC, "GMT dates"). `Field=` keeps the bound's day and
`Field>=` is "on or after" for both resources. `Field<=` differs: "Messages with `sent_date`s on
and before a specific date" but "calls that started before this date".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from emulators.twilio_api.clock import parse_iso8601
from emulators.twilio_api.errors import bad_request

# Whether `Field<` (sent as `Field<=`) keeps resources of the bound's own day.
_BEFORE_KEEPS_THE_DAY = {"DateSent": True, "StartTime": False, "EndTime": False}
_SUFFIXES = ("", "<", ">")


@dataclass(frozen=True)
class DateFilter:
    """One date filter of a List request: `field`, its operator (`=`, `<`, `>`) and bound."""

    field: str
    op: str
    day: date
    moment: datetime | None  # None: the bound is the whole day

    def passes(self, value: datetime | None) -> bool:
        """Whether a resource whose `field` is `value` is listed (a missing date never is)."""
        if value is None:
            return False
        if self.op == "=":
            return value.date() == self.day
        if self.moment is not None:
            second = value.replace(microsecond=0)
            return second <= self.moment if self.op == "<" else second >= self.moment
        if self.op == ">":
            return value.date() >= self.day
        if _BEFORE_KEEPS_THE_DAY[self.field]:
            return value.date() <= self.day
        return value.date() < self.day


def parse_date_filter(key: str, raw: str) -> DateFilter:
    """The filter query parameter `key` (e.g. `StartTime<`) asks for; 400/20001 if `raw` is
    neither a `YYYY-MM-DD` date nor an ISO 8601 date-time."""
    field = key.rstrip("<>")
    if field not in _BEFORE_KEEPS_THE_DAY:
        raise ValueError(f"{key} is not a date filter")
    op = key.removeprefix(field) or "="
    if len(raw) == 10:
        try:
            return DateFilter(field, op, date.fromisoformat(raw), None)
        except ValueError:
            pass
    moment = parse_iso8601(raw)
    if moment is None:
        raise bad_request(20001, f"Invalid {key}: {raw}")
    whole_day = moment.time() == datetime.min.time()
    return DateFilter(field, op, moment.date(), None if whole_day else moment)


def read_date_filters(query: Mapping[str, str], *fields: str) -> list[DateFilter]:
    """The date filters on `fields` that `query` gives (an empty value is no filter)."""
    return [
        parse_date_filter(field + suffix, query[field + suffix])
        for field in fields
        for suffix in _SUFFIXES
        if query.get(field + suffix)
    ]
