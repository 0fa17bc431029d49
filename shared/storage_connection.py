"""Where the storage account is and how to authenticate: a connection string (Azurite, or a
key) or the identity-based settings Azure Functions uses for a secretless app; and the one place
the table and queue clients are built from either.

Every client built here sends through `shared.storage_transport` (urllib3's connection pools,
one set per process, without `requests`). The proxies (`HTTPS_PROXY` … `NO_PROXY`) and the CA
bundle (`REQUESTS_CA_BUNDLE`) the environment names are honoured as `requests` would honour
them: read once, when a client is built, for its endpoint (`shared.http_environment`).

Identity-based settings (`<name>` is the connection's setting name, `AzureWebJobsStorage`):
- `<name>__queueServiceUri`, `<name>__tableServiceUri`: the account's service endpoints;
- `<name>__credential`: `managedidentity` in Azure (the function app's managed identity);
  absent, `DefaultAzureCredential` (a developer's `az login`, environment credentials, …);
- `<name>__clientId`: the client id of a user-assigned identity (with `managedidentity` only;
  absent, the system-assigned identity).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from shared.http_environment import environment_ca_bundle, environment_proxies

# The SDKs are imported where a client is built: importing a function folder should not pay for
# azure.identity (identity connections only) or azure-storage-queue (it imports aiohttp).
if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueClient, QueueServiceClient

DEFAULT_CONNECTION = "AzureWebJobsStorage"
QUEUE_SERVICE_URI = "__queueServiceUri"
TABLE_SERVICE_URI = "__tableServiceUri"
CREDENTIAL = "__credential"
CLIENT_ID = "__clientId"
IDENTITY_SUFFIXES = (QUEUE_SERVICE_URI, TABLE_SERVICE_URI, CREDENTIAL, CLIENT_ID)
MANAGED_IDENTITY = "managedidentity"
# What App Service leaves in a setting whose Key Vault reference it could not resolve.
KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("


class StorageSettingError(ValueError):
    """A storage setting is missing, half-configured or malformed; the message names it and
    never shows a value that could hold a secret."""


@dataclass(frozen=True)
class ConnectionString:
    """A storage connection string (account key or SAS; `UseDevelopmentStorage=true`)."""

    value: str = field(repr=False)


@dataclass(frozen=True)
class IdentityConnection:
    """Service endpoints plus a token credential choice: no secret in any setting."""

    queue_service_uri: str
    table_service_uri: str
    managed_identity: bool = False  # `__credential=managedidentity`
    client_id: str | None = None  # user-assigned identity; None: system-assigned


StorageConnection = ConnectionString | IdentityConnection


def read_setting(env: Mapping[str, str], name: str) -> str | None:
    """Setting `name`, stripped, or None when absent or empty; an unresolved Key Vault reference
    fails naming the setting (its text is not shown: it names the vault and secret)."""
    value = (env.get(name) or "").strip()
    if value.startswith(KEY_VAULT_REFERENCE):
        raise StorageSettingError(
            f"setting {name} holds an unresolved Key Vault reference (value not shown): the app "
            "could not read the secret; check that the secret exists and that the app's identity "
            "(keyVaultReferenceIdentity) has the Key Vault Secrets User role on the vault"
        )
    return value or None


def service_uri(value: str, name: str) -> str:
    """`value` of setting (or option) `name` as an https service endpoint without a trailing
    slash; one with a query (a SAS) or user info is refused without showing it."""
    parts = urlsplit(value)
    if parts.query or parts.fragment or "@" in value:
        raise StorageSettingError(
            f"{name} must be an https URL without user info or query (value not shown)"
        )
    if parts.scheme != "https" or not parts.hostname:
        raise StorageSettingError(
            f"{name} must be the https URL of a storage service endpoint "
            f"(https://<account>.queue.core.windows.net), got {value!r}"
        )
    return value.rstrip("/")


def load_storage_connection(
    env: Mapping[str, str], name: str = DEFAULT_CONNECTION
) -> StorageConnection:
    """The connection setting `name` describes: the connection string `name`, or the
    identity-based `name__queueServiceUri`, `name__tableServiceUri` (both required),
    `name__credential` and `name__clientId`. Every one of the five is read, so a mix or a half
    is reported, naming the settings."""
    connection_string = read_setting(env, name)
    identity = {suffix: read_setting(env, name + suffix) for suffix in IDENTITY_SUFFIXES}
    given = [name + suffix for suffix, value in identity.items() if value is not None]
    if connection_string is not None:
        if given:
            raise StorageSettingError(
                f"setting {name} (a connection string) and the identity-based "
                f"{', '.join(given)} are both set: keep one kind"
            )
        return ConnectionString(connection_string)
    if not given:
        raise StorageSettingError(
            f"setting {name} is missing or empty: set it to a connection string, or set "
            f"{name}{QUEUE_SERVICE_URI} and {name}{TABLE_SERVICE_URI} to use an identity"
        )
    missing = [
        name + suffix for suffix in (QUEUE_SERVICE_URI, TABLE_SERVICE_URI) if not identity[suffix]
    ]
    if missing:
        raise StorageSettingError(
            f"identity-based storage settings are incomplete: {' and '.join(missing)} "
            f"missing (set {name}{QUEUE_SERVICE_URI} and {name}{TABLE_SERVICE_URI} together)"
        )
    credential = identity[CREDENTIAL]
    if credential is not None and credential.lower() != MANAGED_IDENTITY:
        raise StorageSettingError(
            f"setting {name}{CREDENTIAL} must be {MANAGED_IDENTITY!r} or absent, got {credential!r}"
        )
    client_id = identity[CLIENT_ID]
    if client_id is not None and credential is None:
        raise StorageSettingError(
            f"setting {name}{CLIENT_ID} needs {name}{CREDENTIAL}={MANAGED_IDENTITY} "
            "(a client id selects a user-assigned managed identity)"
        )
    return IdentityConnection(
        queue_service_uri=service_uri(
            str(identity[QUEUE_SERVICE_URI]), f"setting {name}{QUEUE_SERVICE_URI}"
        ),
        table_service_uri=service_uri(
            str(identity[TABLE_SERVICE_URI]), f"setting {name}{TABLE_SERVICE_URI}"
        ),
        managed_identity=credential is not None,
        client_id=client_id,
    )


@functools.cache
def token_credential(connection: IdentityConnection) -> TokenCredential:
    """The credential `connection` chooses: the app's managed identity (user-assigned when a
    client id is given), else `DefaultAzureCredential`. One per connection and process, so
    every client shares its token cache."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if connection.managed_identity:
        return ManagedIdentityCredential(client_id=connection.client_id)
    return DefaultAzureCredential()


