"""Special phone numbers: Twilio's test-credential magic numbers for Messages (answered exactly as
Twilio documents them) and the emulator's own behaviour numbers that choose how a message ends."""

import re
from dataclasses import dataclass

# A phone number as Twilio's APIs take it.
E164 = re.compile(r"^\+[1-9]\d{1,14}$")

# Twilio's magic From numbers for Messages: From -> (error code, message). +15005550006 passes.
MAGIC_FROM_ERRORS: dict[str, tuple[int, str]] = {
    "+15005550001": (
        21212,
        "The 'From' number +15005550001 is not a valid phone number, shortcode, "
        "or alphanumeric sender ID.",
    ),
    "+15005550007": (
        21606,
        "The 'From' phone number provided (+15005550007) is not a valid message-capable "
        "Twilio phone number for this destination.",
    ),
    "+15005550008": (
        21611,
        "This 'From' number has exceeded the maximum number of queued messages.",
    ),
}
MAGIC_FROM_OK = "+15005550006"


def test_credentials_from_error(from_: str) -> tuple[int, str] | None:
    """With test credentials, any From but the magic ones is not the account's: 21606."""
    if from_ == MAGIC_FROM_OK:
        return None
    return (
        21606,
        f"The 'From' phone number provided ({from_}) is not a valid message-capable Twilio "
        "phone number for this destination.",
    )


# Twilio's magic To numbers for Messages: To -> (error code, message).
MAGIC_TO_ERRORS: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number: +15005550002, is not currently reachable."),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number: +15005550003.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number +15005550009 is not a valid mobile number"),
}


@dataclass(frozen=True)
class Outcome:
    """How an emulated message life ends: final status and error (code, message) if any."""

    status: str
    error_code: int | None = None
    error_message: str | None = None


DELIVERED = Outcome("delivered")

# Emulator behaviour numbers (To): pick how the message's life ends.
OUTCOME_BY_TO: dict[str, Outcome] = {
    "+15550030003": Outcome("undelivered", 30003, "Unreachable destination handset"),
    "+15550030005": Outcome("undelivered", 30005, "Unknown destination handset"),
    "+15550030006": Outcome("undelivered", 30006, "Landline or unreachable carrier"),
    "+15550030008": Outcome("failed", 30008, "Unknown error"),
    "+15550000200": Outcome("sent"),
}

# The sender the emulated Messaging Service picks when only MessagingServiceSid is given.
SERVICE_SENDER = "+15550001000"


def outcome_for(to: str) -> Outcome:
    """The end of a message's life for recipient `to` (delivered unless a behaviour number)."""
    return OUTCOME_BY_TO.get(to, DELIVERED)
