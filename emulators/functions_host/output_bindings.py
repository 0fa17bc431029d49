"""Output bindings are the host's job: the worker only returns values; the host writes them.

Supported: `queue` (one message per value, or per item of a JSON array; encoded per host.json
`messageEncoding`; queue created if missing; name lower-cased and validated at start-up, as the
extension does) and `table` (insert only, like the real binding:
`create_entity`, a duplicate RowKey fails the invocation). `http` outputs are the HTTP
response and are handled by the HTTP server.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from azure.core.exceptions import ResourceExistsError

from emulators.functions_host.function_metadata import Binding, FunctionConfigError, FunctionSpec
from emulators.functions_host.queue_message_codec import encode_message
from emulators.functions_host.queue_names import InvalidQueueNameError, normalize_queue_name
from emulators.functions_host.rpc_values import Binary, Json, RpcValue, Text
from emulators.functions_host.settings_loader import SettingsError, resolve_setting_references
from emulators.functions_host.storage_clients import StorageClients, resolve_connection
from shared.storage_connection import StorageConnection

SUPPORTED_OUTPUTS = ("queue", "table", "http")


@dataclass(frozen=True)
class OutputTarget:
    """An output binding with its storage target resolved from the app settings."""

    binding: Binding
    connection: StorageConnection
    target: str


def plan_outputs(spec: FunctionSpec, settings: Mapping[str, str]) -> list[OutputTarget]:
    """Resolve the storage outputs of a function; unsupported bindings fail start-up."""
    targets: list[OutputTarget] = []
    for binding in spec.bindings:
        if binding.is_trigger:
            continue
        if binding.direction != "out" or binding.type not in SUPPORTED_OUTPUTS:
            raise FunctionConfigError(
                f"function '{spec.name}': binding '{binding.name}' ({binding.type}, "
                f"{binding.direction}) is not supported by the functions host stand-in"
            )
        if binding.type == "http":
            continue
        key = "queueName" if binding.type == "queue" else "tableName"
        raw_target = binding.setting(key)
        if not raw_target:
            raise FunctionConfigError(
                f"function '{spec.name}': binding '{binding.name}' has no '{key}'"
            )
        try:
            target = resolve_setting_references(raw_target, settings)
            if binding.type == "queue":
                target = normalize_queue_name(target)
            connection = resolve_connection(binding.setting("connection"), settings)
        except InvalidQueueNameError as error:
            raise FunctionConfigError(
                f"function '{spec.name}': binding '{binding.name}' {key} '{raw_target}': {error}"
            ) from error
        except SettingsError as error:
            raise FunctionConfigError(f"function '{spec.name}': {error}") from error
        targets.append(OutputTarget(binding, connection, target))
    return targets


def _items(value: RpcValue) -> list[bytes]:
    match value:
        case Text(text):
            return [text.encode("utf-8")]
        case Binary(data):
            return [data]
        case Json(text):
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return [
                    (item if isinstance(item, str) else json.dumps(item)).encode("utf-8")
                    for item in parsed
                ]
            return [text.encode("utf-8")]
    raise TypeError(f"cannot write {type(value).__name__} to a queue")


def _entities(value: RpcValue, binding: Binding) -> list[dict[str, object]]:
    if isinstance(value, Binary):
        parsed: object = json.loads(value.value)
    elif isinstance(value, Text | Json):
        parsed = json.loads(value.value if isinstance(value, Text) else value.text)
    else:
        raise TypeError(f"cannot write {type(value).__name__} to a table")
    rows = parsed if isinstance(parsed, list) else [parsed]
    entities: list[dict[str, object]] = []
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError("a table output must be a JSON object or an array of objects")
        entity = dict(row)
        for key, prop in (("PartitionKey", "partitionKey"), ("RowKey", "rowKey")):
            default = binding.setting(prop)
            if key not in entity and default is not None:
                entity[key] = default
        entities.append(entity)
    return entities


class OutputWriter:
    """Writes a successful invocation's outputs to storage."""

    def __init__(self, clients: StorageClients, message_encoding: str) -> None:
        self._clients = clients
        self._encoding = message_encoding

    async def write(
        self,
        targets: list[OutputTarget],
        return_value: RpcValue | None,
        outputs: Mapping[str, RpcValue],
    ) -> None:
        """Write every output value that was set (None/unset outputs write nothing)."""
        for target in targets:
            name = target.binding.name
            value = return_value if name == "$return" else outputs.get(name)
            if value is None:
                continue
            if target.binding.type == "queue":
                queue = self._clients.queue(target.connection, target.target)
                with contextlib.suppress(ResourceExistsError):
                    await queue.create_queue()
                for body in _items(value):
                    await queue.send_message(encode_message(body, self._encoding))
            else:
                tables = self._clients.tables(target.connection)
                table = await tables.create_table_if_not_exists(target.target)
                for entity in _entities(value, target.binding):
                    await table.create_entity(entity)
