"""Where the producer finds its storage account and its queue and table names.

The account is a connection string (Azurite, or a key) or, for a deployed secretless account,
its queue and table endpoints with `DefaultAzureCredential` (`az login`): given as URLs, read
from an azd environment's outputs (`.azure/<env>/.env`), or from the app's identity-based
`AzureWebJobsStorage__*` settings."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from emulators.functions_host.settings_loader import LOCAL_SETTINGS_FILE, load_local_settings
from emulators.functions_host.settings_loader import SettingsError as LocalSettingsError
from producer.errors import InvalidInputError
from shared.settings import DEFAULT_NAMES
from shared.storage_connection import (
    DEFAULT_CONNECTION,
    IDENTITY_SUFFIXES,
    ConnectionString,
    IdentityConnection,
    StorageConnection,
    StorageSettingError,
    load_storage_connection,
    service_uri,
)

# Azurite on its default ports; the last resort so a bare local checkout just works.
DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"
# The outputs of the deployment (infra/main.bicep) that azd writes to `.azure/<env>/.env`.
QUEUE_ENDPOINT_OUTPUT = "AZURE_STORAGE_QUEUE_ENDPOINT"
TABLE_ENDPOINT_OUTPUT = "AZURE_STORAGE_TABLE_ENDPOINT"
ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")


@dataclass(frozen=True)
class ProducerSettings:
    """Storage account and resource names the producer works with."""

    storage: StorageConnection
    sms_queue: str = DEFAULT_NAMES["SMS_QUEUE_NAME"]
    call_queue: str = DEFAULT_NAMES["CALL_QUEUE_NAME"]
    events_queue: str = DEFAULT_NAMES["EVENTS_QUEUE_NAME"]
    deliveries_table: str = DEFAULT_NAMES["DELIVERIES_TABLE_NAME"]


def read_local_settings(directory: Path) -> dict[str, str]:
    """The `Values` of `local.settings.json` in `directory` as `func start` reads them, or `{}`
    when there is no such file."""
    try:
        return load_local_settings(directory).values
    except LocalSettingsError as error:
        raise InvalidInputError(str(error)) from error


def read_azd_environment(
    name: str | None = None,
    directory: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The values azd keeps for environment `name` (default: env `AZURE_ENV_NAME`, then the
    `defaultEnvironment` of `.azure/config.json`): `.azure/<name>/.env` under `directory`
    (default: cwd), where `azd provision` writes the deployment's outputs."""
    root = (Path.cwd() if directory is None else directory) / ".azure"
    if not name:
        name = (os.environ if environ is None else environ).get("AZURE_ENV_NAME") or None
    if not name:
        try:
            config = json.loads((root / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InvalidInputError(
                f"no azd environment given and none selected ({root / 'config.json'}: {error}); "
                "pass --azd-env NAME or set AZURE_ENV_NAME"
            ) from None
        name = str(config.get("defaultEnvironment") or "") if isinstance(config, dict) else ""
        if not name:
            raise InvalidInputError(f"{root / 'config.json'} selects no default environment")
    path = root / name / ".env"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InvalidInputError(
            f"cannot read azd environment {name!r} ({path}: {error.strerror}); run `azd up` "
            "or `azd env refresh` first"
        ) from None
    values: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1].replace('\\"', '"')
            values[key.strip()] = value
    return values


def _endpoints(queue: tuple[str, str], table: tuple[str, str]) -> IdentityConnection:
    """An identity connection (DefaultAzureCredential) to the endpoints (where each came from,
    URL)."""
    try:
        return IdentityConnection(service_uri(queue[1], queue[0]), service_uri(table[1], table[0]))
    except StorageSettingError as error:
        raise InvalidInputError(str(error)) from None


# The service labels of a storage account's endpoints (`<account>.<service>.<suffix>`).
STORAGE_SERVICES = frozenset({"blob", "queue", "table", "file", "dfs"})


def load_settings(
    connection: str | None = None,
    *,
    queue_url: str | None = None,
    table_url: str | None = None,
    account_name: str | None = None,
    account_url: str | None = None,
    azd_env: str | None = None,
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> ProducerSettings:
    """Resolve settings, first found wins: the connection string `connection`; the endpoints
    `queue_url` and `table_url`, or those of storage account `account_name` in Azure's public
    cloud, or those beside `account_url` (any of the account's service endpoints; all with
    `DefaultAzureCredential`); the azd environment `azd_env`'s
    `AZURE_STORAGE_QUEUE_ENDPOINT` and `AZURE_STORAGE_TABLE_ENDPOINT` outputs (`""`: the
    selected environment); the app's storage settings (`AzureWebJobsStorage` or its
    identity-based `__queueServiceUri` …) in the environment, then in `local.settings.json`
    Values in `directory` (default: cwd); else Azurite's `UseDevelopmentStorage=true`.

    Queue and table names come from the environment, then the azd environment, then
    `local.settings.json`, then the documented defaults."""
    env = os.environ if environ is None else environ
    local = read_local_settings(Path.cwd() if directory is None else directory)
    outputs = None if azd_env is None else read_azd_environment(azd_env or None, directory, env)

    def setting(name: str) -> str | None:
        return env.get(name) or (outputs or {}).get(name) or local.get(name) or None

    names = {name: setting(name) or default for name, default in DEFAULT_NAMES.items()}
    if account_url is not None:
        if queue_url or table_url or account_name is not None:
            raise InvalidInputError(
                "give one of --account-url, --account-name or --queue-url/--table-url"
            )
        queue_url, table_url = account_endpoints(account_url)
    if account_name is not None:
        if queue_url or table_url:
            raise InvalidInputError("give --account-name or --queue-url/--table-url, not both")
        if not ACCOUNT_NAME.fullmatch(account_name):
            raise InvalidInputError(
                f"--account-name {account_name!r} is not a storage account name "
                "(3-24 lowercase letters and digits)"
            )
        queue_url = f"https://{account_name}.queue.core.windows.net"
        table_url = f"https://{account_name}.table.core.windows.net"
    return ProducerSettings(
        storage=_storage(connection, queue_url, table_url, outputs, env, local),
        sms_queue=names["SMS_QUEUE_NAME"],
        call_queue=names["CALL_QUEUE_NAME"],
        events_queue=names["EVENTS_QUEUE_NAME"],
        deliveries_table=names["DELIVERIES_TABLE_NAME"],
    )


def account_endpoints(account_url: str) -> tuple[str, str]:
    """The queue and table endpoints of the account whose service endpoint is `account_url`
    (`https://<account>.<blob|queue|table|dfs|file>.<suffix>`, any cloud's suffix)."""
    parts = urlsplit(account_url.strip())
    labels = (parts.hostname or "").split(".")
    if (
        parts.scheme != "https"
        or len(labels) < 4
        or labels[1] not in STORAGE_SERVICES
        or parts.path.strip("/")
        or parts.query
    ):
        raise InvalidInputError(
            f"--account-url {account_url!r} is not a storage account endpoint "
            "(https://<account>.queue.core.windows.net or the blob/table/file/dfs one); "
            "give --queue-url and --table-url instead"
        )
    account, suffix = labels[0], ".".join(labels[2:])
    return f"https://{account}.queue.{suffix}", f"https://{account}.table.{suffix}"


def _storage(
    connection: str | None,
    queue_url: str | None,
    table_url: str | None,
    azd_outputs: Mapping[str, str] | None,
    env: Mapping[str, str],
    local: Mapping[str, str],
) -> StorageConnection:
    if connection:
        return ConnectionString(connection)
    if queue_url or table_url:
        if not (queue_url and table_url):
            raise InvalidInputError("--queue-url and --table-url must be given together")
        return _endpoints(("--queue-url", queue_url), ("--table-url", table_url))
    if azd_outputs is not None:
        missing = [
            o for o in (QUEUE_ENDPOINT_OUTPUT, TABLE_ENDPOINT_OUTPUT) if not azd_outputs.get(o)
        ]
        if missing:
            raise InvalidInputError(
                f"the azd environment has no {' or '.join(missing)} output: is it deployed?"
            )
        return _endpoints(
            (f"{QUEUE_ENDPOINT_OUTPUT} of the azd environment", azd_outputs[QUEUE_ENDPOINT_OUTPUT]),
            (f"{TABLE_ENDPOINT_OUTPUT} of the azd environment", azd_outputs[TABLE_ENDPOINT_OUTPUT]),
        )
    storage_names = [DEFAULT_CONNECTION + suffix for suffix in ("", *IDENTITY_SUFFIXES)]
    for source, values in (("environment", env), (LOCAL_SETTINGS_FILE, local)):
        if any(values.get(name) for name in storage_names):
            try:
                return load_storage_connection(values)
            except StorageSettingError as error:
                raise InvalidInputError(f"{source}: {error}") from None
    return ConnectionString(DEVELOPMENT_STORAGE)
