"""Where the producer finds its storage account and its queue and table names."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from producer.errors import InvalidInputError

# Azurite on its default ports; the last resort so a bare local checkout just works.
DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"
LOCAL_SETTINGS_FILE = "local.settings.json"
DEFAULT_NAMES = {
    "SMS_QUEUE_NAME": "sms-requests",
    "CALL_QUEUE_NAME": "call-requests",
    "EVENTS_QUEUE_NAME": "delivery-events",
    "DELIVERIES_TABLE_NAME": "deliveries",
}


@dataclass(frozen=True)
class ProducerSettings:
    """Connection string and resource names the producer works with."""

    connection_string: str
    sms_queue: str = DEFAULT_NAMES["SMS_QUEUE_NAME"]
    call_queue: str = DEFAULT_NAMES["CALL_QUEUE_NAME"]
    events_queue: str = DEFAULT_NAMES["EVENTS_QUEUE_NAME"]
    deliveries_table: str = DEFAULT_NAMES["DELIVERIES_TABLE_NAME"]


def read_local_settings(directory: Path) -> dict[str, str]:
    """The `Values` of `local.settings.json` in `directory`, or `{}` when there is no such file."""
    path = directory / LOCAL_SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInputError(f"{path}: cannot read settings: {error}") from error
    values = document.get("Values", {}) if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise InvalidInputError(f"{path}: 'Values' must be a JSON object")
    return {str(key): str(value) for key, value in values.items() if value is not None}


def load_settings(
    connection: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> ProducerSettings:
    """Resolve settings: `connection`, else env `AzureWebJobsStorage`, else `local.settings.json`
    Values in `directory` (default: cwd), else Azurite's `UseDevelopmentStorage=true`.

    Queue and table names come from the environment, then `local.settings.json`, then the
    documented defaults."""
    env = os.environ if environ is None else environ
    local = read_local_settings(Path.cwd() if directory is None else directory)

    def setting(name: str) -> str | None:
        return env.get(name) or local.get(name) or None

    names = {name: setting(name) or default for name, default in DEFAULT_NAMES.items()}
    return ProducerSettings(
        connection_string=connection or setting("AzureWebJobsStorage") or DEVELOPMENT_STORAGE,
        sms_queue=names["SMS_QUEUE_NAME"],
        call_queue=names["CALL_QUEUE_NAME"],
        events_queue=names["EVENTS_QUEUE_NAME"],
        deliveries_table=names["DELIVERIES_TABLE_NAME"],
    )
