"""Create-time validation: each rule's HTTP status and Twilio error code, and the magic numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

SERVICE = "MG" + "b" * 32
TO = "+15551240000"
FROM = "+15551249999"


def create_error(client: Client, **kwargs: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(**kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "", "from_": FROM, "body": "x"}, 21604),
        ({"to": TO, "body": "x"}, 21603),
        ({"to": TO, "from_": FROM}, 21602),
        ({"to": TO, "from_": FROM, "body": "x" * 1601}, 21617),
        (
            {"to": TO, "from_": FROM, "media_url": [f"https://e.com/{i}.png" for i in range(11)]},
            21623,
        ),
        ({"to": TO, "from_": FROM, "media_url": ["not a url"]}, 21620),
        ({"to": TO, "messaging_service_sid": "MG123", "body": "x"}, 21705),
        ({"to": TO, "from_": FROM, "body": "x", "status_callback": "ftp://h/cb"}, 21609),
        ({"to": TO, "from_": FROM, "body": "x", "status_callback": "http://my_host/cb"}, 21609),
        ({"to": TO, "from_": FROM, "body": "x", "status_callback": "/relative/cb"}, 21609),
        ({"to": "12345", "from_": FROM, "body": "x"}, 21211),
        ({"to": TO, "from_": "+1-not-a-number!", "body": "x"}, 21212),
    ],
)
def test_validation_errors(client: Client, kwargs: dict[str, Any], code: int) -> None:
    error = create_error(client, **kwargs)
    assert error.status == 400
    assert error.code == code
    assert error.method == "POST"


def test_error_body_is_twilio_legacy_json(client: Client) -> None:
    create_error(client, to=TO, from_=FROM)
    last = client.http_client._test_only_last_response
    assert last is not None
    import json

    body = json.loads(last.text)
    assert body == {
        "code": 21602,
        "message": "Message body is required.",
        "more_info": "https://www.twilio.com/docs/errors/21602",
        "status": 400,
    }


def test_body_of_exactly_1600_characters_is_accepted(client: Client) -> None:
    message = client.messages.create(to=TO, from_=FROM, body="x" * 1600)
    assert message.num_segments == "11"


def test_ten_media_urls_are_accepted(client: Client) -> None:
    urls = [f"https://example.com/{i}.png" for i in range(10)]
    assert client.messages.create(to=TO, from_=FROM, media_url=urls).num_media == "10"


def test_whatsapp_and_alphanumeric_senders_are_accepted(client: Client) -> None:
    assert (
        client.messages.create(
            to="whatsapp:+15551240001", from_="whatsapp:+15551249999", body="x"
        ).status
        == "queued"
    )
    assert client.messages.create(to=TO, from_="MyShop", body="x").from_ == "MyShop"


@pytest.mark.parametrize(
    ("from_", "code"),
    [("+15005550001", 21212), ("+15005550007", 21606), ("+15005550008", 21611)],
)
def test_magic_from_numbers(client: Client, from_: str, code: int) -> None:
    error = create_error(client, to=TO, from_=from_, body="x")
    assert (error.status, error.code) == (400, code)


def test_magic_from_number_that_passes(client: Client) -> None:
    message = client.messages.create(to=TO, from_="+15005550006", body="x")
    assert message.status == "queued"
    assert message.num_segments == "1"
    assert message.num_media == "0"


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", 21211),
        ("+15005550002", 21612),
        ("+15005550003", 21408),
        ("+15005550004", 21610),
        ("+15005550009", 21614),
    ],
)
def test_magic_to_numbers(client: Client, to: str, code: int) -> None:
    error = create_error(client, to=to, from_="+15005550006", body="x")
    assert (error.status, error.code) == (400, code)


def in_(delta: timedelta) -> datetime:
    return datetime.now(UTC) + delta


def test_schedule_without_send_at_is_35111(client: Client) -> None:
    error = create_error(
        client, to=TO, messaging_service_sid=SERVICE, body="x", schedule_type="fixed"
    )
    assert error.code == 35111


def test_schedule_with_bad_timestamp_is_35114(client: Client, kit: Any) -> None:
    # The client formats datetimes itself, so send a malformed SendAt on the wire directly.
    response = client.http_client.request(
        "POST",
        f"{kit.emulator.base_url}/2010-04-01/Accounts/{kit.emulator.account_sid}/Messages.json",
        data={
            "To": TO,
            "MessagingServiceSid": SERVICE,
            "Body": "x",
            "ScheduleType": "fixed",
            "SendAt": "tomorrow at noon",
        },
        auth=(kit.emulator.account_sid, kit.emulator.auth_token),
    )
    assert response.status_code == 400
    assert '"code": 35114' in response.text


def test_schedule_without_messaging_service_is_35118(client: Client) -> None:
    error = create_error(
        client, to=TO, from_=FROM, body="x", schedule_type="fixed", send_at=in_(timedelta(hours=1))
    )
    assert error.code == 35118


@pytest.mark.parametrize("delta", [timedelta(minutes=5), timedelta(days=36), timedelta(hours=-1)])
def test_schedule_outside_window_is_35115(client: Client, delta: timedelta) -> None:
    error = create_error(
        client,
        to=TO,
        messaging_service_sid=SERVICE,
        body="x",
        schedule_type="fixed",
        send_at=in_(delta),
    )
    assert error.code == 35115


def test_schedule_inside_window_is_scheduled(client: Client) -> None:
    message = client.messages.create(
        to=TO,
        messaging_service_sid=SERVICE,
        body="x",
        schedule_type="fixed",
        send_at=in_(timedelta(minutes=20)),
    )
    assert message.status == "scheduled"


def test_failed_create_stores_nothing(client: Client, kit: Any) -> None:
    create_error(client, to=TO, from_=FROM)
    assert kit.inspect("messages")["messages"] == []
