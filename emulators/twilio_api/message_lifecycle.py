"""A message's emulated life: its statuses over (emulated) time and their status callbacks."""

from emulators.twilio_api.clock import utc_now
from emulators.twilio_api.context import Emulator
from emulators.twilio_api.message_resource import API_VERSION, Message
from emulators.twilio_api.numbers import SERVICE_SENDER, outcome_for

PRICE_PER_SEGMENT = 0.0079
# Emulated seconds between statuses (speed 1 = these real seconds).
STEP_SECONDS = {"queue": 0.5, "sending": 0.5, "sent": 1.0, "delivery": 2.0}


def _callback_params(message: Message) -> dict[str, str]:
    params = {
        "AccountSid": message.account_sid,
        "ApiVersion": API_VERSION,
        "MessageSid": message.sid,
        "MessageStatus": message.status,
        "SmsSid": message.sid,
        "SmsStatus": message.status,
        "To": message.to,
    }
    if message.from_:
        params["From"] = message.from_
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.error_code is not None:
        params["ErrorCode"] = str(message.error_code)
    if message.status in ("delivered", "undelivered"):
        params["RawDlrDoneDate"] = utc_now().strftime("%y%m%d%H%M")
    return params


def set_status(emulator: Emulator, message: Message, status: str, notify: bool = True) -> None:
    """Move a message to `status` and, if it has a StatusCallback, report it."""
    message.status = status
    message.date_updated = utc_now()
    if notify and message.status_callback:
        emulator.callbacks.post_status(
            message.sid, message.status_callback, _callback_params(message)
        )


def _alive(emulator: Emulator, message: Message, expected: str) -> bool:
    """The message still exists and nobody (cancel, delete) changed its status meanwhile."""
    return emulator.messages.get(message.sid) is message and message.status == expected


async def run_life(emulator: Emulator, message: Message) -> None:
    """Play a message's life: [scheduled|accepted →] queued → sending → sent → delivered/…"""
    clock = emulator.clock
    try:
        if message.status == "scheduled" and message.send_at is not None:
            wait = (message.send_at - utc_now()).total_seconds()
            await clock.sleep(wait)
            if not _alive(emulator, message, "scheduled"):
                return
        if message.status in ("scheduled", "accepted"):
            waiting = message.status
            await clock.sleep(STEP_SECONDS["queue"])
            if not _alive(emulator, message, waiting):  # canceled or deleted meanwhile
                return
            message.from_ = message.from_ or SERVICE_SENDER
            set_status(emulator, message, "queued")
        await clock.sleep(STEP_SECONDS["sending"])
        if not _alive(emulator, message, "queued"):
            return
        message.date_sent = utc_now()
        set_status(emulator, message, "sending", notify=False)
        await clock.sleep(STEP_SECONDS["sent"])
        if not _alive(emulator, message, "sending"):
            return
        outcome = outcome_for(message.to)
        if outcome.status == "failed":
            message.error_code, message.error_message = outcome.error_code, outcome.error_message
            set_status(emulator, message, "failed")
            return
        message.price = f"{-PRICE_PER_SEGMENT * message.num_segments:.5f}"
        set_status(emulator, message, "sent")
        if outcome.status == "sent":
            return
        await clock.sleep(STEP_SECONDS["delivery"])
        if not _alive(emulator, message, "sent"):
            return
        message.error_code, message.error_message = outcome.error_code, outcome.error_message
        set_status(emulator, message, outcome.status)
    finally:
        emulator.callbacks.flush(message.sid)
