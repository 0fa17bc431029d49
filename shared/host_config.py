"""Facts the code needs from the host's configuration (host.json and its app-setting overrides),
read once."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"
# The Storage Queues extension's default when host.json does not set it.
DEFAULT_MAX_DEQUEUE_COUNT = 5
# An app setting named after the host.json path overrides it (`__` separates the levels).
MAX_DEQUEUE_COUNT_SETTING = "AzureFunctionsJobHost__extensions__queues__maxDequeueCount"


@functools.cache
def max_dequeue_count() -> int:
    """`extensions.queues.maxDequeueCount`: the attempt that sees this count is the last one.

    The app setting `AzureFunctionsJobHost__extensions__queues__maxDequeueCount` wins over
    host.json, as it does for the host (a value that is not a positive integer is ignored)."""
    override = os.environ.get(MAX_DEQUEUE_COUNT_SETTING, "").strip()
    if override.isdecimal() and int(override) > 0:
        return int(override)
    config = json.loads(HOST_JSON.read_text(encoding="utf-8"))
    value = config.get("extensions", {}).get("queues", {}).get("maxDequeueCount")
    return int(value) if value is not None else DEFAULT_MAX_DEQUEUE_COUNT
