"""Messages routes over real HTTP with the twilio client: create, fetch, list, update, delete."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

SERVICE = "MG" + "a" * 32
FIELDS = {
    "account_sid",
    "api_version",
    "body",
    "date_created",
    "date_sent",
    "date_updated",
    "direction",
    "error_code",
    "error_message",
    "from",
    "messaging_service_sid",
    "num_media",
    "num_segments",
    "price",
    "price_unit",
    "sid",
    "status",
    "subresource_uris",
    "to",
    "uri",
}


def test_create_answers_201_with_every_schema_field(client: Client, kit: Any) -> None:
    message = client.messages.create(to="+15551230001", from_="+15551239999", body="hello")
    data = kit.stored(message.sid)
    assert set(data) >= FIELDS
    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert message.num_segments == "1"
    assert message.num_media == "0"
    assert message.direction == "outbound-api"
    assert message.api_version == "2010-04-01"
    assert message.account_sid == kit.emulator.account_sid
    assert (
        message.uri
        == f"/2010-04-01/Accounts/{kit.emulator.account_sid}/Messages/{message.sid}.json"
    )
    assert message.subresource_uris["media"].endswith(f"/Messages/{message.sid}/Media.json")
    assert isinstance(data["date_created"], str)
    assert data["date_created"].endswith("+0000")
    assert parsedate_to_datetime(data["date_created"]).tzinfo is not None
    last = client.http_client._test_only_last_response
    assert last is not None
    assert last.status_code == 201


def test_media_message_gets_mm_sid_and_num_media(client: Client) -> None:
    message = client.messages.create(
        to="+15551230002",
        from_="+15551239999",
        media_url=["https://example.com/a.png", "https://example.com/b.png"],
    )
    assert re.fullmatch(r"MM[0-9a-f]{32}", message.sid)
    assert message.num_media == "2"


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, "1"),
        ("a" * 161, "2"),
        ("a" * 306, "2"),
        ("a" * 307, "3"),
        ("€" * 80, "1"),  # extension characters cost two septets: 160 septets
        ("€" * 81, "2"),
        ("é" * 160, "1"),  # é is in the GSM-7 basic set
        ("ж" * 70, "1"),  # UCS-2
        ("ж" * 71, "2"),
        ("ж" * 134, "2"),
        ("ж" * 135, "3"),
    ],
)
def test_num_segments_follows_gsm7_and_ucs2_rules(client: Client, body: str, segments: str) -> None:
    message = client.messages.create(to="+15551230003", from_="+15551239999", body=body)
    assert message.num_segments == segments


def test_fetch_returns_the_message_and_unknown_sid_is_20404(client: Client) -> None:
    created = client.messages.create(to="+15551230004", from_="+15551239999", body="fetch me")
    fetched = client.messages(created.sid).fetch()
    assert fetched.sid == created.sid
    assert fetched.body == "fetch me"
    with pytest.raises(TwilioRestException) as caught:
        client.messages("SM" + "0" * 32).fetch()
    assert caught.value.status == 404
    assert caught.value.code == 20404


def test_messaging_service_message_starts_accepted_without_from(client: Client, kit: Any) -> None:
    message = client.messages.create(to="+15551230005", messaging_service_sid=SERVICE, body="x")
    assert message.status == "accepted"
    assert message.from_ is None
    assert message.messaging_service_sid == SERVICE
    done = kit.wait_for(
        lambda: (m := client.messages(message.sid).fetch()).status == "delivered" and m,
        "the service message to be delivered",
    )
    assert done.from_  # the service picked a sender


def test_list_filters_by_to_and_from(client: Client) -> None:
    a = client.messages.create(to="+15551230010", from_="+15551239991", body="a")
    b = client.messages.create(to="+15551230011", from_="+15551239991", body="b")
    c = client.messages.create(to="+15551230010", from_="+15551239992", body="c")
    assert {m.sid for m in client.messages.list(to="+15551230010")} == {a.sid, c.sid}
    assert {m.sid for m in client.messages.list(from_="+15551239991")} == {a.sid, b.sid}
    both = client.messages.list(to="+15551230010", from_="+15551239992")
    assert [m.sid for m in both] == [c.sid]


def test_list_is_newest_first_and_pages_with_next_page_uri(client: Client) -> None:
    sids = [
        client.messages.create(to="+15551230020", from_="+15551239999", body=str(i)).sid
        for i in range(5)
    ]
    page = client.messages.page(to="+15551230020", page_size=2)
    seen = [m.sid for m in page]
    pages = 1
    while (page := page.next_page()) is not None:
        seen.extend(m.sid for m in page)
        pages += 1
    assert seen == list(reversed(sids))
    assert pages == 3
    streamed = [m.sid for m in client.messages.stream(to="+15551230020", page_size=2)]
    assert streamed == list(reversed(sids))


def test_list_page_json_has_twilio_paging_fields(client: Client, kit: Any) -> None:
    for i in range(3):
        client.messages.create(to="+15551230021", from_="+15551239999", body=str(i))
    response = client.http_client.request(
        "GET",
        f"{kit.emulator.base_url}/2010-04-01/Accounts/{kit.emulator.account_sid}/Messages.json",
        params={"To": "+15551230021", "PageSize": 2},
        auth=(kit.emulator.account_sid, kit.emulator.auth_token),
    )
    payload = json.loads(response.text)
    assert {
        "messages",
        "end",
        "first_page_uri",
        "next_page_uri",
        "page",
        "page_size",
        "previous_page_uri",
        "start",
        "uri",
    } <= set(payload)
    assert payload["page"] == 0
    assert payload["page_size"] == 2
    assert payload["start"] == 0
    assert payload["end"] == 1
    assert "PageToken=PA" in payload["next_page_uri"]
    assert payload["next_page_uri"].startswith(f"/2010-04-01/Accounts/{kit.emulator.account_sid}/")
    assert payload["previous_page_uri"] is None


def test_list_filters_by_date_sent(client: Client, kit: Any) -> None:
    message = client.messages.create(to="+15551230030", from_="+15551239999", body="dated")
    kit.wait_for(lambda: client.messages(message.sid).fetch().date_sent, "date_sent to be set")
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    yesterday = today - timedelta(days=1)
    to = "+15551230030"
    assert [m.sid for m in client.messages.list(to=to, date_sent=today)] == [message.sid]
    assert client.messages.list(to=to, date_sent=tomorrow) == []
    assert [m.sid for m in client.messages.list(to=to, date_sent_before=tomorrow)] == [message.sid]
    assert client.messages.list(to=to, date_sent_before=yesterday) == []
    assert [m.sid for m in client.messages.list(to=to, date_sent_after=yesterday)] == [message.sid]
    assert client.messages.list(to=to, date_sent_after=tomorrow) == []


def test_list_date_sent_bounds_keep_the_day_and_compare_moments_to_the_second(
    client: Client, kit: Any
) -> None:
    to = "+15551230031"
    message = client.messages.create(to=to, from_="+15551239999", body="dated")
    sent = kit.wait_for(lambda: client.messages(message.sid).fetch().date_sent, "date_sent")
    day = sent.date()

    # "Messages with sent_dates on and before a specific date": the day itself is kept, sent
    # as `YYYY-MM-DD` or as twilio-python's midnight date-time alike.
    for bound in (day, str(day)):
        assert [m.sid for m in client.messages.list(to=to, date_sent_before=bound)] == [message.sid]
        assert [m.sid for m in client.messages.list(to=to, date_sent_after=bound)] == [message.sid]
    assert [m.sid for m in client.messages.list(to=to, date_sent_after=sent)] == [message.sid]
    assert client.messages.list(to=to, date_sent_after=sent + timedelta(seconds=1)) == []
    assert [m.sid for m in client.messages.list(to=to, date_sent_before=sent)] == [message.sid]
    assert client.messages.list(to=to, date_sent_before=sent - timedelta(seconds=1)) == []


def test_redact_body_with_empty_string(client: Client) -> None:
    message = client.messages.create(to="+15551230040", from_="+15551239999", body="secret")
    updated = client.messages(message.sid).update(body="")
    assert updated.body == ""
    assert client.messages(message.sid).fetch().body == ""


def test_cancel_scheduled_message(client: Client, kit: Any) -> None:
    send_at = datetime.now(UTC) + timedelta(days=1)
    message = client.messages.create(
        to="+15551230041",
        messaging_service_sid=SERVICE,
        body="later",
        schedule_type="fixed",
        send_at=send_at,
    )
    assert message.status == "scheduled"
    canceled = client.messages(message.sid).update(status="canceled")
    assert canceled.status == "canceled"
    assert client.messages(message.sid).fetch().status == "canceled"


def test_cancel_of_unscheduled_message_is_30409(client: Client) -> None:
    message = client.messages.create(to="+15551230042", from_="+15551239999", body="now")
    with pytest.raises(TwilioRestException) as caught:
        client.messages(message.sid).update(status="canceled")
    assert caught.value.status == 400
    assert caught.value.code == 30409


def test_delete_answers_204_then_404(client: Client, kit: Any) -> None:
    message = client.messages.create(to="+15551230050", from_="+15551239999", body="bye")
    kit.wait_for(lambda: client.messages(message.sid).fetch().status == "delivered", "delivery")
    assert client.messages(message.sid).delete() is True
    last = client.http_client._test_only_last_response
    assert last is not None
    assert last.status_code == 204
    with pytest.raises(TwilioRestException) as caught:
        client.messages(message.sid).fetch()
    assert caught.value.code == 20404


def test_delete_of_message_in_flight_is_20009(client: Client) -> None:
    send_at = datetime.now(UTC) + timedelta(days=1)
    message = client.messages.create(
        to="+15551230051",
        messaging_service_sid=SERVICE,
        body="later",
        schedule_type="fixed",
        send_at=send_at,
    )
    with pytest.raises(TwilioRestException) as caught:
        client.messages(message.sid).delete()
    assert caught.value.code == 20009
    assert client.messages(message.sid).fetch().status == "scheduled"
