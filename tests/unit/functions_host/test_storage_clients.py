"""Storage connections as the host resolves them, and one client per account (built, never
connected: the SDK clients open no connection until a request)."""

from __future__ import annotations

import pytest
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from emulators.functions_host.settings_loader import SettingsError
from emulators.functions_host.storage_clients import (
    CONNECTION_TIMEOUT,
    DEVELOPMENT_STORAGE,
    QUEUE_API_VERSION,
    READ_TIMEOUT,
    RETRY_BACKOFF_SECONDS,
    RETRY_TOTAL,
    StorageClients,
    async_credential,
    expand_development_storage,
    resolve_connection,
)
from shared.storage_connection import ConnectionString, IdentityConnection

REMOTE = (
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;"
    "EndpointSuffix=core.windows.net"
)
IDENTITY = IdentityConnection("https://acct.queue.example", "https://acct.table.example")


def test_development_storage_is_azurite_on_its_default_ports() -> None:
    assert "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" in DEVELOPMENT_STORAGE
    for flag in (
        "UseDevelopmentStorage=true",
        " usedevelopmentstorage=TRUE ; ",
        "UseDevelopmentStorage=true;",
    ):
        assert expand_development_storage(flag) == DEVELOPMENT_STORAGE


@pytest.mark.parametrize("value", [REMOTE, "UseDevelopmentStorage=false", ""])
def test_other_connection_strings_are_kept(value: str) -> None:
    assert expand_development_storage(value) == value


def test_the_default_connection_is_azure_web_jobs_storage() -> None:
    settings = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    assert resolve_connection(None, settings) == ConnectionString(DEVELOPMENT_STORAGE)


def test_a_named_connection_falls_back_to_its_azure_web_jobs_form() -> None:
    assert resolve_connection("Store", {"Store": REMOTE}) == ConnectionString(REMOTE)
    assert resolve_connection("Store", {"AzureWebJobsStore": REMOTE}) == ConnectionString(REMOTE)
    both = {"Store": REMOTE, "AzureWebJobsStore": "UseDevelopmentStorage=true"}
    assert resolve_connection("Store", both) == ConnectionString(REMOTE)


def test_identity_settings_make_an_identity_connection() -> None:
    settings = {
        "Store__queueServiceUri": IDENTITY.queue_service_uri,
        "Store__tableServiceUri": IDENTITY.table_service_uri,
        "Store__credential": "managedidentity",
        "Store__clientId": "client-1",
    }
    assert resolve_connection("Store", settings) == IdentityConnection(
        IDENTITY.queue_service_uri, IDENTITY.table_service_uri, True, "client-1"
    )


def test_a_missing_connection_is_the_host_error() -> None:
    with pytest.raises(SettingsError, match="connection string 'Store' does not exist"):
        resolve_connection("Store", {"AzureWebJobsStorage": REMOTE})


def test_half_an_identity_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="Store__tableServiceUri"):
        resolve_connection("Store", {"Store__queueServiceUri": IDENTITY.queue_service_uri})


async def test_the_credential_follows_the_connection() -> None:
    managed = async_credential(IdentityConnection("q", "t", True, "client-1"))
    default = async_credential(IDENTITY)
    try:
        assert isinstance(managed, ManagedIdentityCredential)
        assert isinstance(default, DefaultAzureCredential)
    finally:
        await managed.close()
        await default.close()


async def test_one_service_client_per_account_with_short_timeouts() -> None:
    clients = StorageClients()
    local = ConnectionString(DEVELOPMENT_STORAGE)
    remote = ConnectionString(REMOTE)
    try:
        first, second = clients.queue(local, "a"), clients.queue(local, "b")
        assert (first.queue_name, second.queue_name) == ("a", "b")
        assert first.url == "http://127.0.0.1:10001/devstoreaccount1/a"
        assert first.api_version == QUEUE_API_VERSION
        assert len(clients._queues) == 1
        assert clients.queue(remote, "a").url == "https://acct.queue.core.windows.net/a"
        assert len(clients._queues) == 2
        tables = clients.tables(local)
        assert clients.tables(local) is tables
        assert tables.url.startswith("http://127.0.0.1:10002/devstoreaccount1")
        # Private SDK attributes: the only place the transport and retry settings are kept.
        transport = clients._queues[local]._pipeline._transport.connection_config
        assert (transport.timeout, transport.read_timeout) == (CONNECTION_TIMEOUT, READ_TIMEOUT)
        retry = clients._queues[local]._config.retry_policy
        assert (retry.total_retries, retry.initial_backoff) == (RETRY_TOTAL, RETRY_BACKOFF_SECONDS)
        table_transport = tables._client._client._pipeline._transport.connection_config
        assert table_transport.read_timeout == READ_TIMEOUT
    finally:
        await clients.close()


async def test_an_identity_account_shares_one_credential() -> None:
    clients = StorageClients()
    try:
        queue = clients.queue(IDENTITY, "jobs")
        tables = clients.tables(IDENTITY)
        assert queue.url == "https://acct.queue.example/jobs"
        assert tables.url.startswith("https://acct.table.example")
        assert len(clients._credentials) == 1
        credential = clients._credentials[IDENTITY]
        assert isinstance(credential, DefaultAzureCredential)
        assert queue.credential is credential
        assert tables.credential is credential
    finally:
        await clients.close()
