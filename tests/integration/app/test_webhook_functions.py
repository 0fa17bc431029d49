"""status_callback and twiml_voice called through main(): signatures, recording, TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

import status_callback
import twiml_voice
from shared.app_services import app_recorder, app_store
from tests.webhook_calls import call_webhook

AUTH_TOKEN = "unit-test-auth-token"  # the conftest's TWILIO_AUTH_TOKEN
CALLBACK = "https://app.example.test/api/status_callback?rid=r-1&channel=sms"
SENT = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "sent", "To": "+15005550006"}


def _claim(rid: str, channel: str = "sms") -> None:
    created = app_store().create_state(
        rid,
        {"channel": channel, "status": "sending", "status_source": "local", "event_count": 0},
    )
    assert created is not None


def test_signed_callback_is_recorded_and_answered_204(app_env: Any, signed: Any) -> None:
    _claim("r-1")
    response = call_webhook(status_callback.main, signed("POST", CALLBACK, SENT))
    assert response.status_code == 204
    state = app_store().get_state("r-1")
    assert state is not None
    assert (state.status, state.twilio_sid) == ("sent", SENT["MessageSid"])


def test_forged_missing_and_altered_signatures_get_403_and_nothing_recorded(
    app_env: Any, signed: Any, read_events: Any
) -> None:
    _claim("r-1")
    good = RequestValidator(AUTH_TOKEN).compute_signature(CALLBACK, SENT)
    other_url = CALLBACK.replace("rid=r-1", "rid=r-9")
    forged = signed("POST", CALLBACK, SENT, token="not-the-auth-token")
    missing = signed("POST", CALLBACK, SENT, signature="")
    altered_body = signed("POST", CALLBACK, {**SENT, "MessageStatus": "delivered"}, signature=good)
    altered_url = signed("POST", other_url, SENT, signature=good)
    altered_signature = signed("POST", CALLBACK, SENT, signature=good.swapcase())
    for request in (forged, missing, altered_body, altered_url, altered_signature):
        assert call_webhook(status_callback.main, request).status_code == 403
    state = app_store().get_state("r-1")
    assert state is not None
    assert state.status == "sending"
    assert app_store().list_history("r-1") == []
    assert read_events() == []


def test_public_url_decides_not_the_worker_url(app_env: Any, configure: Any, signed: Any) -> None:
    # Azure fronts may turn https into http and hide the public port: sign the public URL.
    env = configure(
        app_env.values["AzureWebJobsStorage"], PUBLIC_BASE_URL="https://app.example.test:8443"
    )
    assert env.values["PUBLIC_BASE_URL"] == "https://app.example.test:8443"
    _claim("r-2")
    public = "https://app.example.test:8443/api/status_callback?rid=r-2&channel=sms"
    worker = "http://localhost:7071/api/status_callback?rid=r-2&channel=sms"
    assert (
        call_webhook(
            status_callback.main, signed("POST", public, SENT, worker_url=worker)
        ).status_code
        == 204
    )
    # The same request signed for the URL the worker saw is refused.
    assert call_webhook(status_callback.main, signed("POST", worker, SENT)).status_code == 403


def test_callback_for_unknown_rid_is_204(app_env: Any, signed: Any, read_events: Any) -> None:
    url = "https://app.example.test/api/status_callback?rid=nobody&channel=sms"
    assert call_webhook(status_callback.main, signed("POST", url, SENT)).status_code == 204
    assert app_store().get_state("nobody") is None
    assert read_events() == []


def _xml(response: Any) -> ET.Element:
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    return ET.fromstring(response.get_body())


def test_twimlet_form_without_rid_is_valid_twiml(app_env: Any, signed: Any) -> None:
    url = (
        "https://app.example.test/api/twiml_voice?Message=Hello%20%3C%26%3E%01there"
        "&Message%5B1%5D=https%3A%2F%2Fx.test%2Fa.mp3"
    )
    root = _xml(call_webhook(twiml_voice.main, signed("GET", url)))
    assert [(child.tag, child.text) for child in root] == [
        ("Say", "Hello <&>there"),
        ("Play", "https://x.test/a.mp3"),
    ]


def test_unknown_rid_gets_an_apology_not_a_500(app_env: Any, signed: Any) -> None:
    url = "https://app.example.test/api/twiml_voice?rid=nobody"
    root = _xml(call_webhook(twiml_voice.main, signed("POST", url, {"CallSid": "CA" + "0" * 32})))
    assert [child.tag for child in root] == ["Say", "Hangup"]


def test_unsigned_twiml_request_gets_403(app_env: Any, signed: Any) -> None:
    url = "https://app.example.test/api/twiml_voice?Message=hi"
    assert call_webhook(twiml_voice.main, signed("GET", url, signature="")).status_code == 403


def test_explicit_default_port_in_the_signed_url_is_accepted(app_env: Any, signed: Any) -> None:
    # PUBLIC_BASE_URL has no port; Twilio may sign with :443 (RequestValidator tries both).
    _claim("r-3")
    signed_for = "https://app.example.test:443/api/status_callback?rid=r-3&channel=sms"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(signed_for, SENT)
    request = signed("POST", CALLBACK.replace("r-1", "r-3"), SENT, signature=signature)
    assert call_webhook(status_callback.main, request).status_code == 204


def test_http_public_base_url_with_a_port(app_env: Any, configure: Any, signed: Any) -> None:
    configure(app_env.values["AzureWebJobsStorage"], PUBLIC_BASE_URL="http://10.0.0.5:7071")
    _claim("r-4")
    public = "http://10.0.0.5:7071/api/status_callback?rid=r-4&channel=sms"
    assert call_webhook(status_callback.main, signed("POST", public, SENT)).status_code == 204
    https = public.replace("http://", "https://")
    assert (
        call_webhook(
            status_callback.main, signed("POST", https, SENT, worker_url=public)
        ).status_code
        == 403
    )


SCRIPT = [
    {"type": "say", "text": "Press a key."},
    {"type": "gather", "num_digits": 1},
    {"type": "say", "text": "Thank you."},
]
TWIML_URL = "https://app.example.test/api/twiml_voice?rid=c-1"
ANSWER = {"CallSid": "CA" + "1" * 32, "CallStatus": "in-progress", "Digits": "1"}


def _claim_call(rid: str, program: dict[str, Any] | None) -> None:
    created = app_store().create_state(
        rid,
        {
            "channel": "call",
            "status": "in-progress",
            "status_source": "twilio",
            "twilio_sid": ANSWER["CallSid"],
            "event_count": 1,
            "script": program,
        },
    )
    assert created is not None


def test_a_failure_to_record_digits_still_serves_the_script(
    app_env: Any, signed: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _claim_call("c-1", {"steps": SCRIPT})

    def table_down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("table unreachable for +15551234567")

    monkeypatch.setattr(app_recorder(), "record", table_down)
    root = _xml(call_webhook(twiml_voice.main, signed("POST", f"{TWIML_URL}&step=2", ANSWER)))
    assert [(child.tag, child.text) for child in root] == [("Say", "Thank you.")]
    assert any("could not record the answer" in r.getMessage() for r in caplog.records)
    assert not any("5551234567" in r.getMessage() for r in caplog.records)


def test_a_script_that_cannot_be_served_is_recorded_with_the_apology(
    app_env: Any, signed: Any, read_events: Any
) -> None:
    _claim_call("c-1", None)  # a call without a stored script
    root = _xml(call_webhook(twiml_voice.main, signed("POST", TWIML_URL, ANSWER)))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    (event,) = read_events()
    assert (event["id"], event["status"]) == ("c-1", "in-progress")
    assert event["detail"]["reason"].startswith("apology served")
    rows = [row["RowKey"] for row in app_store().list_history("c-1")]
    assert rows == [f"h-apology-0-{ANSWER['CallSid']}"]


def test_the_callback_url_channel_decides_which_fields_are_read(app_env: Any, signed: Any) -> None:
    _claim("r-9")
    # A message callback that also carries a stray CallStatus: channel=sms reads MessageStatus.
    form = {**SENT, "CallStatus": "completed", "CallSid": "CA" + "9" * 32}
    url = CALLBACK.replace("r-1", "r-9")
    assert call_webhook(status_callback.main, signed("POST", url, form)).status_code == 204
    state = app_store().get_state("r-9")
    assert (state.status, state.twilio_sid) == ("sent", SENT["MessageSid"])
    # channel=call reads the call fields only: a message status alone is not a report.
    call_url = url.replace("channel=sms", "channel=call")
    assert call_webhook(status_callback.main, signed("POST", call_url, SENT)).status_code == 204
    assert len(app_store().list_history("r-9")) == 1
