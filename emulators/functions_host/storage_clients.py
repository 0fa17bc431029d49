"""Storage connections: app-setting lookup (connection string or identity-based settings),
development storage, one client per account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.core.credentials_async import AsyncTokenCredential
from azure.data.tables.aio import TableServiceClient
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from emulators.azurite import connection_string as azurite_connection_string
from emulators.functions_host.settings_loader import SettingsError
from shared.storage_connection import (
    DEFAULT_CONNECTION,
    IDENTITY_SUFFIXES,
    ConnectionString,
    IdentityConnection,
    StorageConnection,
    StorageSettingError,
    load_storage_connection,
)

# Azurite 3.35 rejects the SDK's newest API version unless started with --skipApiVersionCheck.
QUEUE_API_VERSION = "2025-11-05"
DEVELOPMENT_STORAGE = azurite_connection_string("127.0.0.1", 10000, 10001, 10002)
# Storage (Azurite above all) answers in milliseconds. Short timeouts and few, short retries make
# an outage show within seconds instead of the SDK default (15 s backoff, 3 retries, minutes).
CONNECTION_TIMEOUT = 3
READ_TIMEOUT = 5
RETRY_TOTAL = 2
RETRY_BACKOFF_SECONDS = 1


def expand_development_storage(connection_string: str) -> str:
    """`UseDevelopmentStorage=true` means Azurite on its default ports (10000-10002)."""
    parts = dict(part.split("=", 1) for part in connection_string.strip().split(";") if "=" in part)
    flag = {k.lower(): v for k, v in parts.items()}.get("usedevelopmentstorage", "")
    return DEVELOPMENT_STORAGE if flag.strip().lower() == "true" else connection_string


def resolve_connection(name: str | None, settings: Mapping[str, str]) -> StorageConnection:
    """The connection a binding's `connection` names (default AzureWebJobsStorage): a connection
    string, or identity-based `<name>__queueServiceUri` … settings (`shared.storage_connection`).

    Like the host, `X` is looked up as `X`, then `AzureWebJobsX`.
    """
    setting = name or DEFAULT_CONNECTION
    for candidate in (setting, f"AzureWebJobs{setting}"):
        if any(settings.get(candidate + suffix) for suffix in ("", *IDENTITY_SUFFIXES)):
            try:
                connection = load_storage_connection(settings, candidate)
            except StorageSettingError as error:
                raise SettingsError(str(error)) from None
            if isinstance(connection, ConnectionString):
                return ConnectionString(expand_development_storage(connection.value))
            return connection
    raise SettingsError(
        f"Storage account connection string '{setting}' does not exist. "
        "Make sure that it is a defined App Setting."
    )


def async_credential(connection: IdentityConnection) -> AsyncTokenCredential:
    """What the host uses for an identity connection: the same choice as the app's
    `shared.storage_connection.token_credential`, in its async form."""
    if connection.managed_identity:
        return ManagedIdentityCredential(client_id=connection.client_id)
    return DefaultAzureCredential()


# Storage (Azurite above all) answers in milliseconds: see the timeouts above.
_QUEUE_OPTIONS: dict[str, Any] = {
    "api_version": QUEUE_API_VERSION,
    "connection_timeout": CONNECTION_TIMEOUT,
    "read_timeout": READ_TIMEOUT,
    # storage's ExponentialRetry: waits initial_backoff, then + increment_base**n
    "retry_total": RETRY_TOTAL,
    "initial_backoff": RETRY_BACKOFF_SECONDS,
    "increment_base": RETRY_BACKOFF_SECONDS,
    "random_jitter_range": 0,
}
_TABLE_OPTIONS: dict[str, Any] = {
    "connection_timeout": CONNECTION_TIMEOUT,
    "read_timeout": READ_TIMEOUT,
    # azure-core's RetryPolicy: first retry at once, then factor * 2**n, capped
    "retry_total": RETRY_TOTAL,
    "retry_backoff_factor": RETRY_BACKOFF_SECONDS,
    "retry_backoff_max": 2 * RETRY_BACKOFF_SECONDS,
}


class StorageClients:
    """One queue service client and one table service client per storage account (and one
    credential per identity)."""

    def __init__(self) -> None:
        self._queues: dict[StorageConnection, QueueServiceClient] = {}
        self._tables: dict[StorageConnection, TableServiceClient] = {}
        self._credentials: dict[IdentityConnection, AsyncTokenCredential] = {}

    def _token(self, connection: IdentityConnection) -> AsyncTokenCredential:
        if connection not in self._credentials:
            self._credentials[connection] = async_credential(connection)
        return self._credentials[connection]

    def queue(self, connection: StorageConnection, queue_name: str) -> QueueClient:
        """A client for one queue; it sends and receives the raw (still encoded) text."""
        service = self._queues.get(connection)
        if service is None:
            if isinstance(connection, ConnectionString):
                service = QueueServiceClient.from_connection_string(
                    connection.value, **_QUEUE_OPTIONS
                )
            else:
                service = QueueServiceClient(
                    connection.queue_service_uri, self._token(connection), **_QUEUE_OPTIONS
                )
            self._queues[connection] = service
        return service.get_queue_client(queue_name)

    def tables(self, connection: StorageConnection) -> TableServiceClient:
        """The table service client for an account."""
        service = self._tables.get(connection)
        if service is None:
            if isinstance(connection, ConnectionString):
                service = TableServiceClient.from_connection_string(
                    connection.value, **_TABLE_OPTIONS
                )
            else:
                service = TableServiceClient(
                    connection.table_service_uri,
                    credential=self._token(connection),
                    **_TABLE_OPTIONS,
                )
            self._tables[connection] = service
        return service

    async def close(self) -> None:
        """Close every client and credential."""
        for queue_service in self._queues.values():
            await queue_service.close()
        for table_service in self._tables.values():
            await table_service.close()
        for credential in self._credentials.values():
            await credential.close()
