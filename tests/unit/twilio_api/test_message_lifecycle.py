"""A message's life on a fast emulated clock: statuses in order, callbacks, prices, errors, and
lives cut short by a cancel or delete. Callbacks are recorded by an in-memory sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from emulators.twilio_api.clock import Clock, utc_now
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.context import Emulator
from emulators.twilio_api.message_lifecycle import STEP_SECONDS, run_life, set_status
from emulators.twilio_api.message_resource import Message
from emulators.twilio_api.numbers import SERVICE_SENDER

CALLBACK = "https://app.example.com/status"


@dataclass
class RecordedCallbacks:
    """Stands in for the CallbackSender: keeps what would be posted."""

    posted: list[dict[str, str]] = field(default_factory=list)
    flushed: list[str] = field(default_factory=list)

    def post_status(self, resource_sid: str, url: str, params: dict[str, str]) -> None:
        assert url == CALLBACK
        assert params["MessageSid"] == resource_sid
        self.posted.append(params)

    def flush(self, resource_sid: str) -> None:
        self.flushed.append(resource_sid)

    def statuses(self) -> list[str]:
        return [p["MessageStatus"] for p in self.posted]


def emulator() -> tuple[Emulator, RecordedCallbacks]:
    # A billion emulated seconds per real second: a whole life takes microseconds.
    runtime = Emulator.from_config(EmulatorConfig(speed=1e9))
    recorded = RecordedCallbacks()
    runtime.callbacks = recorded  # type: ignore[assignment]
    return runtime, recorded


def stored(runtime: Emulator, **changes: object) -> Message:
    now = utc_now()
    fields: dict[str, object] = {
        "sid": "SM" + "5" * 32,
        "account_sid": "AC1",
        "to": "+15551230000",
        "from_": "+15005550006",
        "body": "x" * 161,  # two segments
        "messaging_service_sid": None,
        "status": "queued",
        "num_segments": 2,
        "media_urls": [],
        "date_created": now,
        "date_updated": now,
        "status_callback": CALLBACK,
    }
    fields.update(changes)
    message = Message(**fields)  # type: ignore[arg-type]
    runtime.messages[message.sid] = message
    return message


async def test_a_queued_message_is_delivered_with_callbacks_except_sending() -> None:
    runtime, recorded = emulator()
    message = stored(runtime)
    await run_life(runtime, message)
    assert message.status == "delivered"
    assert recorded.statuses() == ["sent", "delivered"]
    assert message.price == "-0.01580"
    assert message.date_sent is not None
    assert message.error_code is None
    assert recorded.flushed == [message.sid]
    delivered = recorded.posted[-1]
    assert delivered["SmsStatus"] == "delivered"
    assert delivered["From"] == "+15005550006"
    assert len(delivered["RawDlrDoneDate"]) == 10
    assert "RawDlrDoneDate" not in recorded.posted[0]


@pytest.mark.parametrize(
    ("to", "status", "code", "statuses"),
    [
        ("+15550030003", "undelivered", 30003, ["sent", "undelivered"]),
        ("+15550030005", "undelivered", 30005, ["sent", "undelivered"]),
        ("+15550030006", "undelivered", 30006, ["sent", "undelivered"]),
        ("+15550030008", "failed", 30008, ["failed"]),
        ("+15550000200", "sent", None, ["sent"]),
    ],
)
async def test_outcome_numbers_end_the_life(
    to: str, status: str, code: int | None, statuses: list[str]
) -> None:
    runtime, recorded = emulator()
    message = stored(runtime, to=to)
    await run_life(runtime, message)
    assert (message.status, message.error_code) == (status, code)
    assert recorded.statuses() == statuses
    if code is not None:
        assert recorded.posted[-1]["ErrorCode"] == str(code)
    if status == "failed":
        assert message.price is None


async def test_a_service_message_gets_its_sender_when_queued() -> None:
    runtime, recorded = emulator()
    service = "MG" + "a" * 32
    message = stored(runtime, from_=None, messaging_service_sid=service, status="accepted")
    await run_life(runtime, message)
    assert message.from_ == SERVICE_SENDER
    assert recorded.statuses() == ["queued", "sent", "delivered"]
    assert recorded.posted[0]["MessagingServiceSid"] == service


async def test_a_scheduled_message_waits_for_send_at_then_lives() -> None:
    runtime, recorded = emulator()
    message = stored(
        runtime,
        messaging_service_sid="MG" + "a" * 32,
        status="scheduled",
        send_at=utc_now() + timedelta(minutes=20),
    )
    await run_life(runtime, message)
    assert recorded.statuses() == ["queued", "sent", "delivered"]


async def test_a_canceled_scheduled_message_stops() -> None:
    runtime, recorded = emulator()
    message = stored(runtime, status="scheduled", send_at=utc_now() + timedelta(minutes=20))
    runtime.clock.speed = 1e6  # 20 emulated minutes: about a millisecond

    async def cancel_soon() -> None:
        message.status = "canceled"

    runtime.background.spawn(cancel_soon())
    await run_life(runtime, message)
    assert message.status == "canceled"
    assert recorded.statuses() == []
    assert recorded.flushed == [message.sid]


async def test_a_deleted_message_stops_living() -> None:
    runtime, recorded = emulator()
    message = stored(runtime)
    del runtime.messages[message.sid]
    await run_life(runtime, message)
    assert message.status == "queued"
    assert recorded.statuses() == []


def test_set_status_notifies_only_with_a_callback_and_when_asked() -> None:
    runtime, recorded = emulator()
    message = stored(runtime, status_callback=None)
    before = message.date_updated
    set_status(runtime, message, "sending")
    assert message.status == "sending"
    assert message.date_updated >= before
    message.status_callback = CALLBACK
    set_status(runtime, message, "sent", notify=False)
    set_status(runtime, message, "delivered")
    assert recorded.statuses() == ["delivered"]
    assert recorded.posted[0]["ApiVersion"] == "2010-04-01"


class CancelDuringQueueStep(Clock):
    """A clock on which the API cancels the message while its life waits to queue it."""

    def __init__(self, message: Message) -> None:
        super().__init__(1e9)
        self.message = message

    async def sleep(self, emulated_seconds: float) -> None:
        if emulated_seconds == STEP_SECONDS["queue"] and self.message.status == "scheduled":
            self.message.status = "canceled"  # what `POST …/Messages/SM….json Status=canceled` does
        await super().sleep(emulated_seconds)


async def test_a_message_canceled_while_it_waits_to_be_queued_stays_canceled() -> None:
    runtime, recorded = emulator()
    message = stored(runtime, status="scheduled", send_at=utc_now() - timedelta(seconds=1))
    runtime.clock = CancelDuringQueueStep(message)
    await run_life(runtime, message)
    assert message.status == "canceled"
    assert recorded.statuses() == []
