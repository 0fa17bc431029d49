"""The SMS channel: its checks, the sender it chooses, and the Messages request it makes
(answered by a canned Twilio on the real client's session)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.contracts import SmsRequest
from shared.failure_classes import ClassifiedError, FailureClass
from shared.send_channel import BadInputError
from shared.sms_sender import SMS
from tests.fakes.app_settings import settings_for_test, use_settings
from tests.fakes.twilio_http import CannedTwilio, answer_client

SERVICE = "MG" + "3" * 32
SID = "SM" + "a" * 32


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from settings_for_test(monkeypatch)


def _request(**fields: Any) -> SmsRequest:
    return SmsRequest.model_validate({"id": "r-1", "to": "+15551230001", "body": "hi", **fields})


def _twilio() -> CannedTwilio:
    return answer_client(201, {"sid": SID, "status": "queued"})


def test_a_message_goes_to_messages_with_the_callback_carrying_the_request_id() -> None:
    adapter = _twilio()
    created = SMS.send(_request(metadata={"k": 1}))
    assert (created.sid, created.status) == (SID, "queued")
    form = adapter.sent_form()
    assert (form["To"], form["From"], form["Body"]) == ("+15551230001", "+15005550006", "hi")
    assert form["StatusCallback"].startswith(
        "https://app.example.test/api/status_callback?rid=r-1&channel=sms#"
    )
    assert "MessagingServiceSid" not in form
    assert str(adapter.seen[0].url).endswith("/Messages.json")


def test_the_request_sender_wins_over_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch, TWILIO_MESSAGING_SERVICE_SID=SERVICE)
    adapter = _twilio()
    SMS.send(_request(**{"from": "+15005550009"}))
    form = adapter.sent_form()
    assert (form["From"], "MessagingServiceSid" in form) == ("+15005550009", False)


def test_the_settings_messaging_service_comes_before_their_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_settings(monkeypatch, TWILIO_MESSAGING_SERVICE_SID=SERVICE)
    adapter = _twilio()
    SMS.send(_request())
    form = adapter.sent_form()
    assert (form["MessagingServiceSid"], "From" in form) == (SERVICE, False)


def test_no_sender_at_all_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(monkeypatch)
    monkeypatch.delenv("TWILIO_FROM_NUMBER")
    with pytest.raises(ClassifiedError) as caught:
        SMS.send(_request())
    assert caught.value.failure_class == FailureClass.CONFIGURATION


def test_a_scheduled_message_needs_a_messaging_service(monkeypatch: pytest.MonkeyPatch) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    with pytest.raises(BadInputError, match="Messaging Service"):
        SMS.check(_request(send_at=later.isoformat()))
    use_settings(monkeypatch, TWILIO_MESSAGING_SERVICE_SID=SERVICE)
    SMS.check(_request(send_at=later.isoformat()))  # now fine
    with pytest.raises(BadInputError):
        SMS.check(_request(send_at=later.isoformat(), **{"from": "+15005550009"}))


def test_an_sms_keeps_nothing_beyond_the_common_state() -> None:
    assert SMS.state_properties(_request()) == {}
    assert SMS.channel == "sms"
