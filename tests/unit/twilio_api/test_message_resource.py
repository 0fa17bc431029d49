"""The Message resource's JSON: every field of Twilio's schema, with Twilio's types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulators.twilio_api.message_resource import Message

SID = "SM" + "a" * 32
ACCOUNT = "AC" + "0" * 32
CREATED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

SCHEMA_FIELDS = {
    "account_sid", "api_version", "body", "date_created", "date_sent", "date_updated",
    "direction", "error_code", "error_message", "from", "messaging_service_sid", "num_media",
    "num_segments", "price", "price_unit", "sid", "status", "subresource_uris", "to", "uri",
}  # fmt: skip


def message(**changes: object) -> Message:
    fields: dict[str, object] = {
        "sid": SID,
        "account_sid": ACCOUNT,
        "to": "+15551230000",
        "from_": "+15005550006",
        "body": "hi",
        "messaging_service_sid": None,
        "status": "queued",
        "num_segments": 2,
        "media_urls": ["https://x.example/a.png"],
        "date_created": CREATED,
        "date_updated": CREATED,
        "status_callback": None,
    }
    fields.update(changes)
    return Message(**fields)  # type: ignore[arg-type]


def test_json_has_exactly_twilios_fields_and_types() -> None:
    body = message().to_json()
    assert set(body) == SCHEMA_FIELDS
    assert body["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{SID}.json"
    assert body["subresource_uris"] == {
        "media": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{SID}/Media.json",
        "feedback": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{SID}/Feedback.json",
    }
    assert body["from"] == "+15005550006"
    assert (body["num_media"], body["num_segments"]) == ("1", "2")
    assert body["date_created"] == "Mon, 06 May 2024 07:08:09 +0000"
    assert body["date_sent"] is None
    assert (body["direction"], body["price_unit"], body["api_version"]) == (
        "outbound-api",
        "USD",
        "2010-04-01",
    )


def test_date_sent_shows_once_set() -> None:
    assert message(date_sent=CREATED).to_json()["date_sent"] == "Mon, 06 May 2024 07:08:09 +0000"


@pytest.mark.parametrize(("status", "segments"), [("accepted", "0"), ("scheduled", "0"),
                                                  ("canceled", "0"), ("queued", "2"),
                                                  ("delivered", "2")])  # fmt: skip
def test_num_segments_is_0_until_a_sender_is_picked(status: str, segments: str) -> None:
    assert message(status=status).to_json()["num_segments"] == segments
