"""Calls REST routes over real HTTP with the real twilio client: create, fetch, list with filters
and paging, update, delete, the error codes and Twilio's test magic numbers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

CALL_FIELDS = {
    "sid",
    "date_created",
    "date_updated",
    "parent_call_sid",
    "account_sid",
    "to",
    "to_formatted",
    "from",
    "from_formatted",
    "phone_number_sid",
    "status",
    "start_time",
    "end_time",
    "duration",
    "price",
    "price_unit",
    "direction",
    "answered_by",
    "api_version",
    "forwarded_from",
    "group_sid",
    "caller_name",
    "queue_time",
    "trunk_sid",
    "uri",
    "subresource_uris",
}
RFC2822_UTC = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
FROM = "+15005550006"


def say_twiml(text: str = "Hello") -> str:
    response = VoiceResponse()
    response.say(text)
    return str(response)


def create(client: Client, to: str = "+15551230001", **kwargs: Any) -> Any:
    kwargs.setdefault("twiml", say_twiml())
    return client.calls.create(to=to, from_=FROM, **kwargs)


def test_create_answers_201_with_every_field_of_the_schema(client: Client) -> None:
    answer = client.calls.create_with_http_info(to="+15551230001", from_=FROM, twiml=say_twiml())

    assert answer.status_code == 201
    call = answer.data
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    assert call.status == "queued"
    assert call.direction == "outbound-api"
    assert call._from == FROM
    assert call.to == "+15551230001"
    assert call.from_formatted == "(500) 555-0006"
    assert call.to_formatted == "(555) 123-0001"
    assert call.api_version == "2010-04-01"
    assert call.uri == f"/2010-04-01/Accounts/{call.account_sid}/Calls/{call.sid}.json"
    assert call.subresource_uris["recordings"] == call.uri.replace(".json", "/Recordings.json")
    assert call.queue_time is not None
    assert call.queue_time.isdigit()
    assert call.duration is None
    assert call.price_unit == "USD"


def test_raw_json_has_the_schema_fields_types_and_dates(client: Client, kit: Any) -> None:
    sid = create(client).sid
    kit.wait_ended(sid)

    raw = client.request(
        "GET",
        f"{kit.emulator.base_url}/2010-04-01/Accounts/{kit.emulator.account_sid}/Calls/{sid}.json",
    ).content
    body = json.loads(raw)
    assert set(body) == CALL_FIELDS
    for name in ("date_created", "date_updated", "start_time", "end_time"):
        assert RFC2822_UTC.match(body[name]), (name, body[name])
    assert isinstance(body["duration"], str)
    assert isinstance(body["queue_time"], str)
    assert isinstance(body["price"], str)
    assert body["status"] == "completed"


def test_fetch_returns_the_created_call(client: Client) -> None:
    created = create(client)

    fetched = client.calls(created.sid).fetch()

    assert fetched.sid == created.sid
    assert fetched.to == created.to


def test_list_filters_by_to_from_and_status(client: Client, kit: Any) -> None:
    first = create(client, to="+15551230001")
    second = create(client, to="+15551230002")
    busy = create(client, to="+15550100001")
    for sid in (first.sid, second.sid, busy.sid):
        kit.wait_ended(sid)

    assert [c.sid for c in client.calls.list(to="+15551230002")] == [second.sid]
    assert {c.sid for c in client.calls.list(from_=FROM)} == {first.sid, second.sid, busy.sid}
    assert [c.sid for c in client.calls.list(status="busy")] == [busy.sid]
    assert client.calls.list(from_="+15559999999") == []


def test_list_filters_by_start_time(client: Client, kit: Any) -> None:
    sid = create(client).sid
    kit.wait_ended(sid)
    today = datetime.now(UTC).date()

    assert [c.sid for c in client.calls.list(start_time=today)] == [sid]
    assert [c.sid for c in client.calls.list(start_time_after=today)] == [sid]
    assert client.calls.list(start_time_before=today - timedelta(days=1)) == []
    assert client.calls.list(start_time_after=today + timedelta(days=1)) == []


def test_list_date_bounds_follow_twilios_documented_rules(client: Client, kit: Any) -> None:
    sid = create(client).sid
    kit.wait_ended(sid)
    call = client.calls(sid).fetch()
    day, started, ended = call.start_time.date(), call.start_time, call.end_time

    # "Only include calls that started before this date": not the day itself, whether the day
    # is sent as `YYYY-MM-DD` or as twilio-python's midnight date-time.
    for bound in (day, str(day)):
        assert client.calls.list(start_time_before=bound) == []
        assert [c.sid for c in client.calls.list(start_time_before=day + timedelta(1))] == [sid]
        assert [c.sid for c in client.calls.list(start_time_after=bound)] == [sid]
    assert [c.sid for c in client.calls.list(end_time=ended.date())] == [sid]
    # A date-time with a time of day compares to the second, both ends inclusive.
    assert [c.sid for c in client.calls.list(start_time_after=started)] == [sid]
    assert client.calls.list(start_time_after=started + timedelta(seconds=1)) == []
    assert [c.sid for c in client.calls.list(end_time_before=ended)] == [sid]
    assert client.calls.list(end_time_before=ended - timedelta(seconds=1)) == []


def test_list_with_a_date_filter_that_is_no_date_is_20001(client: Client) -> None:
    with pytest.raises(TwilioException) as caught:
        client.calls.list(start_time="last tuesday")

    assert "20001" in str(caught.value)


def test_list_pages_newest_first_like_twilio(client: Client) -> None:
    sids = [create(client).sid for _ in range(5)]

    page = client.calls.page(page_size=2)
    seen = [c.sid for c in page]
    while (page := page.next_page()) is not None:
        seen.extend(c.sid for c in page)

    assert seen == list(reversed(sids))
    assert [c.sid for c in client.calls.list(page_size=2, limit=3)] == list(reversed(sids))[:3]


def test_delete_of_an_ended_call_then_fetch_is_404(client: Client, kit: Any) -> None:
    sid = create(client).sid
    kit.wait_ended(sid)

    assert client.calls(sid).delete() is True
    with pytest.raises(TwilioRestException) as error:
        client.calls(sid).fetch()
    assert (error.value.status, error.value.code) == (404, 20404)


def test_delete_of_a_live_call_is_refused(client: Client, kit: Any) -> None:
    response = VoiceResponse()
    response.pause(length=600)
    sid = create(client, twiml=str(response)).sid
    kit.wait_status(sid, "in-progress")

    with pytest.raises(TwilioRestException) as error:
        client.calls(sid).delete()
    assert error.value.code == 20009


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "+15551230001", "from_": FROM}, 21205),
        ({"to": "+15551230001", "from_": FROM, "url": "not a url"}, 21205),
        ({"to": "+15551230001", "from_": FROM, "url": "https://bad_host.example/x"}, 21205),
        ({"to": "+15551230001", "from_": FROM, "application_sid": "AP" + "0" * 32}, 21218),
        ({"to": "+15551230001", "from_": FROM, "twiml": "x" * 4001}, 20001),
        ({"to": "12", "from_": FROM, "twiml": "<Response/>"}, 21211),
        ({"to": "+15551230001", "from_": "nope", "twiml": "<Response/>"}, 21212),
        ({"to": "+15551230001", "from_": FROM, "twiml": "<Response/>", "method": "PUT"}, 21209),
        (
            {
                "to": "+15551230001",
                "from_": FROM,
                "twiml": "<Response/>",
                "status_callback": "https://cb.example/x",
                "status_callback_event": ["ringing", "picked-up"],
            },
            21626,
        ),
        (
            {
                "to": "+15551230001",
                "from_": FROM,
                "twiml": "<Response/>",
                "status_callback": "ftp://x.example/cb",
            },
            21609,
        ),
        (
            {
                "to": "+15551230001",
                "from_": FROM,
                "twiml": "<Response/>",
                "machine_detection": "Sometimes",
            },
            20001,
        ),
        ({"to": "+15551230001", "from_": FROM, "twiml": "<Response/>", "timeout": "x"}, 20001),
    ],
)
def test_create_validation_errors(client: Client, kwargs: dict[str, Any], code: int) -> None:
    with pytest.raises(TwilioRestException) as error:
        client.calls.create(**kwargs)

    assert (error.value.status, error.value.code) == (400, code)
    assert client.calls.list() == []


def test_missing_to_and_from_are_21201_and_21213(client: Client, kit: Any) -> None:
    url = f"{kit.emulator.base_url}/2010-04-01/Accounts/{kit.emulator.account_sid}/Calls.json"

    no_to = client.request("POST", url, data={"From": FROM, "Twiml": "<Response/>"})
    no_from = client.request("POST", url, data={"To": "+15551230001", "Twiml": "<Response/>"})

    assert (no_to.status_code, json.loads(no_to.content)["code"]) == (400, 21201)
    assert (no_from.status_code, json.loads(no_from.content)["code"]) == (400, 21213)
    assert json.loads(no_to.content)["more_info"] == "https://www.twilio.com/docs/errors/21201"


@pytest.mark.parametrize(
    ("to", "from_", "code"),
    [
        ("+15551230001", "+15005550001", 21212),
        ("+15005550001", FROM, 21217),
        ("+15005550002", FROM, 21214),
        ("+15005550003", FROM, 21215),
        ("+15005550004", FROM, 21216),
    ],
)
def test_magic_numbers_answer_their_errors(client: Client, to: str, from_: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as error:
        client.calls.create(to=to, from_=from_, twiml=say_twiml())

    assert error.value.status == 400
    assert error.value.code == code


@pytest.mark.parametrize("to", ["not-a-number", "12345"])
def test_a_malformed_to_is_21211_and_only_the_magic_number_is_21217(
    client: Client, to: str
) -> None:
    with pytest.raises(TwilioRestException) as malformed:
        client.calls.create(to=to, from_=FROM, twiml=say_twiml())
    with pytest.raises(TwilioRestException) as magic:
        client.calls.create(to="+15005550001", from_=FROM, twiml=say_twiml())

    assert (malformed.value.status, malformed.value.code) == (400, 21211)
    assert malformed.value.msg == (
        f"Unable to create record: The 'To' number {to} is not a valid phone number."
    )
    assert (magic.value.status, magic.value.code) == (400, 21217)
    assert client.calls.list() == []


def test_magic_from_that_passes_creates_a_call(client: Client) -> None:
    call = client.calls.create(to="+15005550006", from_="+15005550006", twiml=say_twiml())

    assert call.status == "queued"


def test_wrong_credentials_are_401_20003(kit: Any) -> None:
    bad = Client(kit.emulator.account_sid, "wrong-token")
    bad.api.base_url = kit.emulator.base_url

    with pytest.raises(TwilioRestException) as error:
        bad.calls.create(to="+15551230001", from_=FROM, twiml=say_twiml())

    assert (error.value.status, error.value.code) == (401, 20003)


def test_fetch_of_an_unknown_call_is_404_20404(client: Client) -> None:
    with pytest.raises(TwilioRestException) as error:
        client.calls("CA" + "0" * 32).fetch()

    assert (error.value.status, error.value.code) == (404, 20404)


def test_update_with_an_invalid_status_is_refused(client: Client) -> None:
    sid = create(client).sid

    with pytest.raises(TwilioRestException) as error:
        client.calls(sid).update(status="ringing")

    assert error.value.code == 20001


def test_redirecting_an_ended_call_is_21220(client: Client, kit: Any) -> None:
    sid = create(client).sid
    kit.wait_ended(sid)

    with pytest.raises(TwilioRestException) as error:
        client.calls(sid).update(twiml=say_twiml("again"))

    assert (error.value.status, error.value.code) == (400, 21220)


def test_dates_parse_and_end_after_start(client: Client, kit: Any) -> None:
    sid = create(client).sid
    kit.wait_ended(sid)

    call = client.calls(sid).fetch()

    assert call.start_time is not None
    assert call.end_time is not None
    assert call.end_time >= call.start_time
    assert int(call.duration) >= 0
    assert call.price is not None
    assert float(call.price) < 0
    raw_start = kit.view(sid)["start_time"]
    assert parsedate_to_datetime(raw_start).utcoffset() == timedelta(0)


def test_list_filters_by_end_time(client: Client, kit: Any) -> None:
    ended = create(client).sid
    kit.wait_ended(ended)
    hold = VoiceResponse()
    hold.pause(length=600)
    live = create(client, twiml=str(hold)).sid
    kit.wait_status(live, "in-progress")
    today = datetime.now(UTC).date()

    assert [c.sid for c in client.calls.list(end_time=today)] == [ended]
    assert client.calls.list(end_time_before=today - timedelta(days=1)) == []


def test_inspection_lists_calls_oldest_first_with_filters(client: Client, kit: Any) -> None:
    first = create(client, to="+15551230001").sid
    busy = create(client, to="+15550100001").sid
    kit.wait_ended(first)
    kit.wait_ended(busy)

    assert [c["sid"] for c in kit.get("calls")["calls"]] == [first, busy]
    assert [c["sid"] for c in kit.get("calls?to=%2B15550100001")["calls"]] == [busy]
    assert [c["sid"] for c in kit.get("calls?status=completed")["calls"]] == [first]


def test_update_can_set_a_new_status_callback(client: Client, kit: Any) -> None:
    hold = VoiceResponse()
    hold.pause(length=600)
    sid = create(client, twiml=str(hold)).sid
    kit.wait_status(sid, "in-progress")

    client.calls(sid).update(status_callback=kit.server.url("/status"))
    client.calls(sid).update(status="completed")

    (hit,) = kit.callbacks("/status", 1)
    assert hit.params["CallStatus"] == "completed"
    assert kit.signed(hit)
