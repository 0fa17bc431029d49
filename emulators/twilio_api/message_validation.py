"""Validation of a Messages create request, in Twilio's order and with Twilio's error codes."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from multidict import MultiDictProxy

from emulators.twilio_api.clock import parse_iso8601
from emulators.twilio_api.errors import TwilioError, bad_request, invalid_from, invalid_to
from emulators.twilio_api.numbers import (
    E164,
    MAGIC_FROM_ERRORS,
    MAGIC_TO_ERRORS,
    test_credentials_from_error,
)

SHORT_CODE = re.compile(r"^\d{3,8}$")
ALPHANUMERIC_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 +\-_&]{1,11}$")
SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
CHANNELS = ("whatsapp:", "messenger:", "rcs:")
MAX_BODY = 1600
MAX_MEDIA = 10
MAX_CALLBACK_URL = 4000
# Scheduling window Twilio's scheduling guide states: 15 minutes to 35 days ahead.
SCHEDULE_MIN = timedelta(minutes=15)
SCHEDULE_MAX = timedelta(days=35)


@dataclass(frozen=True)
class MessageRequest:
    """A validated create request."""

    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    media_urls: list[str]
    status_callback: str | None
    send_at: datetime | None


def _address(value: str) -> str:
    for prefix in CHANNELS:
        if value.startswith(prefix):
            return value.removeprefix(prefix)
    return value


def _valid_media_url(url: str) -> bool:
    return re.match(r"^https?://[^/\s]+", url) is not None


def _valid_callback_url(url: str) -> bool:
    """http(s) with a hostname, at most 4000 characters, and no underscore in the hostname
    (Twilio's rules for the Messages StatusCallback)."""
    parts = urlsplit(url)
    return (
        len(url) <= MAX_CALLBACK_URL
        and parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and "_" not in (parts.hostname or "")
    )


def validate_create(
    form: MultiDictProxy[str], now: datetime, test_credentials: bool = False
) -> MessageRequest:
    """Check a create form like Twilio does; raise TwilioError with Twilio's code on the first
    broken rule. With `test_credentials`, a From other than the magic numbers is refused."""
    to = form.get("To", "").strip()
    from_ = form.get("From", "").strip() or None
    service = form.get("MessagingServiceSid", "").strip() or None
    body = form.get("Body", "")
    media = [url for url in form.getall("MediaUrl", []) if url]
    content_sid = form.get("ContentSid", "").strip()
    if from_ and SERVICE_SID.match(from_):
        # Twilio accepts a Messaging Service SID in the From parameter too.
        service, from_ = service or from_, None

    if not to:
        raise bad_request(21604, "A 'To' phone number is required.")
    if not from_ and not service:
        raise bad_request(
            21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message."
        )
    if not body and not media and not content_sid:
        raise bad_request(21602, "Message body is required.")
    if len(body) > MAX_BODY:
        raise bad_request(21617, "The concatenated message body exceeds the 1600 character limit.")
    if len(media) > MAX_MEDIA:
        raise bad_request(21623, "Too many media urls. The maximum is 10.")
    for url in media:
        if not _valid_media_url(url):
            raise bad_request(21620, f"Invalid media URL(s): {url}")
    if service and not SERVICE_SID.match(service):
        raise bad_request(21705, "The Messaging Service Sid is invalid.")
    status_callback = form.get("StatusCallback", "").strip() or None
    if status_callback is not None and not _valid_callback_url(status_callback):
        raise bad_request(21609, f"The StatusCallback URL {status_callback} is not a valid URL.")

    if to in MAGIC_TO_ERRORS:
        code, message = MAGIC_TO_ERRORS[to]
        raise bad_request(code, message)
    if not E164.match(_address(to)):
        raise invalid_to(to)
    if from_ is not None:
        if from_ in MAGIC_FROM_ERRORS:
            code, message = MAGIC_FROM_ERRORS[from_]
            raise bad_request(code, message)
        address = _address(from_)
        if not (E164.match(address) or SHORT_CODE.match(address) or ALPHANUMERIC_ID.match(from_)):
            raise invalid_from(from_)
        strict = test_credentials_from_error(from_) if test_credentials else None
        if strict is not None:
            raise bad_request(*strict)

    send_at = _schedule(form, service, now)
    return MessageRequest(
        to=to,
        from_=from_,
        messaging_service_sid=service,
        body=body,
        media_urls=media,
        status_callback=status_callback,
        send_at=send_at,
    )


def _schedule(form: MultiDictProxy[str], service: str | None, now: datetime) -> datetime | None:
    """The SendAt time of a scheduled message (ScheduleType=fixed), or None if not scheduled."""
    if form.get("ScheduleType", "") != "fixed":
        return None
    raw = form.get("SendAt", "").strip()
    if not raw:
        raise bad_request(35111, "SendAt timestamp is missing")
    send_at = parse_iso8601(raw)
    if send_at is None:
        raise bad_request(35114, "Scheduling does not support this timestamp")
    if service is None:
        raise bad_request(35118, "MessagingServiceSid is required to schedule a message")
    if not SCHEDULE_MIN <= send_at - now <= SCHEDULE_MAX:
        raise bad_request(
            35115,
            "SendAt time must be between 900 seconds and 35 days (3024000 seconds) in the future",
        )
    return send_at


def validate_status_update(status: str) -> None:
    """Only `canceled` may be set through the API."""
    if status != "canceled":
        raise TwilioError(400, 20001, f"Invalid Status: {status}. Only 'canceled' is allowed.")
