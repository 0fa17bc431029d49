"""The Call resource's JSON, number formatting, caller PN SIDs and per-minute prices."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from emulators.twilio_api.call_resource import (
    Call,
    CallParams,
    format_number,
    phone_number_sid,
    price_for,
)

SID = "CA" + "b" * 32
ACCOUNT = "AC" + "0" * 32
CREATED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
PARAMS = CallParams(
    url="https://app.example.com/voice",
    method="POST",
    twiml=None,
    status_callback=None,
    status_callback_method="POST",
    status_callback_events=frozenset(),
    timeout=60,
    machine_detection=None,
    record=False,
    send_digits=None,
)

SCHEMA_FIELDS = {
    "account_sid", "answered_by", "api_version", "caller_name", "date_created", "date_updated",
    "direction", "duration", "end_time", "forwarded_from", "from", "from_formatted", "group_sid",
    "parent_call_sid", "phone_number_sid", "price", "price_unit", "queue_time", "sid",
    "start_time", "status", "subresource_uris", "to", "to_formatted", "trunk_sid", "uri",
}  # fmt: skip


def call(**changes: object) -> Call:
    fields: dict[str, object] = {
        "sid": SID,
        "account_sid": ACCOUNT,
        "to": "+14158675309",
        "from_": "+15005550006",
        "request": PARAMS,
        "date_created": CREATED,
        "date_updated": CREATED,
        "queue_time_ms": 1500,
        "seq": 1,
        "api_base": "http://127.0.0.1:8701",
    }
    fields.update(changes)
    return Call(**fields)  # type: ignore[arg-type]


def test_json_has_exactly_twilios_fields_and_types() -> None:
    body = call().to_json()
    assert set(body) == SCHEMA_FIELDS
    assert body["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{SID}.json"
    assert body["to_formatted"] == "(415) 867-5309"
    assert body["queue_time"] == "1500"
    assert (body["status"], body["duration"], body["start_time"], body["end_time"]) == (
        "queued",
        None,
        None,
        None,
    )
    assert body["phone_number_sid"] == phone_number_sid("+15005550006")


def test_subresource_uris_are_camel_cased() -> None:
    uris = call().to_json()["subresource_uris"]
    base = f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{SID}"
    assert uris["recordings"] == f"{base}/Recordings.json"
    assert uris["user_defined_message_subscriptions"] == (
        f"{base}/UserDefinedMessageSubscriptions.json"
    )
    assert len(uris) == 9


def test_an_ended_call_shows_duration_and_times_as_strings() -> None:
    ended = call(status="completed", duration=61, start_time=CREATED, end_time=CREATED)
    body = ended.to_json()
    assert body["duration"] == "61"
    assert body["end_time"] == "Mon, 06 May 2024 07:08:09 +0000"
    assert ended.ended


@pytest.mark.parametrize(
    ("status", "ended"),
    [("queued", False), ("ringing", False), ("in-progress", False), ("completed", True),
     ("busy", True), ("no-answer", True), ("failed", True), ("canceled", True)],
)  # fmt: skip
def test_ended(status: str, ended: bool) -> None:
    assert call(status=status).ended is ended


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("+14158675309", "(415) 867-5309"),
        ("+442071234567", "+442071234567"),
        ("+1415867530", "+1415867530"),
        ("client:alice", "client:alice"),
    ],
)
def test_format_number(number: str, shown: str) -> None:
    assert format_number(number) == shown


def test_phone_number_sid_is_stable_and_twilio_shaped() -> None:
    sid = phone_number_sid("+15005550006")
    assert re.fullmatch(r"PN[0-9a-f]{32}", sid)
    assert sid == phone_number_sid("+15005550006") != phone_number_sid("+15005550007")


@pytest.mark.parametrize(
    ("seconds", "price"), [(0, "-0.01400"), (1, "-0.01400"), (60, "-0.01400"), (61, "-0.02800")]
)
def test_price_per_started_minute(seconds: int, price: str) -> None:
    assert price_for(seconds) == price
