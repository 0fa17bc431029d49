"""The webhook adapter: real `func.HttpRequest`s signed with twilio's `RequestValidator`, read
and checked by `signed_webhook`; `twiml_response` and `refused` answers. No storage involved."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import partial

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from shared.process_state import reset_process_state
from shared.settings import SETTING_NAMES
from shared.twilio_webhook import TwilioWebhook, refused, signed_webhook, twiml_response
from shared.twiml_render import UNKNOWN_REQUEST_TEXT
from tests.webhook_calls import signed_request

TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
PUBLIC = "https://fn.example.net"
CALLBACK = f"{PUBLIC}/api/status_callback?rid=r-1&channel=sms"
SENT = [("MessageSid", "SM" + "a" * 32), ("MessageStatus", "sent"), ("To", "+15005550006")]


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The settings the check reads (auth token, public base URL); storage is never contacted."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    reset_process_state()
    yield
    reset_process_state()


# The requests as the worker sees them, signed with this module's auth token.
request = partial(signed_request, token=TOKEN)


def test_a_signed_post_keeps_its_fields_query_and_params() -> None:
    fields = [*SENT, ("ForwardedFrom", ""), ("MediaUrl", "u1"), ("MediaUrl", "u2")]
    webhook = signed_webhook(request("POST", CALLBACK, fields))
    assert webhook == TwilioWebhook(
        path="/api/status_callback",
        fields=tuple(fields),
        query=(("rid", "r-1"), ("channel", "sms")),
        params={"rid": "r-1", "channel": "sms"},
    )
    assert (webhook.param("rid"), webhook.param("channel"), webhook.param("step")) == (
        "r-1",
        "sms",
        None,
    )
    assert webhook.form == {**dict(SENT), "ForwardedFrom": "", "MediaUrl": "u2"}


def test_a_signed_get_has_no_fields_and_keeps_blank_and_repeated_query_pairs() -> None:
    url = f"{PUBLIC}/api/twiml_voice?Message=Hi&Message%5B%5D=a%26b&Message%5B%5D=&blank="
    webhook = signed_webhook(request("GET", url))
    assert webhook is not None
    assert webhook.fields == ()
    assert webhook.query == (
        ("Message", "Hi"),
        ("Message[]", "a&b"),
        ("Message[]", ""),
        ("blank", ""),
    )
    assert webhook.param("blank") is None  # the host passes no blank value


def test_a_get_is_signed_without_its_body() -> None:
    """Twilio signs a GET's URL alone: a body sent with it is neither signed nor read."""
    url = f"{PUBLIC}/api/twiml_voice?rid=c-1"
    webhook = signed_webhook(request("GET", url, body=b"Digits=1"))
    assert webhook is not None
    assert webhook.fields == ()


@pytest.mark.parametrize(
    "refusal",
    ["missing", "forged", "altered-field", "dropped-blank-field", "altered-query", "swapcase"],
)
def test_requests_twilio_did_not_sign_are_refused_and_logged(
    refusal: str, caplog: pytest.LogCaptureFixture
) -> None:
    fields = [*SENT, ("ForwardedFrom", "")]
    good = RequestValidator(TOKEN).compute_signature(CALLBACK, MultiDict(fields))
    req = {
        "missing": lambda: request("POST", CALLBACK, fields, signature=""),
        "forged": lambda: request("POST", CALLBACK, fields, token="not-the-auth-token"),
        "altered-field": lambda: request(
            "POST", CALLBACK, [*SENT[:1], ("MessageStatus", "delivered"), *SENT[2:]], signature=good
        ),
        "dropped-blank-field": lambda: request("POST", CALLBACK, SENT, signature=good),
        "altered-query": lambda: request(
            "POST", CALLBACK.replace("r-1", "r-9"), fields, signature=good
        ),
        "swapcase": lambda: request("POST", CALLBACK, fields, signature=good.swapcase()),
    }[refusal]()
    assert signed_webhook(request("POST", CALLBACK, fields, signature=good)) is not None
    with caplog.at_level(logging.WARNING, logger="shared.twilio_webhook"):
        assert signed_webhook(req) is None
    assert [r.getMessage() for r in caplog.records] == [
        "rejected a request to /api/status_callback: missing or invalid Twilio signature"
    ]


def test_the_public_url_decides_not_the_worker_url() -> None:
    """The worker sees http and another host (an Azure front end); Twilio signed the public
    https URL, whose raw query (``%2B``) is kept as sent."""
    query = "rid=r%2B1&channel=sms"
    public = f"{PUBLIC}/api/status_callback?{query}"
    worker = f"http://10.0.0.4:80/api/status_callback?{query}"
    fields = [*SENT, ("Body", "a&b")]
    webhook = signed_webhook(request("POST", public, fields, worker_url=worker))
    assert webhook is not None
    assert (webhook.path, webhook.param("rid"), webhook.form["Body"]) == (
        "/api/status_callback",
        "r+1",
        "a&b",
    )
    assert signed_webhook(request("POST", worker, fields)) is None


def test_refused_is_403() -> None:
    assert refused().status_code == 403


def _webhook() -> TwilioWebhook:
    webhook = signed_webhook(request("POST", f"{PUBLIC}/api/twiml_voice?rid=c-1", SENT))
    assert webhook is not None
    return webhook


def test_twiml_response_answers_the_rendered_twiml_as_utf8_xml() -> None:
    seen: list[TwilioWebhook] = []

    def render(webhook: TwilioWebhook) -> str:
        seen.append(webhook)
        return "<Response><Say>héllo</Say></Response>"

    response = twiml_response(_webhook(), render)
    assert seen == [_webhook()]
    assert (response.status_code, response.mimetype, response.charset) == (
        200,
        "application/xml",
        "utf-8",
    )
    assert response.get_body().decode("utf-8") == "<Response><Say>héllo</Say></Response>"


def test_twiml_response_apologises_when_rendering_fails(caplog: pytest.LogCaptureFixture) -> None:
    def broken(webhook: TwilioWebhook) -> str:
        raise RuntimeError("table unreachable")

    with caplog.at_level(logging.ERROR, logger="shared.twilio_webhook"):
        response = twiml_response(_webhook(), broken)
    assert response.status_code == 200
    root = ET.fromstring(response.get_body())
    assert [(child.tag, child.text) for child in root] == [
        ("Say", UNKNOWN_REQUEST_TEXT),
        ("Hangup", None),
    ]
    (record,) = caplog.records
    assert record.getMessage() == "/api/twiml_voice failed for rid=c-1: apology"
    assert record.exc_info is not None
