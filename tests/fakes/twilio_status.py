"""What Twilio says to the status sweeper (`status_sweeper.TwilioStatusReader`), scripted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.failure_classes import ClassifiedError, FailureClass
from shared.status_rules import Channel
from shared.twilio_gateway import PolledStatus, TwilioResource


@dataclass
class FakeStatusReader:
    """Twilio's status per SID, what a reconcile finds, the errors per SID; every question asked
    is kept (`fetch` as the SID, `find` as `find:<request id>`)."""

    statuses: dict[str, str] = field(default_factory=dict)
    found: list[TwilioResource] = field(default_factory=list)
    errors: dict[str, Exception] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def fetch(self, channel: Channel, sid: str) -> PolledStatus:
        self.asked.append(sid)
        if sid in self.errors:
            raise self.errors[sid]
        assert sid in self.statuses, f"the test did not say what Twilio has for {sid}"
        return PolledStatus(sid=sid, status=self.statuses[sid])

    def find(
        self, channel: Channel, request: dict[str, Any], since: datetime
    ) -> list[TwilioResource]:
        self.asked.append(f"find:{request['id']}")
        error = self.errors.get(f"find:{request['id']}")
        if error is not None:
            raise error
        return list(self.found)


def too_many_requests() -> ClassifiedError:
    """Twilio's 429."""
    return ClassifiedError(FailureClass.TRANSIENT, "Too Many Requests", 20429, 429)
