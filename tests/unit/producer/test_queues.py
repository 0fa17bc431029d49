"""Queue clients and the host's base64 message encoding: what goes on a queue is base64 of the
text, decoded exactly as the host decodes it; clients come from one service client."""

from __future__ import annotations

import base64

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy

from emulators.functions_host.queue_message_codec import UndecodableMessageError, decode_message
from producer.errors import InvalidInputError, StorageUnavailableError
from producer.queues import (
    RETRY_POLICY,
    StorageQueues,
    check_queue_name,
    decode_base64,
    decode_message_text,
    encode_message_text,
    poison_queue_name,
    source_queue_name,
)
from producer.storage_options import (
    CONNECTION_TIMEOUT_SECONDS,
    QUEUE_API_VERSION,
    READ_TIMEOUT_SECONDS,
)
from shared.storage_connection import ConnectionString
from tests.fakes.queue_storage import FakeQueueService
from tests.unit.producer.conftest import Factories

AZURITE = ConnectionString("UseDevelopmentStorage=true")
BINARY = base64.b64encode(b"\xff\xfe\x00binary").decode()


@pytest.mark.parametrize("text", ['{"body": "héllo ☎"}', "plain"])
def test_encoding_matches_the_sdk_policy_and_round_trips(text: str) -> None:
    policy = TextBase64EncodePolicy()
    policy.configure(require_encryption=False, key_encryption_key=None, resolver=None)
    assert encode_message_text(text) == policy(text)
    assert decode_message_text(encode_message_text(text)) == text


HOST_CASES = ['{"id": "x"}', "not base64!", "YWI", "YWJj", "YW\nJj", "YW\tJj", "YW*Jj", "YWJj!"]


@pytest.mark.parametrize("raw", [*HOST_CASES, BINARY, "wqk=", "é"])
def test_base64_is_decoded_exactly_as_the_host_decodes_it(raw: str) -> None:
    try:
        expected: bytes | None = decode_message(raw, "base64")
    except UndecodableMessageError:
        expected = None
    assert decode_base64(raw) == expected


@pytest.mark.parametrize("raw", ['{"id": "x"}', "not base64!", "YWI", BINARY])
def test_decoding_text_rejects_what_is_not_base64_of_utf8(raw: str) -> None:
    assert decode_message_text(raw) is None


def test_poison_and_source_queue_names() -> None:
    assert poison_queue_name("sms-requests") == "sms-requests-poison"
    assert poison_queue_name("sms-requests-poison") == "sms-requests-poison"
    assert source_queue_name("sms-requests-poison") == "sms-requests"
    assert source_queue_name("sms-requests") == "sms-requests"


@pytest.mark.parametrize("name", ["abc", "sms-requests", "a1-b2", "x" * 63])
def test_valid_queue_names_pass(name: str) -> None:
    assert check_queue_name(name) == name


@pytest.mark.parametrize("name", ["ab", "SMS", "a--b", "-ab", "ab-", "x" * 64, "a_b", ""])
def test_invalid_queue_names_are_bad_input(name: str) -> None:
    with pytest.raises(InvalidInputError, match="is not valid"):
        check_queue_name(name)


def test_one_service_client_with_the_producer_options(factories: Factories) -> None:
    queues = StorageQueues(AZURITE)
    queues.raw_queue("events")
    queues.text_queue("sms-requests")
    assert len(factories.queue_calls) == 1
    connection, options = factories.queue_calls[0]
    assert connection == AZURITE
    assert options == {
        "api_version": QUEUE_API_VERSION,
        "connection_timeout": CONNECTION_TIMEOUT_SECONDS,
        "read_timeout": READ_TIMEOUT_SECONDS,
        "retry_policy": RETRY_POLICY,
    }


def test_retries_are_quick() -> None:
    # The SDK default waits 15 s+ between attempts: an operator at a prompt would wait minutes.
    assert RETRY_POLICY.backoff <= 2
    assert RETRY_POLICY.total_retries <= 2


def test_a_malformed_connection_string_is_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="storage connection string is not valid"):
        StorageQueues(ConnectionString("nonsense"))


def test_text_queue_encodes_and_raw_queue_does_not(queue_service: FakeQueueService) -> None:
    queues = StorageQueues(AZURITE)
    text = queues.text_queue("sms-requests")
    raw = queues.raw_queue("sms-requests")
    assert text.encodes
    assert not raw.encodes
    assert not raw.decodes
    text.send_message('{"id": "a"}')
    raw.send_message('{"id": "b"}')
    assert queue_service.contents("sms-requests") == [
        encode_message_text('{"id": "a"}'),
        '{"id": "b"}',
    ]


def test_text_queue_uses_the_sdk_base64_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    queues = StorageQueues(AZURITE)
    given: dict[str, object] = {}

    def get_queue_client(name: str, **policies: object) -> None:
        given.update(policies)

    monkeypatch.setattr(queues._service, "get_queue_client", get_queue_client)
    queues.text_queue("sms-requests", create=False)
    assert isinstance(given["message_encode_policy"], TextBase64EncodePolicy)
    assert isinstance(given["message_decode_policy"], TextBase64DecodePolicy)


def test_queues_are_created_once_per_process(queue_service: FakeQueueService) -> None:
    queues = StorageQueues(AZURITE)
    for _ in range(3):
        queues.text_queue("sms-requests")
        queues.raw_queue("sms-requests")
    assert queue_service.requests["create_queue"] == 1
    queues.raw_queue("call-requests", create=False)
    assert "call-requests" not in queue_service.queues


def test_a_queue_that_exists_already_is_fine(queue_service: FakeQueueService) -> None:
    queue_service.put("sms-requests", "kept")
    StorageQueues(AZURITE).create_queue("sms-requests")
    assert queue_service.requests["create_queue"] == 1
    assert queue_service.contents("sms-requests") == ["kept"]


def test_an_invalid_name_is_refused_before_any_request(queue_service: FakeQueueService) -> None:
    queues = StorageQueues(AZURITE)
    for get in (queues.text_queue, queues.raw_queue, queues.exists, queues.create_queue):
        with pytest.raises(InvalidInputError):
            get("Bad_Name")
    assert sum(queue_service.requests.values()) == 0


def test_exists_asks_without_creating(queue_service: FakeQueueService) -> None:
    queues = StorageQueues(AZURITE)
    assert not queues.exists("sms-requests")
    assert "sms-requests" not in queue_service.queues
    queue_service.put("sms-requests", "x")
    assert queues.exists("sms-requests")


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (ServiceRequestError("refused"), "cannot reach Azure Storage to create queue"),
        (HttpResponseError("Forbidden\n<xml/>"), "Azure Storage failed to create queue"),
    ],
)
def test_storage_failures_are_reported_with_the_action(
    queue_service: FakeQueueService, failure: Exception, message: str
) -> None:
    queue_service.failures["create_queue"].append(failure)
    queues = StorageQueues(AZURITE)
    with pytest.raises(StorageUnavailableError, match=message):
        queues.text_queue("sms-requests")
    queues.text_queue("sms-requests")  # a failed create is not remembered as done
    assert "sms-requests" in queue_service.queues


def test_exists_reports_storage_failures(queue_service: FakeQueueService) -> None:
    queue_service.failures["get_queue_properties"].append(ServiceRequestError("refused"))
    with pytest.raises(StorageUnavailableError, match="look up queue 'sms-requests'"):
        StorageQueues(AZURITE).exists("sms-requests")
