"""host.json: the queue-listener settings (`extensions.queues`) and HTTP route prefix.

Defaults are the Storage Queues extension's (QueuesOptions), not SchemaStore's: batchSize 16,
newBatchThreshold (batchSize/2) × processor count, maxDequeueCount 5, visibilityTimeout 0,
maxPollingInterval 1 minute (never below 100 ms), messageEncoding base64. App settings named
`AzureFunctionsJobHost__<path>` override host.json, as on the real host (for example
`AzureFunctionsJobHost__extensions__queues__maxDequeueCount=3`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_POLLING_INTERVAL = 0.1
OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?$")


class HostConfigError(ValueError):
    """host.json is missing, not JSON, or has a setting the host would reject."""


@dataclass(frozen=True)
class QueueOptions:
    """`extensions.queues`, with the extension's defaults applied. Durations in seconds."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0
    max_polling_interval: float = 60.0
    message_encoding: str = "base64"


@dataclass(frozen=True)
class HostConfig:
    """The parts of host.json the stand-in honours."""

    queues: QueueOptions
    route_prefix: str = "api"


def parse_timespan(value: str) -> float:
    """A .NET TimeSpan string (`[d.]hh:mm:ss[.fffffff]`) in seconds."""
    match = _TIMESPAN.match(value.strip())
    if not match:
        raise HostConfigError(f"'{value}' is not a TimeSpan (expected hh:mm:ss[.fff])")
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float(f"0.{fraction}") if fraction else 0.0)


def _int_setting(queues: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = queues.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise HostConfigError(
            f"extensions.queues.{key} must be an integer {low}..{high}: {value!r}"
        )
    return value


def _timespan_setting(queues: dict[str, Any], key: str, default: float) -> float:
    value = queues.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise HostConfigError(f"extensions.queues.{key} must be a TimeSpan string: {value!r}")
    return parse_timespan(value)


def parse_queue_options(queues: dict[str, Any], processor_count: int) -> QueueOptions:
    """Apply the extension's defaults and limits to an `extensions.queues` object."""
    batch_size = _int_setting(queues, "batchSize", 16, 1, 32)
    threshold_default = (batch_size // 2) * processor_count
    new_batch_threshold = _int_setting(queues, "newBatchThreshold", threshold_default, 0, 10_000)
    max_dequeue_count = _int_setting(queues, "maxDequeueCount", 5, 1, 1_000_000)
    visibility = _timespan_setting(queues, "visibilityTimeout", 0.0)
    polling = _timespan_setting(queues, "maxPollingInterval", 60.0)
    if polling < MIN_POLLING_INTERVAL:
        raise HostConfigError(
            f"extensions.queues.maxPollingInterval must be at least 00:00:00.1: {polling}s"
        )
    encoding = queues.get("messageEncoding", "base64")
    if not isinstance(encoding, str) or encoding.lower() not in ("base64", "none"):
        raise HostConfigError(
            f"extensions.queues.messageEncoding must be 'base64' or 'none': {encoding!r}"
        )
    return QueueOptions(
        batch_size=batch_size,
        new_batch_threshold=new_batch_threshold,
        max_dequeue_count=max_dequeue_count,
        visibility_timeout=visibility,
        max_polling_interval=polling,
        message_encoding=encoding.lower(),
    )


def _object(document: dict[str, Any], *path: str) -> dict[str, Any]:
    current: Any = document
    for key in path:
        current = current.get(key, {})
        if not isinstance(current, dict):
            raise HostConfigError(f"host.json: '{'.'.join(path)}' must be an object")
    result: dict[str, Any] = current
    return result


def parse_host_config(document: object, processor_count: int | None = None) -> HostConfig:
    """Parse a host.json document (already loaded from JSON)."""
    if not isinstance(document, dict):
        raise HostConfigError("host.json must be a JSON object")
    if document.get("version") != "2.0":
        raise HostConfigError('host.json must have "version": "2.0" (runtime 4.x)')
    cpus = processor_count if processor_count is not None else (os.cpu_count() or 1)
    queues = parse_queue_options(_object(document, "extensions", "queues"), cpus)
    prefix = _object(document, "extensions", "http").get("routePrefix", "api")
    if not isinstance(prefix, str):
        raise HostConfigError("extensions.http.routePrefix must be a string")
    return HostConfig(queues=queues, route_prefix=prefix.strip("/"))


def apply_overrides(document: dict[str, Any], settings: Mapping[str, str]) -> dict[str, Any]:
    """host.json with `AzureFunctionsJobHost__a__b=value` settings applied (keys matched without
    regard to case, as the host's configuration does; numbers and booleans parsed as JSON)."""
    for name, raw in settings.items():
        if not name.startswith(OVERRIDE_PREFIX):
            continue
        *parents, leaf = name.removeprefix(OVERRIDE_PREFIX).split("__")
        node = document
        for part in parents:
            key = next((k for k in node if k.lower() == part.lower()), part)
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise HostConfigError(f"{name}: host.json '{key}' is not an object")
            node = child
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node[next((k for k in node if k.lower() == leaf.lower()), leaf)] = (
            value if isinstance(value, int | float | bool) else raw
        )
    return document


def load_host_config(app_dir: Path, settings: Mapping[str, str] | None = None) -> HostConfig:
    """Read and parse `<app>/host.json`, with `AzureFunctionsJobHost__…` settings applied."""
    path = app_dir / "host.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise HostConfigError(f"cannot read {path}: {error}") from error
    if isinstance(document, dict):
        document = apply_overrides(document, settings if settings is not None else os.environ)
    return parse_host_config(document)
