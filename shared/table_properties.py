"""How values become Azure Table properties and come back: the store's codec.

Tables has no null, no JSON type, and a string property holds at most 64 KiB of UTF-16. So:
None values are dropped; dicts and lists are written as compact JSON text, which is never cut
(cut JSON cannot be read back): JSON longer than one property continues in `<name>_2`,
`<name>_3` … with the count in `<name>_parts`; plain text (error messages, reasons) is only
read by people and is cut to fit one property. A MERGE cannot remove a property, so a change
clears one by writing `CLEARED` (the empty string), which reads back as None.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# A table string property holds at most 64 KiB of UTF-16 (32K code units), with room to spare.
MAX_PROPERTY_UNITS = 32_000
PARTS_SUFFIX = "_parts"
CLEARED = ""


def to_properties(values: Mapping[str, Any], *, merge: bool = False) -> dict[str, Any]:
    """Table properties from `values` (see the module docstring).

    `merge`: the properties go into a MERGE, so a JSON value also writes its part count (a stale
    longer value's extra parts are then ignored)."""
    properties: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            parts = split_utf16(text, MAX_PROPERTY_UNITS)
            properties[key] = parts[0]
            properties.update({f"{key}_{n}": part for n, part in enumerate(parts[1:], start=2)})
            if len(parts) > 1 or merge:
                properties[f"{key}{PARTS_SUFFIX}"] = len(parts)
            continue
        if isinstance(value, str):
            value = split_utf16(value, MAX_PROPERTY_UNITS)[0]
        properties[key] = value
    return properties


def split_utf16(text: str, units: int) -> list[str]:
    """`text` in pieces of at most `units` UTF-16 code units, never splitting a surrogate pair."""
    data = text.encode("utf-16-le")
    if len(data) <= 2 * units:
        return [text]
    pieces, start = [], 0
    while start < len(data):
        end = min(start + 2 * units, len(data))
        if end < len(data) and 0xD8 <= data[end - 1] <= 0xDB:  # ends on a high surrogate
            end -= 2
        pieces.append(data[start:end].decode("utf-16-le"))
        start = end
    return pieces


def joined_property(entity: Mapping[str, Any], name: str) -> Any:
    """The text of property `name`, with the parts it was split into joined again."""
    first = entity.get(name)
    count = entity.get(f"{name}{PARTS_SUFFIX}")
    if not isinstance(first, str) or not isinstance(count, int) or count <= 1:
        return first
    return first + "".join(str(entity[f"{name}_{n}"]) for n in range(2, count + 1))


def json_property(entity: Mapping[str, Any], name: str) -> Any:
    """Property `name` parsed as JSON (joined first); None when absent or cleared."""
    raw = joined_property(entity, name)
    return json.loads(raw) if isinstance(raw, str) and raw != CLEARED else None


def present(value: Any) -> Any:
    """A property's value, None when absent or `CLEARED`."""
    return None if value == CLEARED else value
