"""Phone numbers with a fixed meaning for calls: Twilio's test-credential magic numbers (errors at
create time) and the emulator's own outcome numbers (how the callee reacts once dialed)."""

from __future__ import annotations

from dataclasses import dataclass

from emulators.twilio_api.errors import TwilioError, bad_request, invalid_from

# Twilio's test-credential magic numbers for POST …/Calls.json.
MAGIC_FROM_INVALID = "+15005550001"
MAGIC_FROM_OK = "+15005550006"
MAGIC_TO_ERRORS: dict[str, tuple[int, str]] = {
    "+15005550001": (21217, "Phone number {to} does not appear to be valid"),
    "+15005550002": (21214, "'To' phone number {to} cannot be reached"),
    "+15005550003": (
        21215,
        "Account not authorized to call {to}. Perhaps you need to enable some international "
        "permissions: https://www.twilio.com/console/voice/calls/geo-permissions/low-risk",
    ),
    "+15005550004": (21216, "Call to {to} blocked by Twilio blocklist"),
}


def magic_number_error(to: str, from_: str) -> TwilioError | None:
    """The error Twilio's test credentials give for this To/From pair, or None if it passes.

    As for Messages, the reserved +1500555000x numbers answer as Twilio documents them whatever
    the credentials; any other From is checked by `test_credentials_from_error` (test
    credentials only: the live account owns every number).
    """
    if from_ == MAGIC_FROM_INVALID:
        return invalid_from(from_)
    if to in MAGIC_TO_ERRORS:
        code, message = MAGIC_TO_ERRORS[to]
        return bad_request(code, message.format(to=to))
    return None


def test_credentials_from_error(from_: str) -> TwilioError | None:
    """With test credentials, any From but +15005550006 is not a verified caller ID: 21210."""
    if from_ == MAGIC_FROM_OK:
        return None
    return bad_request(
        21210, f"The source phone number provided, {from_}, is not yet verified for your account."
    )


@dataclass(frozen=True)
class NumberBehaviour:
    """How a callee at an emulator number reacts: final outcome and who answers."""

    outcome: str = "answered"  # answered | busy | no-answer | failed
    answered_by: str | None = None  # reported only when MachineDetection is asked


# The emulator's outcome numbers (+1555 010 00xx). Any other number answers as a human.
OUTCOME_NUMBERS: dict[str, NumberBehaviour] = {
    "+15550100001": NumberBehaviour(outcome="busy"),
    "+15550100002": NumberBehaviour(outcome="no-answer"),
    "+15550100003": NumberBehaviour(outcome="failed"),
    "+15550100004": NumberBehaviour(answered_by="machine"),
    "+15550100005": NumberBehaviour(answered_by="fax"),
}


def number_behaviour(to: str) -> NumberBehaviour:
    """The behaviour of the emulator number `to` (a human answering for ordinary numbers)."""
    return OUTCOME_NUMBERS.get(to, NumberBehaviour())