class _HasUrl(Protocol):
    @property
    def url(self) -> str: ...


# The options a transport takes; a client built with its own transport ignores them.
TRANSPORT_OPTIONS = ("connection_timeout", "read_timeout", "connection_verify", "connection_cert")


def _on_storage_transport[ClientT: _HasUrl](
    build: Callable[..., ClientT], options: dict[str, Any]
) -> ClientT:
    """`build(**options)` sending through a `StorageTransport` on the process's pools with the
    options' timeouts, the environment's CA bundle unless `options` name one, and the
    environment's proxies for the client's endpoint when there are any (the client is then
    built again: its endpoint, from a connection string, is known once it is built)."""
    from shared.storage_transport import StorageTransport

    transport_options = {key: options[key] for key in TRANSPORT_OPTIONS if key in options}
    transport_options.setdefault("connection_verify", environment_ca_bundle())

    def built(**extra: Any) -> ClientT:
        return build(transport=StorageTransport(**transport_options), **options, **extra)

    client = built()
    proxies = None if "proxies" in options else environment_proxies(client.url)
    return built(proxies=proxies) if proxies else client


def table_service_client(
    connection: StorageConnection,
    credential: TokenCredential | None = None,
    **options: Any,
) -> TableServiceClient:
    """A table service client for `connection` with the caller's `options` (timeouts, retries,
    API version); `credential` overrides the identity connection's own choice. It sends
    through a `StorageTransport` on the process's connection pools."""
    from azure.data.tables import TableServiceClient

    if isinstance(connection, ConnectionString):
        return _on_storage_transport(
            functools.partial(TableServiceClient.from_connection_string, connection.value),
            options,
        )
    return _on_storage_transport(
        functools.partial(
            TableServiceClient,
            endpoint=connection.table_service_uri,
            credential=credential or token_credential(connection),
        ),
        options,
    )


def queue_service_client(
    connection: StorageConnection,
    credential: TokenCredential | None = None,
    **options: Any,
) -> QueueServiceClient:
    """A queue service client for `connection`, like `table_service_client`."""
    from azure.storage.queue import QueueServiceClient

    if isinstance(connection, ConnectionString):
        return _on_storage_transport(
            functools.partial(QueueServiceClient.from_connection_string, connection.value),
            options,
        )
    return _on_storage_transport(
        functools.partial(
            QueueServiceClient,
            account_url=connection.queue_service_uri,
            credential=credential or token_credential(connection),
        ),
        options,
    )


def queue_client(
    connection: StorageConnection,
    queue_name: str,
    credential: TokenCredential | None = None,
    **options: Any,
) -> QueueClient:
    """A client for one queue, like `table_service_client` (a QueueClient built directly keeps
    the encode/decode policies given in `options`)."""
    from azure.storage.queue import QueueClient

    if isinstance(connection, ConnectionString):
        return _on_storage_transport(
            functools.partial(QueueClient.from_connection_string, connection.value, queue_name),
            options,
        )
    return _on_storage_transport(
        functools.partial(
            QueueClient,
            account_url=connection.queue_service_uri,
            queue_name=queue_name,
            credential=credential or token_credential(connection),
        ),
        options,
    )
