"""The call channel: its script check, the script it keeps, and the Calls request it makes
(answered by a canned Twilio on the real client's session)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.call_sender import CALL
from shared.contracts import CallRequest
from shared.failure_classes import ClassifiedError, FailureClass
from shared.send_channel import BadInputError
from tests.fakes.app_settings import settings_for_test
from tests.fakes.twilio_http import CannedTwilio, answer_client

SID = "CA" + "b" * 32
SCRIPT = [{"type": "say", "text": "Hello"}, {"type": "hangup"}]


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from settings_for_test(monkeypatch)


def _request(**fields: Any) -> CallRequest:
    return CallRequest.model_validate({"id": "c-1", "to": "+15551230001", **fields})


def _twilio() -> CannedTwilio:
    return answer_client(201, {"sid": SID, "status": "queued"})


def test_a_script_call_fetches_its_twiml_from_the_app() -> None:
    adapter = _twilio()
    assert CALL.send(_request(script=SCRIPT)).sid == SID
    form = adapter.sent_form()
    assert form["Url"].startswith("https://app.example.test/api/twiml_voice?rid=c-1#")
    assert form["StatusCallback"].startswith(
        "https://app.example.test/api/status_callback?rid=c-1&channel=call#"
    )
    assert (form["To"], form["From"]) == ("+15551230001", "+15005550006")


def test_twiml_is_passed_on_as_it_is() -> None:
    adapter = _twilio()
    CALL.send(_request(twiml="<Response><Hangup/></Response>"))
    form = adapter.sent_form()
    assert (form["Twiml"], "Url" in form) == ("<Response><Hangup/></Response>", False)


def test_the_script_is_kept_with_its_default_voice() -> None:
    kept = CALL.state_properties(_request(script=SCRIPT, voice="alice"))
    assert kept["script"]["steps"] == SCRIPT
    assert (kept["script"]["voice"], kept["script"]["language"]) == ("alice", None)
    assert CALL.state_properties(_request(twiml="<Response/>")) == {}


def test_a_script_too_big_for_one_twiml_document_is_bad_input() -> None:
    CALL.check(_request(script=SCRIPT))  # small: fine
    # Under the contract's 30000 characters as JSON, but `&` is five bytes as XML.
    huge = [{"type": "say", "text": "&" * 4000} for _ in range(6)]
    with pytest.raises(BadInputError, match="bytes"):
        CALL.check(_request(script=huge))


def test_no_caller_id_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_FROM_NUMBER")
    with pytest.raises(ClassifiedError) as caught:
        CALL.send(_request(script=SCRIPT))
    assert caught.value.failure_class == FailureClass.CONFIGURATION
