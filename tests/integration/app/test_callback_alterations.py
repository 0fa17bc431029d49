"""status_callback main() on callbacks whose signature survives an alteration: Twilio signs each
name and value concatenated with no separator, so characters moved across that boundary keep
the signature valid. Such a callback is answered 2xx and changes and writes nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

import status_callback
from shared.app_services import app_store
from tests.webhook_calls import call_webhook

AUTH_TOKEN = "unit-test-auth-token"  # the conftest's TWILIO_AUTH_TOKEN
BASE = "https://app.example.test/api/status_callback"
SMS_SID = "SM" + "a" * 32
CALL_SID = "CA" + "b" * 32
SMS_SENT = {
    "AccountSid": "AC" + "1" * 32,
    "MessageSid": SMS_SID,
    "MessageStatus": "sent",
    "SmsSid": SMS_SID,
    "SmsStatus": "sent",
    "To": "+15005550006",
}
CALL_RINGING = {
    "AccountSid": "AC" + "1" * 32,
    "CallSid": CALL_SID,
    "CallStatus": "ringing",
    "SequenceNumber": "1",
    "To": "+15005550006",
}


def shifted(form: dict[str, str], name: str, chars: int) -> dict[str, str]:
    """`form` with the last `chars` characters of `name` moved to the start of its value."""
    altered = {key: value for key, value in form.items() if key != name}
    altered[name[:-chars]] = name[-chars:] + form[name]
    return altered


def _url(rid: str, channel: str) -> str:
    return f"{BASE}?rid={rid}&channel={channel}"


def pulled(form: dict[str, str], name: str, chars: int) -> dict[str, str]:
    """`form` with the first `chars` characters of the name after `name` (in the sorted order
    the signature uses) moved to the end of `name`'s value."""
    following = sorted(form)[sorted(form).index(name) + 1]
    altered = {key: value for key, value in form.items() if key != following}
    altered[name] = form[name] + following[:chars]
    altered[following[chars:]] = form[following]
    return altered


def _post(
    signed: Any, rid: str, channel: str, form: dict[str, str], captured: dict[str, str] | None
) -> int:
    """POST `form`, signed as Twilio signed `captured` (an alteration of a captured callback),
    or as Twilio would sign `form` itself (None: signed, but not the shape Twilio sends)."""
    url = _url(rid, channel)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, captured or form)
    # The alteration is invisible to the signature check: that is the hole.
    assert RequestValidator(AUTH_TOKEN).validate(url, form, signature)
    return int(
        call_webhook(
            status_callback.main, signed("POST", url, form, signature=signature)
        ).status_code
    )


def _delivery(rid: str, channel: str, sid: str | None) -> None:
    created = app_store().create_state(
        rid,
        {
            "channel": channel,
            "status": "queued" if sid else "sending",
            "status_source": "twilio" if sid else "local",
            "twilio_sid": sid,
            "event_count": 1 if sid else 0,
        },
    )
    assert created is not None


def _unchanged(rid: str, read_events: Any, status: str) -> None:
    state = app_store().get_state(rid)
    assert state is not None
    assert (state.status, state.event_count) == (status, 1 if status == "queued" else 0)
    assert app_store().list_history(rid) == []
    assert read_events() == []


DELIVERED = {**SMS_SENT, "MessageStatus": "delivered", "SmsStatus": "delivered"}


