"""The send path's failure classes (design §5) as one table: Twilio code / HTTP status → class."""

from __future__ import annotations

from enum import StrEnum

from shared.log_safety import mask_numbers_in


class FailureClass(StrEnum):
    """What the send path does with a failure."""

    BAD_INPUT = "bad_input"  # record `rejected`, emit an event, no retry
    PERMANENT = "permanent"  # record `failed` + code, emit an event, no retry
    CONFIGURATION = "configuration"  # raise: retries, then `-poison`; replay once fixed
    TRANSIENT = "transient"  # raise: the host retries; Twilio did not process the request
    AMBIGUOUS = "ambiguous"  # raise; the request may have reached Twilio: reconcile first


# Twilio error codes, checked before the HTTP status.
TWILIO_CODE_CLASSES: dict[int, FailureClass] = {
    20003: FailureClass.CONFIGURATION,  # authentication failed
    20008: FailureClass.CONFIGURATION,  # test credentials on an unsupported resource
    20404: FailureClass.CONFIGURATION,  # wrong account or resource
    21210: FailureClass.CONFIGURATION,  # caller id (From) not verified for calls
    21212: FailureClass.CONFIGURATION,  # invalid From: the sender is not ours
    21211: FailureClass.PERMANENT,  # invalid To
    21214: FailureClass.PERMANENT,  # To cannot be reached (calls)
    21215: FailureClass.PERMANENT,  # geo permission does not allow the call
    21216: FailureClass.PERMANENT,  # To is on Twilio's block list
    21217: FailureClass.PERMANENT,  # To does not look valid (calls)
    21408: FailureClass.PERMANENT,  # no SMS permission for the To region
    21602: FailureClass.PERMANENT,  # body required
    21606: FailureClass.PERMANENT,  # From cannot message this destination
    21608: FailureClass.PERMANENT,  # trial account: To not verified
    21610: FailureClass.PERMANENT,  # recipient opted out (STOP): also flagged
    21612: FailureClass.PERMANENT,  # To not reachable by SMS
    21614: FailureClass.PERMANENT,  # To is not a mobile number
    21617: FailureClass.PERMANENT,  # body longer than 1600 characters
    21620: FailureClass.PERMANENT,  # invalid media URL
    21623: FailureClass.PERMANENT,  # too many media URLs
    20429: FailureClass.TRANSIENT,  # too many concurrent requests: never processed
    21611: FailureClass.TRANSIENT,  # sender's queue full: try later
    20500: FailureClass.AMBIGUOUS,  # internal error: a POST may have been processed
    20503: FailureClass.AMBIGUOUS,  # service unavailable: same caveat
}

OPTED_OUT_CODE = 21610


class ClassifiedError(Exception):
    """A send failure with its class; `code`/`http_status` come from Twilio when it answered.

    `message` is the full text (stored with the delivery, the requester's own data); `str()` has
    phone numbers masked, because the Functions host logs the text of a raised exception.
    """

    def __init__(
        self,
        failure_class: FailureClass,
        message: str,
        code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(mask_numbers_in(message))
        self.failure_class = failure_class
        self.message = message
        self.code = code
        self.http_status = http_status


def classify(code: int | None, http_status: int | None) -> FailureClass:
    """The failure class of a Twilio error response (code first, then HTTP status)."""
    if code is not None and code in TWILIO_CODE_CLASSES:
        return TWILIO_CODE_CLASSES[code]
    if http_status is None:
        return FailureClass.AMBIGUOUS
    if http_status in (401, 403, 404):
        return FailureClass.CONFIGURATION
    if http_status == 429:
        return FailureClass.TRANSIENT
    if http_status >= 500:
        return FailureClass.AMBIGUOUS
    if 400 <= http_status < 500:
        # Other validation errors: the same request would fail the same way again.
        return FailureClass.PERMANENT
    return FailureClass.AMBIGUOUS
