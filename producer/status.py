"""Read a request's delivery state and history from the deliveries table.

The rows follow `shared.delivery_store`'s layout: partition = request id, the current state in
row `state`, one history row per report with a RowKey starting `h-`; long JSON split over
`<name>`, `<name>_2` … (`<name>_parts`) is joined with the store's own `joined_property`, and
properties the store cleared (`CLEARED`) read as None. They are read here with
the producer's own table client because the store's read functions need the whole app's
settings (Twilio credentials, public URL), which a producer does not have."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.policies import RetryMode
from azure.data.tables import EntityProperty, TableClient

from producer.errors import DeliveryNotFoundError, InvalidInputError, storage_errors
from producer.storage_options import (
    CONNECTION_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    RETRIES,
    RETRY_BACKOFF_SECONDS,
    TABLE_API_VERSION,
)
from shared.delivery_store import (
    CLEARED,
    HISTORY_PREFIX,
    PARTS_SUFFIX,
    STATE_ROW,
    joined_property,
)
from shared.storage_connection import StorageConnection, table_service_client

KEY_PROPERTIES = ("PartitionKey", "RowKey")

Row = dict[str, object]


@dataclass(frozen=True)
class DeliveryRecord:
    """What the deliveries table holds about one request."""

    request_id: str
    current: Row | None
    history: list[Row]


def open_deliveries_table(
    connection: StorageConnection, table_name: str, credential: TokenCredential | None = None
) -> TableClient:
    """A client for the deliveries table, with the producer's timeouts and short retries
    (`credential` overrides an identity connection's `DefaultAzureCredential`)."""
    try:
        service = table_service_client(
            connection,
            credential,
            api_version=TABLE_API_VERSION,
            connection_timeout=CONNECTION_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retry_total=RETRIES,
            retry_mode=RetryMode.Fixed,
            retry_backoff_factor=RETRY_BACKOFF_SECONDS,
        )
    except ValueError as error:
        raise InvalidInputError(f"storage connection string is not valid: {error}") from error
    return service.get_table_client(table_name)


def _plain(value: Any) -> object:
    """A property value as plain data: dicts/lists the store saved as JSON text come back, and
    a property the store cleared (Tables has no null) is None."""
    if isinstance(value, EntityProperty):
        value = value.value
    if value == CLEARED:
        return None
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            parsed: object = json.loads(value)
        except json.JSONDecodeError:
            return value
        return parsed
    return value


def _is_part(key: str, split: set[str]) -> bool:
    """Whether `key` is `<name>_<n>` (n ≥ 2), a continuation of a split property `name`."""
    name, _, number = key.rpartition("_")
    return name in split and number.isdigit() and int(number) >= 2


def _row(entity: Mapping[str, Any]) -> Row:
    """An entity as a row: keys dropped, split JSON properties joined (their `_n` parts and
    part count dropped), cleared properties None."""
    split = {key.removesuffix(PARTS_SUFFIX) for key in entity if key.endswith(PARTS_SUFFIX)}
    row: Row = {}
    for key, value in entity.items():
        if key in KEY_PROPERTIES or key.endswith(PARTS_SUFFIX) or _is_part(key, split):
            continue
        row[key] = _plain(joined_property(entity, key) if key in split else value)
    row["row"] = entity["RowKey"]
    return row


def _history_order(row: Row) -> tuple[str, str]:
    at = row.get("at")
    return (at.isoformat() if isinstance(at, datetime) else "", str(row["row"]))


def read_delivery(table: TableClient, request_id: str) -> DeliveryRecord:
    """The state row and the history rows (oldest first) of `request_id`.

    Raises `DeliveryNotFoundError` when the table holds nothing for it."""
    with storage_errors(f"read delivery state of {request_id!r}"):
        try:
            entities = list(
                table.query_entities("PartitionKey eq @pk", parameters={"pk": request_id})
            )
        except ResourceNotFoundError:  # no table yet: nothing was ever recorded
            entities = []
    current = next((_row(e) for e in entities if e["RowKey"] == STATE_ROW), None)
    history = [_row(e) for e in entities if str(e["RowKey"]).startswith(HISTORY_PREFIX)]
    if current is None and not history:
        raise DeliveryNotFoundError(f"no delivery recorded for request id {request_id!r}")
    return DeliveryRecord(request_id, current, sorted(history, key=_history_order))
