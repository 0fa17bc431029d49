"""What the send path asks of a channel (SMS, call), and how the send path ends.

`sms_sender.SMS` and `call_sender.CALL` are `Sender`s; `send_intake`, `send_claims` and
`send_pipeline` drive them. A delivery that ends early (rejected, refused, a duplicate) raises
`DeliveryEnded` with its outcome, which `send_pipeline.process` returns.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel

from shared.delivery_store import StateChange
from shared.status_rules import Channel
from shared.twilio_gateway import TwilioResource


class SendOutcome(StrEnum):
    """How one queue message ended (when it did not raise)."""

    REJECTED = "rejected"
    CONFLICT = "conflict"  # the id already names another request: this copy is refused
    DUPLICATE = "duplicate"
    SENT = "sent"
    RECONCILED = "reconciled"
    FAILED = "failed"


class DeliveryEnded(Exception):  # noqa: N818 (an ending, not an error)
    """The queue message is done with `outcome` (recorded already); nothing more to do."""

    def __init__(self, outcome: SendOutcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


class BadInputError(ValueError):
    """The request can never be sent as it is; the message says why."""


class Request(Protocol):
    """What the send path reads from a validated request."""

    @property
    def id(self) -> str:
        """The idempotency key."""
        ...

    @property
    def to(self) -> str:
        """The recipient."""
        ...

    @property
    def metadata(self) -> Any:
        """The producer's opaque data."""
        ...


class Sender[R: Request](Protocol):
    """One channel's part of the send path (`sms_sender.SMS`, `call_sender.CALL`)."""

    @property
    def channel(self) -> Channel:
        """`sms` or `call`."""
        ...

    @property
    def model(self) -> type[BaseModel]:
        """The request model of the channel."""
        ...

    def check(self, request: R) -> None:
        """Raise `BadInputError` for what the model cannot see (e.g. settings-dependent rules)."""
        ...

    def state_properties(self, request: R) -> StateChange:
        """Extra properties of the state row (e.g. the call script)."""
        ...

    def send(self, request: R) -> TwilioResource:
        """Create the Message/Call; raises `ClassifiedError`."""
        ...

    def find(self, request: R, since: datetime) -> list[TwilioResource]:
        """Messages/Calls an earlier attempt may have created, oldest first; raises
        `ClassifiedError`."""
        ...
