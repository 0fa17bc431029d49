"""Fault injection: error answers, the ambiguous 500-after-store, slow answers, duplicate and
out-of-order callbacks, and a concurrency limit. Deterministic: each switch has a `rate` (share of
eligible events, drawn from a seeded RNG; 1.0 = every one) and an optional `count` (how many more
times it may fire; None = no limit), so "the next 2 creates answer 429" is `rate=1, count=2`."""

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

SWITCHES = (
    "error_429",
    "error_500",
    "error_500_after_store",
    "slow",
    "duplicate_callbacks",
    "out_of_order_callbacks",
)


@dataclass
class FaultRule:
    """One fault switch: fires for a `rate` share of eligible events, at most `count` times."""

    rate: float = 0.0
    count: int | None = None

    def validate(self) -> None:
        """Raise ValueError if the rule is out of range."""
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if self.count is not None and self.count < 0:
            raise ValueError("count must be >= 0")


@dataclass
class FaultSettings:
    """Every fault switch; all off by default."""

    error_429: FaultRule = field(default_factory=FaultRule)
    error_500: FaultRule = field(default_factory=FaultRule)
    error_500_after_store: FaultRule = field(default_factory=FaultRule)
    slow: FaultRule = field(default_factory=FaultRule)
    slow_seconds: float = 2.0
    duplicate_callbacks: FaultRule = field(default_factory=FaultRule)
    out_of_order_callbacks: FaultRule = field(default_factory=FaultRule)
    concurrency_limit: int | None = None
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (the shape `from_json` reads)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "FaultSettings":
        """Build settings from a JSON object; unknown keys or bad values raise ValueError naming
        the field. A null field means the same as a field left out (its default), as the `null`
        `count` and `concurrency_limit` of a GET answer do."""
        # "in_flight" is what GET /_emulator/faults reports; accepted (and ignored) so the
        # answer of a GET can be posted back as is.
        known = {*SWITCHES, "slow_seconds", "concurrency_limit", "seed", "in_flight"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}")
        settings = cls()
        for name in SWITCHES:
            raw = data.get(name)
            if raw is None:
                continue
            if not isinstance(raw, dict) or set(raw) - {"rate", "count"}:
                raise ValueError(f"{name} must be an object with 'rate' and optional 'count'")
            rate = _number(f"{name}.rate", raw.get("rate"))
            rule = FaultRule(rate=rate or 0.0, count=_integer(f"{name}.count", raw.get("count")))
            rule.validate()
            setattr(settings, name, rule)
        slow_seconds = _number("slow_seconds", data.get("slow_seconds"))
        if slow_seconds is not None:
            if slow_seconds < 0:
                raise ValueError("slow_seconds must be >= 0")
            settings.slow_seconds = slow_seconds
        settings.concurrency_limit = _integer("concurrency_limit", data.get("concurrency_limit"))
        if settings.concurrency_limit is not None and settings.concurrency_limit < 1:
            raise ValueError("concurrency_limit must be >= 1")
        seed = _integer("seed", data.get("seed"))
        if seed is not None:
            settings.seed = seed
        return settings


def parse_rule(text: str) -> FaultRule:
    """Parse a CLI rule `RATE` or `RATE:COUNT` (e.g. `0.1`, `1:3`)."""
    rate, _, count = text.partition(":")
    rule = FaultRule(rate=float(rate), count=int(count) if count else None)
    rule.validate()
    return rule


def _number(field: str, value: object) -> float | None:
    """A JSON number (None for null); anything else raises ValueError naming `field`."""
    if value is None:
        return None
    # bool is an int to Python, but `true` is no number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{field} must be a finite number, got {value!r}")
    return float(value)


def _integer(field: str, value: object) -> int | None:
    """A JSON integer, `2.0` included (None for null); else ValueError naming `field`."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be an integer, got {value!r}")
    return value


class Faults:
    """The live fault switches: draws decisions and tracks requests in flight."""

    def __init__(self, settings: FaultSettings) -> None:
        self.in_flight = 0
        self.configure(settings)

    def configure(self, settings: FaultSettings) -> None:
        """Replace every switch (and reseed the RNG so runs are repeatable)."""
        self.settings = settings
        self._rng = random.Random(settings.seed)

    def fire(self, switch: str) -> bool:
        """Decide whether `switch` fires for this event, spending one of its `count` if so."""
        rule: FaultRule = getattr(self.settings, switch)
        if rule.rate <= 0.0 or (rule.count is not None and rule.count <= 0):
            return False
        if rule.rate < 1.0 and self._rng.random() >= rule.rate:
            return False
        if rule.count is not None:
            rule.count -= 1
        return True

    def over_concurrency_limit(self) -> bool:
        """True if one more request in flight would exceed the concurrency limit."""
        limit = self.settings.concurrency_limit
        return limit is not None and self.in_flight >= limit
