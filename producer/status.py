"""Read a request's delivery state and history from the deliveries table, with the app's own
`DeliveryStore` over the producer's table client (the producer has no Twilio settings)."""

from __future__ import annotations

from dataclasses import dataclass

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.core.pipeline.policies import RetryMode
from azure.data.tables import TableClient

from producer.errors import DeliveryNotFoundError, InvalidInputError, storage_errors
from producer.storage_options import (
    CONNECTION_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    RETRIES,
    RETRY_BACKOFF_SECONDS,
    TABLE_API_VERSION,
)
from shared.delivery_store import DeliveryStore
from shared.storage_connection import StorageConnection, table_service_client

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


def read_delivery(table: TableClient, request_id: str) -> DeliveryRecord:
    """The state row and the history rows (oldest first) of `request_id`.

    Raises `DeliveryNotFoundError` when the table holds nothing for it."""
    with storage_errors(f"read delivery state of {request_id!r}"):
        try:
            rows = DeliveryStore(table).read_delivery(request_id)
        except ResourceNotFoundError:  # no table yet: nothing was ever recorded
            raise DeliveryNotFoundError(
                f"no delivery recorded for request id {request_id!r}"
            ) from None
    if rows.state is None and not rows.history:
        raise DeliveryNotFoundError(f"no delivery recorded for request id {request_id!r}")
    return DeliveryRecord(request_id, rows.state, rows.history)
