"""The URL Twilio signs: credentials in the webhook URL are left out (and sent only after a 401
Basic challenge), and voice webhooks over HTTPS are signed without the port, SMS ones with it."""

from __future__ import annotations

import base64
from typing import Any

from twilio.request_validator import RequestValidator
from twilio.rest import Client

FROM = "+15551280000"
CLOSED = "127.0.0.1:1"  # nothing listens there: the attempt fails, but it is signed and logged


def test_credentials_in_the_url_are_not_signed_and_answer_the_challenge(
    client: Client, kit: Any, sink: Any
) -> None:
    host = sink.base_url.removeprefix("http://")
    callback = f"http://alice:s%3Acret@{host}/auth?rid=7"
    message = client.messages.create(
        to="+15551280001", from_=FROM, body="x", status_callback=callback
    )

    kit.wait_for(lambda: len(sink.for_sid(message.sid)) >= 2, "the challenged callback")
    challenged, answered = sink.for_sid(message.sid)[:2]
    assert "Authorization" not in challenged.headers
    expected = "Basic " + base64.b64encode(b"alice:s:cret").decode()
    assert answered.headers["Authorization"] == expected
    validator = RequestValidator(kit.emulator.auth_token)
    for hit in (challenged, answered):
        assert hit.url == f"http://{host}/auth?rid=7"
        assert validator.compute_signature(hit.url, hit.form) == hit.headers["X-Twilio-Signature"]


def test_https_voice_callbacks_are_signed_without_the_port_sms_with_it(
    client: Client, kit: Any
) -> None:
    url = f"https://{CLOSED}/cb?rid=1"
    call = client.calls.create(
        to="+15551280002", from_=FROM, twiml="<Response/>", status_callback=url + "#rc=0"
    )
    message = client.messages.create(
        to="+15551280003", from_=FROM, body="x", status_callback=url + "#rc=0"
    )

    validator = RequestValidator(kit.emulator.auth_token)
    voice = kit.wait_for(lambda: kit.deliveries(call.sid), "the call's callback attempt")[0]
    sms = kit.wait_for(lambda: kit.deliveries(message.sid), "the message's callback attempt")[0]
    assert voice["signature"] == validator.compute_signature(
        "https://127.0.0.1/cb?rid=1", voice["params"]
    )
    assert sms["signature"] == validator.compute_signature(url, sms["params"])
