"""The Call resource as stored, and its JSON exactly in the shape of Twilio's schema."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulators.twilio_api.clock import rfc2822
from emulators.twilio_api.twiml_runner import Recording, Transcript

API_VERSION = "2010-04-01"
ENDED_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
CALL_SUBRESOURCES = (
    "notifications",
    "recordings",
    "payments",
    "events",
    "siprec",
    "streams",
    "transcriptions",
    "user_defined_message_subscriptions",
    "user_defined_messages",
)
# US outbound voice, per started minute (what the emulator bills completed calls).
PRICE_PER_MINUTE = 0.014


@dataclass(frozen=True)
class CallParams:
    """What the create request asked for: where the TwiML is, callbacks, AMD, recording."""

    url: str | None
    method: str
    twiml: str | None
    status_callback: str | None
    status_callback_method: str
    status_callback_events: frozenset[str]
    timeout: int
    machine_detection: str | None
    record: bool
    send_digits: str | None


@dataclass
class Call:
    """One outbound-api call and its emulated life."""

    sid: str
    account_sid: str
    to: str
    from_: str
    request: CallParams
    date_created: datetime
    date_updated: datetime
    queue_time_ms: int
    seq: int
    # Scheme and host the API was called on (for RecordingUrl).
    api_base: str
    status: str = "queued"
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    answered_by: str | None = None
    price: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    recording: Recording | None = None
    # Call-progress callbacks sent so far (the next SequenceNumber).
    sequence: int = 0
    events: list[str] = field(default_factory=list)
    transcript: Transcript = field(default_factory=Transcript)
    task: asyncio.Task[None] | None = None

    @property
    def uri(self) -> str:
        """The resource path, relative to the API host."""
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    @property
    def ended(self) -> bool:
        """The call has reached a final status."""
        return self.status in ENDED_STATUSES

    def to_json(self) -> dict[str, Any]:
        """Every field of Twilio's `api.v2010.account.call` schema, with Twilio's types."""
        base = self.uri.removesuffix(".json")
        return {
            "account_sid": self.account_sid,
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "direction": "outbound-api",
            "duration": str(self.duration) if self.duration is not None else None,
            "end_time": rfc2822(self.end_time) if self.end_time else None,
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": format_number(self.from_),
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": phone_number_sid(self.from_),
            "price": self.price,
            "price_unit": "USD",
            "queue_time": str(self.queue_time_ms),
            "sid": self.sid,
            "start_time": rfc2822(self.start_time) if self.start_time else None,
            "status": self.status,
            "subresource_uris": {name: f"{base}/{_camel(name)}.json" for name in CALL_SUBRESOURCES},
            "to": self.to,
            "to_formatted": format_number(self.to),
            "trunk_sid": None,
            "uri": self.uri,
        }


def format_number(number: str) -> str:
    """Twilio's display form: `(415) 867-5309` for +1 numbers, the number itself otherwise."""
    digits = number.removeprefix("+1")
    if number.startswith("+1") and len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


def phone_number_sid(number: str) -> str:
    """A stable `PN` SID for the (emulated, always owned) caller number."""
    return "PN" + hashlib.md5(number.encode(), usedforsecurity=False).hexdigest()


def price_for(duration_seconds: int) -> str:
    """Twilio's negative price string for a completed call of this length."""
    minutes = max(1, -(-duration_seconds // 60))
    return f"-{PRICE_PER_MINUTE * minutes:.5f}"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
