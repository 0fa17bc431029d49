"""Building, validating and enqueueing requests: contract names on the queue, base64 of the
request's JSON as the host expects, a clear error naming each bad field, nothing sent then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.core.exceptions import ServiceRequestError
from pydantic import ValidationError

from producer.enqueue import (
    EnqueuedRequest,
    build_call_request,
    build_sms_request,
    describe_validation_error,
    enqueue_request,
    load_script,
    new_request_id,
    request_json,
)
from producer.errors import InvalidInputError, StorageUnavailableError
from producer.queues import StorageQueues, decode_message_text
from shared.contracts import CallRequest, SmsRequest
from shared.storage_connection import ConnectionString
from tests.fakes.queue_storage import FakeQueueService

AZURITE = ConnectionString("UseDevelopmentStorage=true")
SMS = {"to": "+15005550006", "body": "hi"}


def test_request_json_uses_contract_names_and_omits_nulls() -> None:
    request = build_sms_request({**SMS, "from": "+15005550001"})
    document = json.loads(request_json(request))
    assert document["from"] == "+15005550001"
    assert "from_" not in document
    assert "media_urls" not in document
    assert SmsRequest.model_validate_json(request_json(request)) == request


def test_missing_id_becomes_a_uuid4_and_given_id_is_kept() -> None:
    first = build_sms_request(SMS)
    second = build_sms_request(SMS)
    assert first.id != second.id
    assert len(first.id) == 36
    assert first.id[14] == "4"  # the uuid version
    assert len({new_request_id() for _ in range(3)}) == 3
    kept = build_call_request({"id": "order-7", "to": "+15005550006", "twiml": "<Response/>"})
    assert kept.id == "order-7"


def test_none_fields_are_left_out() -> None:
    request = build_sms_request({**SMS, "id": None, "media_urls": None, "from": None})
    assert request.id  # a new one, not None
    assert request.media_urls is None
    assert request.from_ is None


def test_every_problem_is_named_by_its_field() -> None:
    with pytest.raises(InvalidInputError) as raised:
        build_call_request(
            {"to": "15005550006", "script": [{"type": "say", "text": "hi"}, {"type": "dance"}]}
        )
    lines = str(raised.value).splitlines()
    assert lines[0] == "invalid request:"
    assert any(line.startswith("  to: ") for line in lines)
    assert any(line.startswith("  script.1") for line in lines)
    assert isinstance(raised.value.__cause__, ValidationError)


def test_a_model_level_problem_is_named_request_without_the_value_error_prefix() -> None:
    try:
        SmsRequest.model_validate({"id": "a", "to": "+15005550006"})
    except ValidationError as error:
        described = describe_validation_error(error)
    assert "  request: " in described
    assert "Value error, " not in described


def test_load_script_reads_json(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps([{"type": "say", "text": "héllo"}]), encoding="utf-8")
    assert load_script(path) == [{"type": "say", "text": "héllo"}]


def test_load_script_reports_unreadable_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"script: cannot read .*none\.json"):
        load_script(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    with pytest.raises(InvalidInputError, match=r"broken\.json is not JSON"):
        load_script(broken)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'["\xe9"]')
    with pytest.raises(InvalidInputError, match="is not JSON"):
        load_script(latin)


def test_enqueue_puts_base64_of_the_json_on_the_queue(queue_service: FakeQueueService) -> None:
    request = build_sms_request({**SMS, "id": "r1"})
    sent = enqueue_request(StorageQueues(AZURITE), "sms-requests", request)
    assert sent == EnqueuedRequest(id="r1", queue="sms-requests", message_id=sent.message_id)
    [stored] = queue_service.queues["sms-requests"]
    assert stored.id == sent.message_id
    text = decode_message_text(stored.content)
    assert text is not None
    assert SmsRequest.model_validate_json(text) == request


def test_enqueue_creates_the_queue_and_sends_one_message(queue_service: FakeQueueService) -> None:
    request = build_call_request({"to": "+15005550006", "url": "https://a.example/t"})
    enqueue_request(StorageQueues(AZURITE), "call-requests", request)
    assert (
        CallRequest.model_validate_json(
            decode_message_text(queue_service.contents("call-requests")[0]) or ""
        )
        == request
    )
    assert queue_service.requests == {"create_queue": 1, "send_message": 1}


def test_a_failed_send_names_the_request_and_queue(queue_service: FakeQueueService) -> None:
    queue_service.failures["send_message"].append(ServiceRequestError("refused"))
    request = build_sms_request({**SMS, "id": "r2"})
    with pytest.raises(StorageUnavailableError, match="send request r2 to queue 'sms-requests'"):
        enqueue_request(StorageQueues(AZURITE), "sms-requests", request)
    assert queue_service.contents("sms-requests") == []
