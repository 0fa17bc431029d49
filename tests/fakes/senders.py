"""A scripted `send_channel.Sender` for the send path's unit tests: the real request models
(`SmsRequest`, `CallRequest`), and Twilio replaced by what the test says `send` and `find`
answer (a `TwilioResource`, a list of them, or an exception to raise), in order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.contracts import CallRequest, SmsRequest
from shared.delivery_store import StateChange
from shared.send_channel import BadInputError
from shared.send_intake import QueueDelivery
from shared.status_rules import Channel
from shared.twilio_gateway import TwilioResource


def message_sid(n: int) -> str:
    """A well-formed Message SID."""
    return f"SM{n:032x}"


def call_sid(n: int) -> str:
    """A well-formed Call SID."""
    return f"CA{n:032x}"


@dataclass
class ScriptedSender:
    """A `Sender` whose Twilio answers are scripted; every question asked is kept.

    `sends`/`finds` are consumed in order; a test that asks more than it scripted fails with
    an `AssertionError` saying so. `refuse` makes `check` raise `BadInputError` with that text.
    """

    channel: Channel = "sms"
    model: type[BaseModel] = SmsRequest
    sends: list[TwilioResource | Exception] = field(default_factory=list)
    finds: list[list[TwilioResource] | Exception] = field(default_factory=list)
    refuse: str | None = None
    extra_state: StateChange = field(default_factory=dict)
    sent: list[Any] = field(default_factory=list)
    looked: list[tuple[Any, datetime]] = field(default_factory=list)

    def check(self, request: Any) -> None:
        if self.refuse is not None:
            raise BadInputError(self.refuse)

    def state_properties(self, request: Any) -> StateChange:
        return dict(self.extra_state)

    def send(self, request: Any) -> TwilioResource:
        self.sent.append(request)
        assert self.sends, f"unexpected send #{len(self.sent)} of {request.id}"
        answer = self.sends.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def find(self, request: Any, since: datetime) -> list[TwilioResource]:
        self.looked.append((request, since))
        assert self.finds, f"unexpected reconcile lookup #{len(self.looked)} of {request.id}"
        answer = self.finds.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return list(answer)


def sms_sender(**kwargs: Any) -> ScriptedSender:
    """A scripted SMS sender."""
    return ScriptedSender(channel="sms", model=SmsRequest, **kwargs)


def call_sender(**kwargs: Any) -> ScriptedSender:
    """A scripted call sender."""
    return ScriptedSender(channel="call", model=CallRequest, **kwargs)


def sms_request(rid: str = "r-1", **fields: Any) -> dict[str, Any]:
    """A valid SMS request as JSON."""
    return {"id": rid, "to": "+15551230001", "body": f"hello {rid}", **fields}


def call_request(rid: str = "r-1", **fields: Any) -> dict[str, Any]:
    """A valid TwiML call request as JSON."""
    return {
        "id": rid,
        "to": "+15551230001",
        "twiml": "<Response><Say>hi</Say></Response>",
        **fields,
    }


def queued(
    payload: object, message_id: str = "msg-1", dequeue_count: int = 1, *, raw: bytes | None = None
) -> QueueDelivery:
    """A queue message carrying `payload` as JSON (or `raw` bytes as they are)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    return QueueDelivery(message_id=message_id, body=body, dequeue_count=dequeue_count)
