"""The Twilio wrapper: one configured client per process and classified transport errors."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.functions.queue import QueueMessage

import send_sms
from shared import twilio_gateway
from shared.failure_classes import ClassifiedError, FailureClass


def test_client_uses_auth_token_base_url_and_timeout(configure: Any) -> None:
    env = configure(TWILIO_API_BASE_URL="http://127.0.0.1:8701/")
    client = twilio_gateway.get_client()
    sid, token = env.values["TWILIO_ACCOUNT_SID"], env.values["TWILIO_AUTH_TOKEN"]
    assert (client.username, client.password, client.account_sid) == (sid, token, sid)
    assert client.api.base_url == "http://127.0.0.1:8701"
    assert client.http_client.timeout == 2.0
    assert twilio_gateway.get_client() is client


def test_client_uses_an_api_key_when_configured(configure: Any) -> None:
    key_sid = "SK" + "2" * 32
    env = configure(TWILIO_API_KEY_SID=key_sid, TWILIO_API_KEY_SECRET="key-secret")
    client = twilio_gateway.get_client()
    assert (client.username, client.password, client.account_sid) == (
        key_sid,
        "key-secret",
        env.values["TWILIO_ACCOUNT_SID"],
    )


def test_refused_connection_is_transient(configure: Any) -> None:
    # base_values points TWILIO_API_BASE_URL at port 9, where nothing listens.
    configure()
    with pytest.raises(twilio_gateway.TwilioRequestError) as caught:
        twilio_gateway.find_calls(to="+15005550006", from_="+15005550006", since=datetime.now(UTC))
    assert caught.value.failure_class == FailureClass.TRANSIENT


def test_twilio_request_logs_stay_out_of_the_host_log(
    app_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    twilio_logger = logging.getLogger(twilio_gateway.TWILIO_HTTP_LOGGER)
    twilio_logger.setLevel(logging.NOTSET)  # as a fresh worker process starts
    caplog.set_level(logging.INFO)
    body = json.dumps({"id": "quiet-1", "to": "+15005550006", "body": "x"}).encode()
    with pytest.raises(ClassifiedError):  # nothing listens at the Twilio URL
        send_sms.main(QueueMessage(id="m-1", body=body, dequeue_count=1))
    assert twilio_logger.level == logging.WARNING
    assert [r for r in caplog.records if r.name.startswith("twilio")] == []
    assert any(r.name == "shared.send_pipeline" for r in caplog.records)
