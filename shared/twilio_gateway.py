"""The small Twilio wrapper: one REST client per process, explicit timeouts, classified errors."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient
from urllib3.exceptions import ConnectTimeoutError

from shared.failure_classes import ClassifiedError, FailureClass, SettingsValue, classify
from shared.http_environment import environment_ca_bundle, environment_proxies
from shared.settings import get_settings

# Where twilio.rest sends the app's requests unless TWILIO_API_BASE_URL says otherwise.
TWILIO_API_BASE_URL = "https://api.twilio.com"
CALL_PROGRESS_EVENTS = ["initiated", "ringing", "answered", "completed"]
# twilio's HTTP client logs every request (URL, query with phone numbers, headers) at INFO.
TWILIO_HTTP_LOGGER = "twilio.http_client"
# Twilio's List endpoints return newest first, RECONCILE_PAGE per request.
RECONCILE_PAGE = 50
# A reconcile reads newest first until it has seen RECONCILE_PAGE resources in a row created
# before the claim (so a slightly out-of-order list cannot end it early), at most
# RECONCILE_LIMIT. A list that still has not reached the claim time there is no verdict: the
# attempt ends `ambiguous` (retried, never sent again unverified), because a cap that stopped
# short could miss the earlier attempt's resource behind newer traffic to the same number.
RECONCILE_LIMIT = 5000


class TwilioRequestError(ClassifiedError):
    """A Twilio request failed; `failure_class` says what the send path should do."""


@dataclass(frozen=True)
class TwilioResource:
    """The parts of a created or listed Message/Call the app keeps."""

    sid: str
    status: str


@functools.cache
def get_client() -> Any:
    """The process's `twilio.rest.Client` (auth token or API key; emulator base URL if set).

    Its session does not read the environment per request (`trust_env` off); the proxies and
    CA bundle the environment names for the API's endpoint are read here, once."""
    # twilio.rest is imported by the first request: a folder that never calls Twilio skips it.
    from twilio.rest import Client

    from shared.http_adapter import TWILIO_POOL_SIZE, CheckedOnceAdapter

    settings = get_settings()
    logging.getLogger(TWILIO_HTTP_LOGGER).setLevel(logging.WARNING)
    endpoint = settings.twilio_api_base_url or TWILIO_API_BASE_URL
    http_client = TwilioHttpClient(
        timeout=settings.twilio_http_timeout_seconds, proxy=environment_proxies(endpoint)
    )
    if http_client.session is not None:  # always: pool_connections is on
        http_client.session.trust_env = False
        http_client.session.verify = environment_ca_bundle()
        # The pool sizes twilio gives (https) and requests gives (http, the emulator), with the
        # CA bundle checked once, not per request.
        http_client.session.mount("https://", CheckedOnceAdapter(pool_maxsize=TWILIO_POOL_SIZE))
        http_client.session.mount("http://", CheckedOnceAdapter())
    if settings.twilio_api_key_sid is not None:
        client = Client(
            settings.twilio_api_key_sid,
            settings.twilio_api_key_secret,
            settings.twilio_account_sid,
            http_client=http_client,
        )
    else:
        client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client
        )
    if settings.twilio_api_base_url is not None:
        client.api.base_url = settings.twilio_api_base_url
    return client


@contextmanager
def _translated_errors(
    what: str, from_settings: frozenset[SettingsValue] = frozenset()
) -> Iterator[None]:
    """Turn twilio/requests exceptions into `TwilioRequestError` with its failure class.

    The original exception is not chained (`from None`): its text carries phone numbers (Twilio's
    messages, List query strings) and the host logs the whole chain of a raised exception. Its
    text is kept in the error's `message`, which `str()` shows masked.
    """
    try:
        yield
    except (TwilioRestException, TwilioServiceException) as exc:
        code = exc.code if isinstance(exc.code, int) else None
        status = exc.status if isinstance(exc.status, int) else None
        detail = getattr(exc, "msg", None) or getattr(exc, "detail", None) or str(exc)
        raise TwilioRequestError(
            classify(code, status, from_settings), f"{what}: {detail}", code, status
        ) from None
    except TwilioException as exc:
        # List pages fail with a bare TwilioException carrying the HTTP response.
        status, code = _response_status_and_code(exc.args[1] if len(exc.args) > 1 else None)
        raise TwilioRequestError(
            classify(code, status, from_settings), f"{what}: {exc.args[0]}", code, status
        ) from None
    except requests.exceptions.RequestException as exc:
        if _never_connected(exc):
            # No connection, so Twilio cannot have processed the request.
            raise TwilioRequestError(
                FailureClass.TRANSIENT, f"{what}: could not connect: {exc}"
            ) from None
        # A read timeout or broken connection may come after Twilio accepted the POST.
        raise TwilioRequestError(
            FailureClass.AMBIGUOUS, f"{what}: {type(exc).__name__}: {exc}"
        ) from None


def _response_status_and_code(response: Any) -> tuple[int | None, int | None]:
    """HTTP status and Twilio error code of a twilio `Response` (None where unknown)."""
    status = getattr(response, "status_code", None)
    try:
        code = json.loads(getattr(response, "text", "") or "{}").get("code")
    except (ValueError, AttributeError):
        code = None
    return (
        status if isinstance(status, int) else None,
        code if isinstance(code, int) else None,
    )


