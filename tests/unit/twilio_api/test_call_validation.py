"""Calls create and update validation: Twilio's rules in Twilio's order, with Twilio's codes."""

from __future__ import annotations

import pytest
from multidict import MultiDict, MultiDictProxy

from emulators.twilio_api.call_resource import CallParams
from emulators.twilio_api.call_validation import (
    DEFAULT_TIMEOUT,
    MAX_TIMEOUT,
    validate_create,
    validate_update,
)
from emulators.twilio_api.errors import TwilioError

TO = "+15551230000"
FROM = "+15005550006"
URL = "https://app.example.com/voice"


def form(*pairs: tuple[str, str], **fields: str) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict([*fields.items(), *pairs]))


def create_code(data: MultiDictProxy[str], test_credentials: bool = False) -> int:
    with pytest.raises(TwilioError) as caught:
        validate_create(data, test_credentials=test_credentials)
    assert caught.value.status == 400
    return caught.value.code


def test_a_plain_call_gets_twilios_defaults() -> None:
    accepted = validate_create(form(To=TO, From=FROM, Url=URL))
    assert (accepted.to, accepted.from_) == (TO, FROM)
    assert accepted.request == CallParams(
        url=URL,
        method="POST",
        twiml=None,
        status_callback=None,
        status_callback_method="POST",
        status_callback_events=frozenset(),
        timeout=DEFAULT_TIMEOUT,
        machine_detection=None,
        record=False,
        send_digits=None,
    )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"From": FROM, "Url": URL}, 21201),
        ({"To": TO, "Url": URL}, 21213),
        ({"To": TO, "From": FROM}, 21205),
        ({"To": "5551230000", "From": FROM, "Url": URL}, 21211),
        ({"To": TO, "From": "caller", "Url": URL}, 21212),
        ({"To": TO, "From": FROM, "ApplicationSid": "AP1"}, 21218),
        ({"To": TO, "From": FROM, "Url": "ftp://app.example.com/x"}, 21205),
        ({"To": TO, "From": FROM, "Url": "https://my_app.example.com/x"}, 21205),
        ({"To": TO, "From": FROM, "Url": URL, "Method": "PUT"}, 21209),
        ({"To": TO, "From": FROM, "Url": URL, "StatusCallback": "/relative"}, 21609),
        ({"To": TO, "From": FROM, "Url": URL, "StatusCallbackMethod": "PUT"}, 20001),
        ({"To": TO, "From": FROM, "Twiml": "x" * 4001}, 20001),
        ({"To": TO, "From": FROM, "Url": URL, "MachineDetection": "Yes"}, 20001),
        ({"To": TO, "From": FROM, "Url": URL, "SendDigits": "12a"}, 20001),
        ({"To": TO, "From": FROM, "Url": URL, "SendDigits": "1" * 33}, 20001),
        ({"To": TO, "From": FROM, "Url": URL, "Timeout": "soon"}, 20001),
        ({"To": TO, "From": FROM, "Url": URL, "Timeout": "0"}, 20001),
    ],
)
def test_broken_rules_answer_twilios_codes(fields: dict[str, str], code: int) -> None:
    assert create_code(form(**fields)) == code


def test_unknown_status_callback_events_are_21626() -> None:
    data = form(("StatusCallbackEvent", "ringing"), ("StatusCallbackEvent", "hangup"))
    data = form(*data.items(), To=TO, From=FROM, Url=URL)
    assert create_code(data) == 21626


def test_callback_events_method_and_options_are_kept() -> None:
    accepted = validate_create(
        form(
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            To=TO,
            From=FROM,
            Url=URL,
            Method="get",
            StatusCallback="https://cb.example.com/status",
            StatusCallbackMethod="GET",
            MachineDetection="DetectMessageEnd",
            SendDigits="1w2#",
            Record="true",
            Timeout="15",
        )
    )
    request = accepted.request
    assert request.status_callback_events == {"ringing", "answered"}
    assert (request.method, request.status_callback_method) == ("GET", "GET")
    assert (request.machine_detection, request.send_digits) == ("DetectMessageEnd", "1w2#")
    assert request.record is True
    assert request.timeout == 15


def test_timeout_is_capped_at_600() -> None:
    accepted = validate_create(form(To=TO, From=FROM, Url=URL, Timeout="3600"))
    assert accepted.request.timeout == MAX_TIMEOUT


def test_url_wins_over_twiml() -> None:
    accepted = validate_create(form(To=TO, From=FROM, Url=URL, Twiml="x" * 5000))
    assert (accepted.request.url, accepted.request.twiml) == (URL, None)


def test_twiml_alone_is_kept() -> None:
    twiml = "<Response><Say>hi</Say></Response>"
    assert validate_create(form(To=TO, From=FROM, Twiml=twiml)).request.twiml == twiml


@pytest.mark.parametrize("endpoint", ["client:alice", "sip:bob@example.com"])
def test_client_and_sip_endpoints_are_callable(endpoint: str) -> None:
    assert validate_create(form(To=endpoint, From=FROM, Url=URL)).to == endpoint


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21217),
        ("+15005550002", 21214),
        ("+15005550003", 21215),
        ("+15005550004", 21216),
    ],
)
def test_magic_to_numbers_come_before_the_url_checks(to: str, code: int) -> None:
    assert create_code(form(To=to, From=FROM, ApplicationSid="AP1")) == code


def test_test_credentials_want_the_magic_from() -> None:
    data = form(To=TO, From="+15551110000", Url=URL)
    assert create_code(data, test_credentials=True) == 21210
    assert validate_create(data).from_ == "+15551110000"


def test_update_reads_status_url_and_callback() -> None:
    update = validate_update(
        form(Status="completed", Url=URL, Method="GET", StatusCallback="https://cb.example.com/")
    )
    assert (update.status, update.url, update.method) == ("completed", URL, "GET")
    assert update.twiml is None
    base = validate_create(form(To=TO, From=FROM, Url=URL)).request
    moved = update.with_callback(base)
    assert moved.status_callback == "https://cb.example.com/"
    assert moved.url == base.url


def test_update_twiml_is_dropped_when_a_url_is_given() -> None:
    assert validate_update(form(Url=URL, Twiml="<Response/>")).twiml is None
    assert validate_update(form(Twiml="<Response/>")).twiml == "<Response/>"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Status": "busy"}, 20001),
        ({"Url": "nope"}, 21205),
        ({"Twiml": "x" * 4001}, 20001),
        ({"StatusCallback": "nope"}, 21609),
        ({"Method": "DELETE"}, 21209),
    ],
)
def test_update_errors(fields: dict[str, str], code: int) -> None:
    with pytest.raises(TwilioError) as caught:
        validate_update(form(**fields))
    assert caught.value.code == code
