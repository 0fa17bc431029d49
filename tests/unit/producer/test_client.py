"""`Producer`, the library entry point: each method goes to the configured queue or table, one
queue service client and one table client per instance."""

from __future__ import annotations

import json

import pytest
from azure.core.credentials import AccessToken

from producer.client import Producer
from producer.errors import DeliveryNotFoundError, InvalidInputError
from producer.queues import decode_message_text, encode_message_text
from producer.settings import ProducerSettings
from shared.contracts import CallRequest, SmsRequest
from shared.delivery_store import DeliveryStore
from shared.storage_connection import ConnectionString, IdentityConnection
from tests.fakes.queue_storage import FakeQueueService
from tests.unit.producer.conftest import Factories, FakeTableService

SETTINGS = ProducerSettings(
    ConnectionString("UseDevelopmentStorage=true"),
    sms_queue="my-sms",
    call_queue="my-calls",
    events_queue="my-events",
    deliveries_table="mydeliveries",
)


@pytest.fixture
def producer() -> Producer:
    return Producer(SETTINGS)


def sent_json(service: FakeQueueService, queue: str) -> list[dict[str, object]]:
    return [json.loads(decode_message_text(text) or "") for text in service.contents(queue)]


def test_send_sms_validates_fields_and_enqueues_on_the_sms_queue(
    producer: Producer, queue_service: FakeQueueService
) -> None:
    sent = producer.send_sms({"to": "+15005550006", "body": "hi", "from": "+15005550001"})
    assert sent.queue == "my-sms"
    [document] = sent_json(queue_service, "my-sms")
    assert document == {
        "id": sent.id,
        "to": "+15005550006",
        "body": "hi",
        "from": "+15005550001",
        "metadata": {},
    }
    assert sent.message_id == queue_service.queues["my-sms"][0].id


def test_send_sms_takes_a_request(producer: Producer, queue_service: FakeQueueService) -> None:
    request = SmsRequest.model_validate({"id": "r1", "to": "+15005550006", "body": "hi"})
    assert producer.send_sms(request).id == "r1"
    assert SmsRequest.model_validate(sent_json(queue_service, "my-sms")[0]) == request


def test_place_call_enqueues_on_the_call_queue(
    producer: Producer, queue_service: FakeQueueService
) -> None:
    sent = producer.place_call({"id": "c1", "to": "+15005550006", "twiml": "<Response/>"})
    assert (sent.id, sent.queue) == ("c1", "my-calls")
    request = CallRequest.model_validate({"id": "c2", "to": "+15005550006", "url": "https://a.b/"})
    producer.place_call(request)
    assert [doc["id"] for doc in sent_json(queue_service, "my-calls")] == ["c1", "c2"]
    assert "my-sms" not in queue_service.queues


def test_invalid_fields_send_nothing(producer: Producer, queue_service: FakeQueueService) -> None:
    with pytest.raises(InvalidInputError, match="to: "):
        producer.send_sms({"to": "nope", "body": "hi"})
    with pytest.raises(InvalidInputError):
        producer.place_call({"to": "+15005550006"})
    assert sum(queue_service.requests.values()) == 0


def test_status_reads_the_configured_table_through_one_client(
    producer: Producer, table_service: FakeTableService, factories: Factories
) -> None:
    with pytest.raises(DeliveryNotFoundError):
        producer.status("r1")
    DeliveryStore(table_service.get_table_client("mydeliveries")).create_state(
        "r1", {"channel": "sms", "status": "sent"}
    )
    record = producer.status("r1")
    assert record.current is not None
    assert record.current["status"] == "sent"
    assert len(factories.table_calls) == 1
    assert list(table_service.tables) == ["mydeliveries"]


def test_no_table_client_until_status_is_asked(producer: Producer, factories: Factories) -> None:
    producer.send_sms({"to": "+15005550006", "body": "hi"})
    assert factories.table_calls == []
    assert len(factories.queue_calls) == 1


def test_events_reads_the_events_queue(producer: Producer, queue_service: FakeQueueService) -> None:
    event = {
        "id": "r1",
        "channel": "sms",
        "status": "sent",
        "twilio_sid": None,
        "at": "2026-11-28T23:00:00Z",
        "sequence": 1,
    }
    queue_service.put("my-events", encode_message_text(json.dumps(event)))
    [peeked] = producer.events(delete=False)
    assert peeked.event is not None
    assert peeked.event.id == "r1"
    assert len(queue_service.queues["my-events"]) == 1
    assert [item.message_id for item in producer.events()] == [peeked.message_id]
    assert queue_service.queues["my-events"] == []
    followed = producer.follow_events(delete=False, interval=0)
    queue_service.put("my-events", encode_message_text(json.dumps(event)))
    assert next(followed).event == peeked.event
    assert not queue_service.queues["my-events"][0].hidden  # peeked, not received


def test_poison_listing_and_replay(producer: Producer, queue_service: FakeQueueService) -> None:
    first = queue_service.put("my-sms-poison", encode_message_text('{"id": "a"}'))
    queue_service.put("my-sms-poison", encode_message_text('{"id": "b"}'))
    listing = producer.list_poison("my-sms")
    assert [message.payload for message in listing.messages] == [{"id": "a"}, {"id": "b"}]
    [replayed] = producer.replay_poison("my-sms", first.id)
    assert replayed.poison_message_id == first.id
    assert len(producer.replay_poison("my-sms-poison")) == 1
    assert [doc["id"] for doc in sent_json(queue_service, "my-sms")] == ["a", "b"]


class StaticCredential:
    def get_token(self, *scopes: str, **options: object) -> AccessToken:
        return AccessToken("token", 0)


def test_a_given_credential_reaches_both_clients(factories: Factories) -> None:
    identity = IdentityConnection(
        "https://acct.queue.core.windows.net", "https://acct.table.core.windows.net"
    )
    credential = StaticCredential()
    producer = Producer(ProducerSettings(identity), credential=credential)
    with pytest.raises(DeliveryNotFoundError):
        producer.status("r1")
    assert factories.credentials == [credential, credential]
    assert [call[0] for call in (*factories.queue_calls, *factories.table_calls)] == [identity] * 2


def test_without_settings_the_environment_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_QUEUE_NAME", "env-sms")
    producer = Producer()
    assert producer.settings.sms_queue == "env-sms"
    assert producer.settings.storage == ConnectionString("UseDevelopmentStorage=true")