def _never_connected(exc: requests.exceptions.RequestException) -> bool:
    """Whether the request failed before a connection existed (refused, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too


def _resource(instance: Any) -> TwilioResource:
    if not instance.sid:
        raise TwilioRequestError(FailureClass.AMBIGUOUS, "Twilio answered without a SID")
    return TwilioResource(sid=str(instance.sid), status=str(instance.status or "queued"))


def create_message(
    *,
    to: str,
    from_: str | None,
    messaging_service_sid: str | None,
    body: str | None,
    media_urls: list[str] | None,
    status_callback: str,
    send_at: datetime | None,
    validity_period: int | None,
    from_settings: frozenset[SettingsValue] = frozenset(),
) -> TwilioResource:
    """Create a Message (POST Messages.json); `from_settings`: the parameters taken from the
    settings (an error blaming one of them is a configuration error)."""
    kwargs: dict[str, Any] = {"to": to, "status_callback": status_callback}
    optional = {
        "from_": from_,
        "messaging_service_sid": messaging_service_sid,
        "body": body,
        "media_url": media_urls,
        "validity_period": validity_period,
    }
    kwargs.update({key: value for key, value in optional.items() if value is not None})
    if send_at is not None:
        kwargs["send_at"] = send_at
        kwargs["schedule_type"] = "fixed"
    with _translated_errors("create message", from_settings):
        return _resource(get_client().messages.create(**kwargs))


def create_call(
    *,
    to: str,
    from_: str,
    status_callback: str,
    url: str | None,
    twiml: str | None,
    timeout: int | None,
    machine_detection: str | None,
    record: bool | None,
    from_settings: frozenset[SettingsValue] = frozenset(),
) -> TwilioResource:
    """Create a Call (POST Calls.json) that fetches `url` or runs `twiml`; `from_settings` as
    for `create_message`."""
    kwargs: dict[str, Any] = {
        "to": to,
        "from_": from_,
        "status_callback": status_callback,
        "status_callback_event": CALL_PROGRESS_EVENTS,
        "status_callback_method": "POST",
    }
    optional = {
        "url": url,
        "method": "POST" if url is not None else None,
        "twiml": twiml,
        "timeout": timeout,
        "machine_detection": machine_detection,
        "record": record,
    }
    kwargs.update({key: value for key, value in optional.items() if value is not None})
    with _translated_errors("create call", from_settings):
        return _resource(get_client().calls.create(**kwargs))


def _created_since(instance: Any, since: datetime) -> bool:
    created = instance.date_created
    return isinstance(created, datetime) and created >= since


def _read_back_to(stream: Iterator[Any], since: datetime, what: str) -> list[Any]:
    """The resources of a newest-first `stream` created since `since` (see RECONCILE_LIMIT)."""
    found: list[Any] = []
    older_in_a_row = 0
    for read, instance in enumerate(stream, start=1):
        if _created_since(instance, since):
            found.append(instance)
            older_in_a_row = 0
        else:
            older_in_a_row += 1
            if older_in_a_row >= RECONCILE_PAGE:
                return found
        if read >= RECONCILE_LIMIT:
            raise TwilioRequestError(
                FailureClass.AMBIGUOUS,
                f"{what}: {RECONCILE_LIMIT} resources read without reaching the claim time; "
                "cannot tell whether an earlier attempt was sent",
            )
    return found


def find_messages(
    *, to: str, from_: str | None, body: str | None, media_count: int, since: datetime
) -> list[TwilioResource]:
    """Messages an earlier attempt may have created: same To, From, body (empty when None) and
    number of media, created since `since`; oldest first.

    Filtered by creation time here, not with `DateSent>`: a message still queued (or scheduled)
    has no DateSent yet, and it is exactly what a reconcile must find.
    """
    filters: dict[str, Any] = {"to": to, "page_size": RECONCILE_PAGE}
    if from_ is not None:
        filters["from_"] = from_
    with _translated_errors("list messages"):
        candidates = _read_back_to(get_client().messages.stream(**filters), since, "list messages")
    matches = [
        m for m in candidates if (m.body or "") == (body or "") and _media_count(m) == media_count
    ]
    return [_resource(m) for m in sorted(matches, key=lambda m: m.date_created)]


def _media_count(instance: Any) -> int:
    try:
        return int(instance.num_media or 0)
    except ValueError:
        return -1  # unreadable: matches no request


def find_calls(*, to: str, from_: str, since: datetime) -> list[TwilioResource]:
    """Calls an earlier attempt may have created: same To and From, created since `since`;
    oldest first. Filtered by creation time here, not with `StartTime>`: a call that is still
    queued or ringing (or never answered) has no StartTime."""
    with _translated_errors("list calls"):
        stream = get_client().calls.stream(to=to, from_=from_, page_size=RECONCILE_PAGE)
        matches = _read_back_to(stream, since, "list calls")
    return [_resource(c) for c in sorted(matches, key=lambda c: c.date_created)]


@dataclass(frozen=True)
class PolledStatus:
    """What the status sweeper reads of a Message/Call fetched by SID."""

    sid: str
    status: str
    error_code: int | None = None
    error_message: str | None = None


def fetch_message(sid: str) -> PolledStatus:
    """The Message `sid` as Twilio has it now (GET Messages/{sid}.json)."""
    with _translated_errors("fetch message"):
        message = get_client().messages(sid).fetch()
    code = message.error_code
    return PolledStatus(
        sid=sid,
        status=str(message.status or ""),
        error_code=int(code) if isinstance(code, int) or str(code or "").isdecimal() else None,
        error_message=message.error_message or None,
    )


def fetch_call(sid: str) -> PolledStatus:
    """The Call `sid` as Twilio has it now (GET Calls/{sid}.json); calls carry no error code."""
    with _translated_errors("fetch call"):
        call = get_client().calls(sid).fetch()
    return PolledStatus(sid=sid, status=str(call.status or ""))
