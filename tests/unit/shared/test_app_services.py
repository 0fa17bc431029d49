"""`app_services`: what the process's store, publisher and recorder are built from (the settings,
the app's timeouts), built once, the publisher only by the first event, forgotten on reset.
The storage client factories are replaced by fakes: nothing here touches storage."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError

from shared import app_services
from shared.app_services import app_publisher, app_recorder, app_store, forget
from shared.contracts import DeliveryEvent
from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_store import DeliveryStore
from shared.events_publisher import EventsPublisher
from shared.log_safety import AZURE_HTTP_LOGGER
from shared.process_state import reset_process_state
from shared.storage_connection import ConnectionString
from tests.fakes.app_settings import settings_for_test
from tests.fakes.table_storage import FakeTable

TIMEOUTS = {"connection_timeout": 5, "read_timeout": 20, "retry_total": 3}


class FakeTableForService(FakeTable):
    """A `FakeTable` that also answers `create_table` (409 when it exists)."""

    def __init__(self, name: str, exists: bool) -> None:
        super().__init__()
        self.name, self.exists, self.creates = name, exists, 0

    def create_table(self) -> None:
        self.creates += 1
        if self.exists:
            raise ResourceExistsError("TableAlreadyExists")
        self.exists = True


@dataclass
class FakeQueueClient:
    name: str
    options: dict[str, Any]
    exists: bool
    creates: int = 0
    messages: list[str] = field(default_factory=list)

    def create_queue(self) -> None:
        self.creates += 1
        if self.exists:
            raise ResourceExistsError("QueueAlreadyExists")
        self.exists = True

    def send_message(self, content: str) -> None:
        self.messages.append(content)


@dataclass
class Factories:
    """The fake client factories and every client they built."""

    existing: bool = False
    services: list[tuple[object, dict[str, Any]]] = field(default_factory=list)
    tables: list[FakeTableForService] = field(default_factory=list)
    queues: list[FakeQueueClient] = field(default_factory=list)

    def table_service_client(self, connection: object, **options: Any) -> Any:
        self.services.append((connection, options))
        factories = self

        class Service:
            def get_table_client(self, name: str) -> FakeTableForService:
                factories.tables.append(FakeTableForService(name, factories.existing))
                return factories.tables[-1]

        return Service()

    def queue_client(self, connection: object, name: str, **options: Any) -> FakeQueueClient:
        self.queues.append(
            FakeQueueClient(name, {"connection": connection, **options}, self.existing)
        )
        return self.queues[-1]


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from settings_for_test(
        monkeypatch, DELIVERIES_TABLE_NAME="mydeliveries", EVENTS_QUEUE_NAME="my-events"
    )


@pytest.fixture
def factories(monkeypatch: pytest.MonkeyPatch) -> Factories:
    made = Factories()
    monkeypatch.setattr(app_services, "table_service_client", made.table_service_client)
    monkeypatch.setattr(app_services, "queue_client", made.queue_client)
    return made


def _event() -> DeliveryEvent:
    return DeliveryEvent(
        id="r-1",
        channel="sms",
        status="sent",
        twilio_sid=None,
        at=datetime(2026, 1, 1, tzinfo=UTC),
        sequence=1,
    )


def test_the_store_is_built_once_over_the_settings_table(factories: Factories) -> None:
    store = app_store()
    assert isinstance(store, DeliveryStore)
    assert app_store() is store
    ((connection, options),) = factories.services
    assert connection == ConnectionString("UseDevelopmentStorage=true")
    assert options == TIMEOUTS
    (table,) = factories.tables
    assert (table.name, table.creates) == ("mydeliveries", 1)
    assert store.table is table


def test_an_existing_table_or_queue_is_used_as_it_is(factories: Factories) -> None:
    factories.existing = True
    assert app_store().table is factories.tables[0]
    assert app_publisher().queue is factories.queues[0]
    assert (factories.tables[0].creates, factories.queues[0].creates) == (1, 1)


def test_the_publisher_puts_base64_text_on_the_events_queue(factories: Factories) -> None:
    from azure.storage.queue import TextBase64EncodePolicy

    publisher = app_publisher()
    assert isinstance(publisher, EventsPublisher)
    assert app_publisher() is publisher
    (queue,) = factories.queues
    assert (queue.name, queue.creates) == ("my-events", 1)
    options = dict(queue.options)
    assert isinstance(options.pop("message_encode_policy"), TextBase64EncodePolicy)
    assert options == {"connection": ConnectionString("UseDevelopmentStorage=true"), **TIMEOUTS}


def test_the_recorder_builds_its_publisher_with_the_first_event(factories: Factories) -> None:
    recorder = app_recorder()
    assert isinstance(recorder, DeliveryRecorder)
    assert app_recorder() is recorder
    assert recorder.store is app_store()
    assert factories.queues == []  # a request that only reads never builds the queue client
    recorder.publisher.publish(_event())
    recorder.publisher.publish(_event())
    (queue,) = factories.queues
    assert [DeliveryEvent.model_validate_json(m) for m in queue.messages] == [_event(), _event()]


def test_forget_and_a_process_reset_build_everything_again(factories: Factories) -> None:
    store, publisher, recorder = app_store(), app_publisher(), app_recorder()
    forget()
    assert app_store() is not store
    assert app_publisher() is not publisher
    assert app_recorder() is not recorder
    assert app_recorder().store is app_store()
    again = app_store()
    reset_process_state()
    assert app_store() is not again
    assert (len(factories.tables), len(factories.queues)) == (3, 2)


def test_building_quiets_the_sdks_request_logs(factories: Factories) -> None:
    logger = logging.getLogger(AZURE_HTTP_LOGGER)
    logger.setLevel(logging.INFO)
    app_store()
    assert logger.level == logging.WARNING
    logger.setLevel(logging.INFO)
    app_publisher()
    assert logger.level == logging.WARNING
