"""Facts the code needs from host.json, read once."""

from __future__ import annotations

import functools
import json
from pathlib import Path

HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"
# The Storage Queues extension's default when host.json does not set it.
DEFAULT_MAX_DEQUEUE_COUNT = 5


@functools.cache
def max_dequeue_count() -> int:
    """`extensions.queues.maxDequeueCount`: the attempt that sees this count is the last one."""
    config = json.loads(HOST_JSON.read_text(encoding="utf-8"))
    value = config.get("extensions", {}).get("queues", {}).get("maxDequeueCount")
    return int(value) if value is not None else DEFAULT_MAX_DEQUEUE_COUNT
