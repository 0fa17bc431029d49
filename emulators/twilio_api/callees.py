"""Per-number callee scripts (`POST /_emulator/callees`): how the person or machine at a number
behaves when the emulator calls it: outcome, who answers, key presses per `<Gather>`, timings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OUTCOMES = frozenset({"answered", "busy", "no-answer", "failed"})
# Twilio's AnsweredBy values, plus "machine": the machine_* value that fits the MachineDetection
# mode asked for (machine_start for Enable, machine_end_beep for DetectMessageEnd).
ANSWERED_BY = frozenset(
    {
        "human",
        "machine",
        "machine_start",
        "machine_end_beep",
        "machine_end_silence",
        "machine_end_other",
        "fax",
        "unknown",
    }
)


@dataclass(frozen=True)
class CalleeScript:
    """What happens when number `number` is called; None fields fall back to the defaults."""

    number: str
    outcome: str | None = None
    answered_by: str | None = None
    # One entry per <Gather>, in order: the keys pressed ("12#"), or None/"" for no input.
    digits: tuple[str | None, ...] = ()
    ring_seconds: float | None = None
    # The callee hangs up this many seconds after answering (None: stays until the TwiML ends).
    talk_seconds: float | None = None
    record_seconds: int | None = None

    @classmethod
    def from_json(cls, data: object) -> CalleeScript:
        """Build a script from its JSON object; raise ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a callee script must be a JSON object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown callee fields: {sorted(unknown)}")
        number = data.get("number")
        if not isinstance(number, str) or not number:
            raise ValueError("'number' is required")
        outcome = data.get("outcome")
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}")
        answered_by = data.get("answered_by")
        if answered_by is not None and answered_by not in ANSWERED_BY:
            raise ValueError(f"answered_by must be one of {sorted(ANSWERED_BY)}")
        digits = data.get("digits") or []
        if not isinstance(digits, list) or not all(d is None or isinstance(d, str) for d in digits):
            raise ValueError("digits must be a list of strings (or null for no input)")
        return cls(
            number=number,
            outcome=outcome,
            answered_by=answered_by,
            digits=tuple(digits),
            ring_seconds=_seconds(data, "ring_seconds"),
            talk_seconds=_seconds(data, "talk_seconds"),
            record_seconds=_opt_int(data, "record_seconds"),
        )

    def to_json(self) -> dict[str, Any]:
        """The script as JSON (the shape `from_json` reads)."""
        return {**asdict(self), "digits": list(self.digits)}


def _seconds(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a number of seconds >= 0")
    return float(value)


def _opt_int(data: dict[str, Any], key: str) -> int | None:
    value = _seconds(data, key)
    return None if value is None else int(value)


class CalleeBook:
    """The callee scripts in force, by number."""

    def __init__(self) -> None:
        self._scripts: dict[str, CalleeScript] = {}

    def put(self, script: CalleeScript) -> None:
        """Set (or replace) the script of `script.number`."""
        self._scripts[script.number] = script

    def get(self, number: str) -> CalleeScript | None:
        """The script for `number`, if one was set."""
        return self._scripts.get(number)

    def all(self) -> list[CalleeScript]:
        """Every script, in the order they were set."""
        return list(self._scripts.values())

    def clear(self) -> None:
        """Forget every script."""
        self._scripts.clear()
