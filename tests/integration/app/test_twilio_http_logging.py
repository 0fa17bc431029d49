"""twilio's HTTP client logs every request (URL, query with phone numbers, headers) at INFO: a
send through the real function keeps those records out of the host log, against real Azurite."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from azure.functions.queue import QueueMessage

import send_sms
from shared import twilio_gateway
from shared.failure_classes import ClassifiedError


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
