"""The send path's failure classes as one table: Twilio code / HTTP status → class.

What each class does: docs/architecture.md, "Send path", step 4 (Failures)."""

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


class SettingsValue(StrEnum):
    """A Twilio request parameter the app may fill in from its settings (not from the request)."""

    FROM = "From"  # TWILIO_FROM_NUMBER
    MESSAGING_SERVICE = "MessagingServiceSid"  # TWILIO_MESSAGING_SERVICE_SID
    STATUS_CALLBACK = "StatusCallback"  # PUBLIC_BASE_URL
    URL = "Url"  # PUBLIC_BASE_URL (the TwiML URL of a script call)


_P, _C, _T, _A = (
    FailureClass.PERMANENT,
    FailureClass.CONFIGURATION,
    FailureClass.TRANSIENT,
    FailureClass.AMBIGUOUS,
)

# Twilio error codes, checked before the HTTP status: code → (class, the parameter it blames).
# When the blamed parameter came from the settings, every request fails the same way until the
# setting is fixed: `configuration` (retried, then `-poison`, replayable), whatever the class.
TWILIO_CODES: dict[int, tuple[FailureClass, SettingsValue | None]] = {
    20003: (_C, None),  # authentication failed
    20008: (_C, None),  # test credentials on an unsupported resource
    20404: (_C, None),  # wrong account or resource
    21205: (_P, SettingsValue.URL),  # Url is not a valid URL
    21210: (_C, None),  # caller id (From) not verified for calls
    21212: (_C, None),  # invalid From: the sender is not ours
    21211: (_P, None),  # invalid To
    21214: (_P, None),  # To cannot be reached (calls)
    21215: (_P, None),  # geo permission does not allow the call
    21216: (_P, None),  # To is on Twilio's block list
    21217: (_P, None),  # To does not look valid (calls)
    21408: (_P, None),  # no SMS permission for the To region
    21602: (_P, None),  # body required
    21606: (_P, SettingsValue.FROM),  # From is not ours or cannot message this destination
    21608: (_P, None),  # trial account: To not verified
    21609: (_P, SettingsValue.STATUS_CALLBACK),  # invalid StatusCallback URL
    21610: (_P, None),  # recipient opted out (STOP): also flagged
    21612: (_P, None),  # To not reachable by SMS
    21614: (_P, None),  # To is not a mobile number
    21617: (_P, None),  # body longer than 1600 characters
    21620: (_P, None),  # invalid media URL
    21623: (_P, None),  # too many media URLs
    21701: (_P, SettingsValue.MESSAGING_SERVICE),  # Messaging Service does not exist
    21702: (_P, SettingsValue.MESSAGING_SERVICE),  # Messaging Service not available
    21703: (_P, SettingsValue.MESSAGING_SERVICE),  # Messaging Service has no number for To
    21704: (_P, SettingsValue.MESSAGING_SERVICE),  # Messaging Service has no phone numbers
    21705: (_P, SettingsValue.MESSAGING_SERVICE),  # invalid Messaging Service SID
    20429: (_T, None),  # too many concurrent requests: never processed
    21611: (_T, None),  # sender's queue full: try later
    20500: (_A, None),  # internal error: a POST may have been processed
    20503: (_A, None),  # service unavailable: same caveat
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


def classify(
    code: int | None,
    http_status: int | None,
    from_settings: frozenset[SettingsValue] = frozenset(),
) -> FailureClass:
    """The failure class of a Twilio error response (code first, then HTTP status);
    `from_settings`: the parameters of the failed request the app took from its settings."""
    if code is not None and code in TWILIO_CODES:
        failure_class, blamed = TWILIO_CODES[code]
        return FailureClass.CONFIGURATION if blamed in from_settings else failure_class
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
