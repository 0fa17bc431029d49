"""Output bindings: planning from function.json and settings, and the writes over fake storage
clients (the same writes against Azurite: tests/integration/functions_host/test_output_bindings)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError

from emulators.functions_host.function_metadata import Binding, FunctionConfigError, FunctionSpec
from emulators.functions_host.output_bindings import OutputTarget, OutputWriter, plan_outputs
from emulators.functions_host.rpc_values import Binary, HttpResponseData, Json, RpcValue, Text
from emulators.functions_host.storage_clients import DEVELOPMENT_STORAGE, StorageClients
from shared.storage_connection import ConnectionString, StorageConnection

DEV = ConnectionString(DEVELOPMENT_STORAGE)
SETTINGS = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "OUT_QUEUE": "Events"}
TRIGGER = Binding("msg", "queueTrigger", "in", None, {"queueName": "q"})


def binding(name: str, kind: str, direction: str = "out", **raw: str) -> Binding:
    return Binding(name, kind, direction, None, {"name": name, "type": kind, **raw})


def spec(*bindings: Binding) -> FunctionSpec:
    return FunctionSpec("fn", Path("/app/fn"), Path("/app/fn/__init__.py"), "main",
                        (TRIGGER, *bindings), False)  # fmt: skip


def test_queue_and_table_outputs_are_resolved() -> None:
    queue = binding("$return", "queue", queueName="%OUT_QUEUE%")
    table = binding("rows", "table", tableName="deliveries")
    http = binding("res", "http")
    targets = plan_outputs(spec(queue, http, table), SETTINGS)
    # Setting references resolved, queue names lower-cased; http is the server's job.
    assert targets == [OutputTarget(queue, DEV, "events"), OutputTarget(table, DEV, "deliveries")]


def test_the_binding_connection_names_the_account() -> None:
    queue = binding("out", "queue", queueName="qq2", connection="Other")
    other = "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5"
    (target,) = plan_outputs(spec(queue), {"Other": other})
    assert target.connection == ConnectionString(other)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (binding("blob", "blob"), r"binding 'blob' \(blob, out\) is not supported"),
        (binding("in", "queue", "in", queueName="q"), r"binding 'in' \(queue, in\) is not"),
        (binding("out", "queue"), "binding 'out' has no 'queueName'"),
        (binding("out", "table"), "binding 'out' has no 'tableName'"),
        (binding("out", "queue", queueName="a_b"), "binding 'out' queueName 'a_b': "),
        (binding("out", "queue", queueName="%NOPE%"), "'%NOPE%' does not resolve"),
        (binding("out", "queue", queueName="qqq", connection="Nope"), "'Nope' does not exist"),
    ],
)
def test_unusable_outputs_fail_start_up_naming_the_function(bad: Binding, message: str) -> None:
    with pytest.raises(FunctionConfigError, match="^function 'fn': .*" + message):
        plan_outputs(spec(bad), SETTINGS)


class FakeQueue:
    def __init__(self, exists: bool) -> None:
        self.exists = exists
        self.sent: list[str] = []

    async def create_queue(self) -> None:
        if self.exists:
            raise ResourceExistsError("QueueAlreadyExists")
        self.exists = True

    async def send_message(self, text: str) -> None:
        assert self.exists, "sent to a queue that was never created"
        self.sent.append(text)


class FakeTable:
    def __init__(self) -> None:
        self.entities: list[dict[str, object]] = []

    async def create_entity(self, entity: dict[str, object]) -> None:
        self.entities.append(entity)


class FakeTables:
    def __init__(self) -> None:
        self.tables: dict[str, FakeTable] = {}

    async def create_table_if_not_exists(self, name: str) -> FakeTable:
        return self.tables.setdefault(name, FakeTable())


class FakeClients(StorageClients):
    """Per-connection fakes of the queue and table clients the writer uses."""

    def __init__(self, queue_exists: bool = False) -> None:
        self.queues: dict[tuple[StorageConnection, str], FakeQueue] = {}
        self.table_services: dict[StorageConnection, FakeTables] = {}
        self._queue_exists = queue_exists

    def queue(self, connection: StorageConnection, queue_name: str) -> Any:
        key = (connection, queue_name)
        return self.queues.setdefault(key, FakeQueue(self._queue_exists))

    def tables(self, connection: StorageConnection) -> Any:
        return self.table_services.setdefault(connection, FakeTables())


QUEUE = OutputTarget(binding("$return", "queue", queueName="out"), DEV, "out")
NAMED = OutputTarget(binding("extra", "queue", queueName="extra"), DEV, "extra")
TABLE = OutputTarget(
    binding("rows", "table", tableName="t", partitionKey="p", rowKey="r"), DEV, "t"
)


async def sent(value: RpcValue, encoding: str = "none", exists: bool = False) -> list[str]:
    clients = FakeClients(queue_exists=exists)
    await OutputWriter(clients, encoding).write([QUEUE], value, {})
    return clients.queues[(DEV, "out")].sent


async def test_text_and_bytes_are_one_message_each() -> None:
    assert await sent(Text("héllo")) == ["héllo"]
    assert await sent(Binary(b"raw")) == ["raw"]


async def test_a_json_array_is_one_message_per_item() -> None:
    assert await sent(Json('["a", {"b": 1}, 2]')) == ["a", '{"b": 1}', "2"]


async def test_a_json_object_is_one_message_with_its_text() -> None:
    assert await sent(Json('{"b":1}')) == ['{"b":1}']


async def test_base64_encoding_applies_to_every_message() -> None:
    expected = [base64.b64encode(b).decode() for b in (b"x", b"y")]
    assert await sent(Json('["x","y"]'), encoding="base64") == expected


async def test_an_existing_queue_is_used() -> None:
    assert await sent(Text("m"), exists=True) == ["m"]


async def test_an_http_value_cannot_go_to_a_queue() -> None:
    with pytest.raises(TypeError, match="cannot write HttpResponseData to a queue"):
        await sent(HttpResponseData(200))


async def test_named_outputs_are_read_from_the_outputs_and_unset_ones_write_nothing() -> None:
    clients = FakeClients()
    writer = OutputWriter(clients, "none")
    await writer.write([QUEUE, NAMED], None, {"extra": Text("e"), "$return": Text("no")})
    assert (DEV, "out") not in clients.queues
    assert clients.queues[(DEV, "extra")].sent == ["e"]


async def rows(value: RpcValue, target: OutputTarget = TABLE) -> list[dict[str, object]]:
    clients = FakeClients()
    await OutputWriter(clients, "none").write([target], None, {target.binding.name: value})
    return clients.table_services[DEV].tables[target.target].entities


async def test_table_rows_get_the_binding_keys_unless_they_have_their_own() -> None:
    value = Json(json.dumps([{"a": 1}, {"PartitionKey": "P", "RowKey": "R", "a": 2}]))
    assert await rows(value) == [
        {"a": 1, "PartitionKey": "p", "RowKey": "r"},
        {"PartitionKey": "P", "RowKey": "R", "a": 2},
    ]


async def test_table_rows_come_as_text_or_bytes_too() -> None:
    expected = [{"x": "y", "PartitionKey": "p", "RowKey": "r"}]
    assert await rows(Text('{"x":"y"}')) == expected
    assert await rows(Binary(b'{"x":"y"}')) == expected


async def test_a_binding_without_keys_adds_none() -> None:
    bare = OutputTarget(binding("rows", "table", tableName="t"), DEV, "t")
    assert await rows(Json('{"a":1}'), bare) == [{"a": 1}]


async def test_a_table_row_must_be_an_object() -> None:
    with pytest.raises(TypeError, match="must be a JSON object or an array of objects"):
        await rows(Json("[1]"))
    with pytest.raises(TypeError, match="cannot write HttpResponseData to a table"):
        await rows(HttpResponseData(200))