def _assert_ignored(
    rid: str,
    channel: str,
    recorded: str | None,
    altered: dict[str, str],
    captured: dict[str, str] | None,
    problem: str,
    signed: Any,
    read_events: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A delivery (with `recorded` as its SID) gets the `altered` callback: 204, nothing
    written, and one warning naming the rid and the `problem`."""
    _delivery(rid, channel, recorded)
    caplog.set_level(logging.WARNING)
    assert _post(signed, rid, channel, altered, captured) == 204
    _unchanged(rid, read_events, "queued" if recorded else "sending")
    (warning,) = [r.getMessage() for r in caplog.records if "callback ignored" in r.getMessage()]
    assert f"rid={rid}" in warning
    assert problem in warning


@pytest.mark.parametrize("recorded", [SMS_SID, None], ids=["sid-recorded", "no-sid-yet"])
@pytest.mark.parametrize(
    ("altered", "captured", "problem"),
    [
        # MessageSid=SM… → MessageSi=dSM…, and the same for SmsSid: no SID left.
        (
            shifted(shifted(DELIVERED, "MessageSid", 1), "SmsSid", 1),
            DELIVERED,
            "no MessageSid or SmsSid",
        ),
        # Only MessageSid moved, its value taken by SmsSid's: the two SID fields disagree.
        (shifted(DELIVERED, "MessageSid", 1) | {"MessageSid": "SM" + "f" * 32}, None, "differ"),
        # A SID of the wrong kind (a call's) for an SMS delivery.
        (DELIVERED | {"MessageSid": CALL_SID, "SmsSid": CALL_SID}, None, "not the SID of a"),
        # Characters of the next name moved onto the value: no longer a SID's shape.
        (DELIVERED | {"MessageSid": SMS_SID + "M", "SmsSid": SMS_SID + "M"}, None, "not the SID"),
    ],
)
def test_an_sms_callback_without_its_sid_writes_nothing(
    app_env: Any,
    signed: Any,
    read_events: Any,
    caplog: pytest.LogCaptureFixture,
    recorded: str | None,
    altered: dict[str, str],
    captured: dict[str, str] | None,
    problem: str,
) -> None:
    _assert_ignored("r-1", "sms", recorded, altered, captured, problem, signed, read_events, caplog)


@pytest.mark.parametrize("recorded", [CALL_SID, None], ids=["sid-recorded", "no-sid-yet"])
@pytest.mark.parametrize(
    ("altered", "captured", "problem"),
    [
        # SequenceNumber=1 → SequenceNumbe=r1.
        (shifted(CALL_RINGING, "SequenceNumber", 1), CALL_RINGING, "no integer SequenceNumber"),
        # SequenceNumber=1, To=+1… → SequenceNumber=1T, o=+1….
        (pulled(CALL_RINGING, "SequenceNumber", 1), CALL_RINGING, "no integer SequenceNumber"),
        # CallSid=CA… → CallSi=dCA….
        (shifted(CALL_RINGING, "CallSid", 1), CALL_RINGING, "no CallSid"),
        (CALL_RINGING | {"CallSid": SMS_SID}, None, "not the SID of a Call"),
    ],
)
def test_a_call_callback_without_its_sid_or_sequence_writes_nothing(
    app_env: Any,
    signed: Any,
    read_events: Any,
    caplog: pytest.LogCaptureFixture,
    recorded: str | None,
    altered: dict[str, str],
    captured: dict[str, str] | None,
    problem: str,
) -> None:
    _assert_ignored(
        "r-2", "call", recorded, altered, captured, problem, signed, read_events, caplog
    )


@pytest.mark.parametrize(
    ("channel", "form", "sid"),
    [
        ("sms", SMS_SENT, SMS_SID),
        ("sms", {**SMS_SENT, "MessageSid": "MM" + "c" * 32, "SmsSid": "MM" + "c" * 32}, None),
        ("call", CALL_RINGING, CALL_SID),
    ],
)
def test_a_first_callback_before_the_sid_is_stored_is_still_recorded(
    app_env: Any, signed: Any, read_events: Any, channel: str, form: dict[str, str], sid: str | None
) -> None:
    # The emulator (and Twilio) can call back before the send path stored the SID.
    _delivery("r-3", channel, None)
    url = _url("r-3", channel)
    assert call_webhook(status_callback.main, signed("POST", url, form)).status_code == 204
    state = app_store().get_state("r-3")
    assert state is not None
    expected = sid or form["MessageSid"]
    assert (state.status, state.twilio_sid) == (form.get("MessageStatus") or "ringing", expected)
    assert len(app_store().list_history("r-3")) == 1
    assert len(read_events()) == 1
