"""Messages create validation: Twilio's rules in Twilio's order, with Twilio's error codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from multidict import MultiDict, MultiDictProxy

from emulators.twilio_api.errors import TwilioError
from emulators.twilio_api.message_validation import validate_create, validate_status_update

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
SERVICE = "MG" + "a" * 32
TO = "+15551230000"
FROM = "+15005550006"


def form(*pairs: tuple[str, str], **fields: str) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict([*fields.items(), *pairs]))


def code_of(data: MultiDictProxy[str], test_credentials: bool = False) -> int:
    with pytest.raises(TwilioError) as caught:
        validate_create(data, NOW, test_credentials=test_credentials)
    assert caught.value.status == 400
    return caught.value.code


def test_a_plain_message_is_accepted() -> None:
    accepted = validate_create(form(To=f" {TO} ", From=FROM, Body="hi"), NOW)
    assert (accepted.to, accepted.from_, accepted.body) == (TO, FROM, "hi")
    assert accepted.messaging_service_sid is None
    assert accepted.send_at is None
    assert accepted.status_callback is None


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"From": FROM, "Body": "x"}, 21604),
        ({"To": TO, "Body": "x"}, 21603),
        ({"To": TO, "From": FROM}, 21602),
        ({"To": TO, "From": FROM, "Body": "x" * 1601}, 21617),
        ({"To": TO, "MessagingServiceSid": "MG123", "Body": "x"}, 21705),
        ({"To": TO, "From": FROM, "Body": "x", "StatusCallback": "ftp://cb.example"}, 21609),
        ({"To": TO, "From": FROM, "Body": "x", "StatusCallback": "https://my_host/cb"}, 21609),
        (
            {
                "To": TO,
                "From": FROM,
                "Body": "x",
                "StatusCallback": "https://a.example/" + "p" * 4000,
            },
            21609,
        ),
        ({"To": "5551230000", "From": FROM, "Body": "x"}, 21211),
        ({"To": TO, "From": "not a number!", "Body": "x"}, 21212),
        ({"To": TO, "From": "TwelveChars1", "Body": "x"}, 21212),
    ],
)
def test_broken_rules_answer_twilios_codes(fields: dict[str, str], code: int) -> None:
    assert code_of(form(**fields)) == code


def test_the_first_broken_rule_wins() -> None:
    # No To and no From: To is checked first.
    assert code_of(form(Body="x")) == 21604
    # Too long and too many media: the body is checked first.
    media = [("MediaUrl", f"https://m.example/{i}") for i in range(11)]
    assert code_of(form(*media, To=TO, From=FROM, Body="x" * 1601)) == 21617


def test_media_rules() -> None:
    media = [("MediaUrl", f"https://m.example/{i}") for i in range(10)]
    accepted = validate_create(form(*media, To=TO, From=FROM), NOW)
    assert len(accepted.media_urls) == 10
    assert accepted.body == ""
    assert code_of(form(*media, ("MediaUrl", "https://m.example/x"), To=TO, From=FROM)) == 21623
    assert code_of(form(("MediaUrl", "file:///etc/passwd"), To=TO, From=FROM)) == 21620


def test_content_sid_stands_in_for_a_body() -> None:
    assert validate_create(form(To=TO, From=FROM, ContentSid="HX1"), NOW).body == ""


def test_body_of_1600_characters_is_allowed() -> None:
    assert len(validate_create(form(To=TO, From=FROM, Body="x" * 1600), NOW).body) == 1600


@pytest.mark.parametrize("sender", ["12345", "MyBrand", "My-Brand_1", "whatsapp:+15005550006"])
def test_short_codes_alphanumeric_ids_and_channels_are_senders(sender: str) -> None:
    assert validate_create(form(To=TO, From=sender, Body="x"), NOW).from_ == sender


def test_a_channel_address_to_is_accepted() -> None:
    assert validate_create(form(To=f"whatsapp:{TO}", From=FROM, Body="x"), NOW).to == (
        f"whatsapp:{TO}"
    )


def test_a_service_sid_in_from_is_taken_as_the_service() -> None:
    accepted = validate_create(form(To=TO, From=SERVICE, Body="x"), NOW)
    assert (accepted.from_, accepted.messaging_service_sid) == (None, SERVICE)


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
def test_magic_to_numbers(to: str, code: int) -> None:
    assert code_of(form(To=to, From=FROM, Body="x")) == code


@pytest.mark.parametrize(
    ("from_", "code"), [("+15005550001", 21212), ("+15005550007", 21606), ("+15005550008", 21611)]
)
def test_magic_from_numbers(from_: str, code: int) -> None:
    assert code_of(form(To=TO, From=from_, Body="x")) == code


def test_test_credentials_refuse_any_other_from_with_21606() -> None:
    assert code_of(form(To=TO, From="+15551110000", Body="x"), test_credentials=True) == 21606
    assert validate_create(form(To=TO, From=FROM, Body="x"), NOW, test_credentials=True)
    # The live account owns every number.
    assert validate_create(form(To=TO, From="+15551110000", Body="x"), NOW)


def scheduled(send_at: str, **fields: str) -> MultiDictProxy[str]:
    base = {"To": TO, "MessagingServiceSid": SERVICE, "Body": "x", "ScheduleType": "fixed"}
    return form(**{**base, "SendAt": send_at, **fields})


def test_a_scheduled_message_in_the_window_is_accepted() -> None:
    send_at = NOW + timedelta(minutes=15)
    assert validate_create(scheduled(send_at.isoformat()), NOW).send_at == send_at
    latest = NOW + timedelta(days=35)
    assert validate_create(scheduled(latest.isoformat()), NOW).send_at == latest


@pytest.mark.parametrize(
    ("send_at", "code"),
    [
        ("", 35111),
        ("next week", 35114),
        ((NOW + timedelta(minutes=14, seconds=59)).isoformat(), 35115),
        ((NOW + timedelta(days=35, seconds=1)).isoformat(), 35115),
    ],
)
def test_scheduling_errors(send_at: str, code: int) -> None:
    assert code_of(scheduled(send_at)) == code


def test_scheduling_needs_a_service() -> None:
    send_at = (NOW + timedelta(hours=1)).isoformat()
    data = form(To=TO, From=FROM, Body="x", ScheduleType="fixed", SendAt=send_at)
    assert code_of(data) == 35118


def test_without_schedule_type_send_at_is_ignored() -> None:
    assert validate_create(form(To=TO, From=FROM, Body="x", SendAt="junk"), NOW).send_at is None


def test_only_canceled_may_be_set() -> None:
    validate_status_update("canceled")
    with pytest.raises(TwilioError) as caught:
        validate_status_update("delivered")
    assert caught.value.code == 20001
