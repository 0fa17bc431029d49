"""The library API other systems call, against real Azurite."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest
from azure.storage.queue import QueueServiceClient

from producer import InvalidInputError, Producer, load_settings
from shared.contracts import CallRequest, SmsRequest

if TYPE_CHECKING:  # the fixture's type only; conftest modules are not imported by tests
    from .conftest import Names


def test_producer_enqueues_fields_and_models(
    names: Names, storage_connection_string: str, plain_queue: QueueServiceClient
) -> None:
    producer = Producer(load_settings(storage_connection_string))
    sms = producer.send_sms({"to": "+15005550006", "body": "hi", "from": "+15005550001"})
    call = producer.place_call(
        CallRequest.model_validate({"id": "lib-call", "to": "+15005550006", "twiml": "<Response/>"})
    )
    assert (sms.queue, call.queue, call.id) == (names.sms, names.call, "lib-call")

    [sms_message] = plain_queue.get_queue_client(names.sms).peek_messages()
    decoded = SmsRequest.model_validate_json(base64.b64decode(str(sms_message.content)))
    assert (decoded.id, decoded.from_) == (sms.id, "+15005550001")
    [call_message] = plain_queue.get_queue_client(names.call).peek_messages()
    assert CallRequest.model_validate_json(base64.b64decode(str(call_message.content))).id == (
        "lib-call"
    )


def test_producer_rejects_bad_fields_without_sending(
    names: Names, storage_connection_string: str, plain_queue: QueueServiceClient
) -> None:
    producer = Producer(load_settings(storage_connection_string))
    with pytest.raises(InvalidInputError, match="media_urls"):
        producer.send_sms({"to": "+15005550006", "media_urls": []})
    plain_queue.create_queue(names.sms)
    assert plain_queue.get_queue_client(names.sms).peek_messages() == []
