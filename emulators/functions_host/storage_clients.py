"""Storage connections: app-setting lookup, development storage, one client per account."""

from __future__ import annotations

from collections.abc import Mapping

from azure.data.tables.aio import TableServiceClient
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from emulators.azurite import connection_string as azurite_connection_string
from emulators.functions_host.settings_loader import SettingsError

DEFAULT_CONNECTION = "AzureWebJobsStorage"
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


def resolve_connection(name: str | None, settings: Mapping[str, str]) -> str:
    """The connection string a binding's `connection` names (default AzureWebJobsStorage).

    Like the host, `X` is looked up as `X`, then `AzureWebJobsX`.
    """
    setting = name or DEFAULT_CONNECTION
    for candidate in (setting, f"AzureWebJobs{setting}"):
        value = settings.get(candidate)
        if value:
            return expand_development_storage(value)
    raise SettingsError(
        f"Storage account connection string '{setting}' does not exist. "
        "Make sure that it is a defined App Setting."
    )


class StorageClients:
    """One queue service client and one table service client per storage account."""

    def __init__(self) -> None:
        self._queues: dict[str, QueueServiceClient] = {}
        self._tables: dict[str, TableServiceClient] = {}

    def queue(self, connection_string: str, queue_name: str) -> QueueClient:
        """A client for one queue; it sends and receives the raw (still encoded) text."""
        service = self._queues.get(connection_string)
        if service is None:
            service = QueueServiceClient.from_connection_string(
                connection_string,
                api_version=QUEUE_API_VERSION,
                connection_timeout=CONNECTION_TIMEOUT,
                read_timeout=READ_TIMEOUT,
                # storage's ExponentialRetry: waits initial_backoff, then + increment_base**n
                retry_total=RETRY_TOTAL,
                initial_backoff=RETRY_BACKOFF_SECONDS,
                increment_base=RETRY_BACKOFF_SECONDS,
                random_jitter_range=0,
            )
            self._queues[connection_string] = service
        return service.get_queue_client(queue_name)

    def tables(self, connection_string: str) -> TableServiceClient:
        """The table service client for an account."""
        service = self._tables.get(connection_string)
        if service is None:
            service = TableServiceClient.from_connection_string(
                connection_string,
                connection_timeout=CONNECTION_TIMEOUT,
                read_timeout=READ_TIMEOUT,
                # azure-core's RetryPolicy: first retry at once, then factor * 2**n, capped
                retry_total=RETRY_TOTAL,
                retry_backoff_factor=RETRY_BACKOFF_SECONDS,
                retry_backoff_max=2 * RETRY_BACKOFF_SECONDS,
            )
            self._tables[connection_string] = service
        return service

    async def close(self) -> None:
        """Close every client."""
        for queue_service in self._queues.values():
            await queue_service.close()
        for table_service in self._tables.values():
            await table_service.close()
