"""Validation of Calls create and update requests, in Twilio's order and with Twilio's codes."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from multidict import MultiDictProxy

from emulators.twilio_api.call_numbers import magic_number_error, test_credentials_from_error
from emulators.twilio_api.call_resource import CallParams
from emulators.twilio_api.errors import bad_request, invalid_from, invalid_to
from emulators.twilio_api.numbers import E164

# Besides phone numbers Twilio calls Client identities and SIP addresses.
OTHER_ENDPOINT = re.compile(r"^(client:[^\s]+|sip:[^\s]+@[^\s]+)$")
HTTP_URL = re.compile(r"^https?://[^/\s?#_]+(?:[/?#]\S*)?$")
SEND_DIGITS = re.compile(r"^[0-9*#wW]{1,32}$")
EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
MACHINE_DETECTION = frozenset({"Enable", "DetectMessageEnd"})
MAX_TWIML = 4000
MAX_TIMEOUT = 600
DEFAULT_TIMEOUT = 60


@dataclass(frozen=True)
class AcceptedCall:
    """A validated create request."""

    to: str
    from_: str
    request: CallParams


@dataclass(frozen=True)
class CallUpdate:
    """A validated update request."""

    status: str | None
    url: str | None
    method: str
    twiml: str | None
    status_callback: str | None
    status_callback_method: str

    def with_callback(self, request: CallParams) -> CallParams:
        """`request` with this update's StatusCallback (and its method) in force."""
        return dataclasses.replace(
            request,
            status_callback=self.status_callback,
            status_callback_method=self.status_callback_method,
        )


def validate_create(form: MultiDictProxy[str], test_credentials: bool = False) -> AcceptedCall:
    """Check a create form like Twilio does; raise TwilioError with Twilio's code on the first
    broken rule. With `test_credentials`, a From other than +15005550006 is refused."""
    to = form.get("To", "").strip()
    from_ = form.get("From", "").strip()
    url = form.get("Url", "").strip() or None
    twiml = form.get("Twiml", "") or None
    application_sid = form.get("ApplicationSid", "").strip() or None
    if not to:
        raise bad_request(21201, "No 'To' number is specified")
    if not from_:
        raise bad_request(21213, "No 'From' number is specified")
    if url is None and twiml is None and application_sid is None:
        raise bad_request(21205, "Url parameter is required.")
    magic = magic_number_error(to, from_)
    if magic is not None:
        raise magic
    if not (E164.match(to) or OTHER_ENDPOINT.match(to)):
        raise invalid_to(to)
    if not (E164.match(from_) or OTHER_ENDPOINT.match(from_)):
        raise invalid_from(from_)
    strict = test_credentials_from_error(from_) if test_credentials else None
    if strict is not None:
        raise strict
    if url is None and twiml is None:
        # The emulator keeps no TwiML Applications, so every ApplicationSid is unknown.
        raise bad_request(21218, f"Invalid ApplicationSid: {application_sid}")
    if url is not None:
        # "If both twiml and url are provided then twiml parameter will be ignored."
        twiml = None
        _check_url(url, 21205, "Url")
    elif twiml is not None and len(twiml) > MAX_TWIML:
        raise bad_request(20001, f"Twiml must be {MAX_TWIML} characters or fewer")
    status_callback = form.get("StatusCallback", "").strip() or None
    if status_callback is not None:
        _check_url(status_callback, 21609, "StatusCallback")
    events = frozenset(form.getall("StatusCallbackEvent", []))
    if not events <= EVENTS:
        raise bad_request(
            21626, f"Invalid 'StatusCallbackEvent': {', '.join(sorted(events - EVENTS))}"
        )
    machine_detection = form.get("MachineDetection", "").strip() or None
    if machine_detection is not None and machine_detection not in MACHINE_DETECTION:
        raise bad_request(20001, "MachineDetection must be Enable or DetectMessageEnd")
    send_digits = form.get("SendDigits", "").strip() or None
    if send_digits is not None and not SEND_DIGITS.match(send_digits):
        raise bad_request(20001, "SendDigits must be up to 32 of 0-9, *, #, w and W")
    return AcceptedCall(
        to=to,
        from_=from_,
        request=CallParams(
            url=url,
            method=_method(form, "Method"),
            twiml=twiml,
            status_callback=status_callback,
            status_callback_method=_method(form, "StatusCallbackMethod"),
            status_callback_events=events,
            timeout=_timeout(form),
            machine_detection=machine_detection,
            record=form.get("Record", "false").lower() == "true",
            send_digits=send_digits,
        ),
    )


def validate_update(form: MultiDictProxy[str]) -> CallUpdate:
    """Check an update form: Status=canceled|completed, Url/Method, Twiml, StatusCallback."""
    status = form.get("Status", "").strip() or None
    if status is not None and status not in ("canceled", "completed"):
        raise bad_request(20001, f"Status must be canceled or completed, not {status}")
    url = form.get("Url", "").strip() or None
    if url is not None:
        _check_url(url, 21205, "Url")
    twiml = form.get("Twiml", "") or None
    if url is None and twiml is not None and len(twiml) > MAX_TWIML:
        raise bad_request(20001, f"Twiml must be {MAX_TWIML} characters or fewer")
    status_callback = form.get("StatusCallback", "").strip() or None
    if status_callback is not None:
        _check_url(status_callback, 21609, "StatusCallback")
    return CallUpdate(
        status=status,
        url=url,
        method=_method(form, "Method"),
        twiml=None if url is not None else twiml,
        status_callback=status_callback,
        status_callback_method=_method(form, "StatusCallbackMethod"),
    )


def _check_url(url: str, code: int, name: str) -> None:
    # Twilio wants an absolute http(s) URL whose hostname has no underscores.
    if not HTTP_URL.match(url):
        raise bad_request(code, f"{name} is not a valid URL: {url}")


def _method(form: MultiDictProxy[str], name: str) -> str:
    method = form.get(name, "POST").strip().upper() or "POST"
    if method not in ("GET", "POST"):
        # Twilio's 21209 "Invalid Method" is documented for the call's Method only.
        raise bad_request(21209 if name == "Method" else 20001, f"{name} must be GET or POST")
    return method


def _timeout(form: MultiDictProxy[str]) -> int:
    raw = form.get("Timeout", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(20001, f"Timeout must be an integer, not {raw}") from None
    if value < 1:
        raise bad_request(20001, "Timeout must be at least 1 second")
    # Twilio caps the ring time at 600 seconds.
    return min(value, MAX_TIMEOUT)
