"""App settings the way `func start` assembles them, plus the stand-in's HTTP keys.

`func start` copies `local.settings.json` "Values" into the process environment, except a
value whose environment variable is already set and non-empty: then the environment wins and
Core Tools prints "Skipping '<name>' from local settings as it's already defined in current
environment variables." This module does the same.

Keys for `authLevel: function`/`admin` (Core Tools does not enforce keys locally; the stand-in
does, so tests can exercise them) come from a stand-in-only section of local.settings.json:

    "Host": {"LocalHttpPort": 7071,
             "FunctionKeys": {"default": "<host key>", "<function name>": "<function key>"},
             "MasterKey": "<master key>"}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_SETTINGS_FILE = "local.settings.json"
_SETTING_REFERENCE = re.compile(r"%([^%]+)%")


class SettingsError(ValueError):
    """local.settings.json is unreadable, or a referenced app setting is missing."""


@dataclass(frozen=True)
class LocalSettings:
    """What local.settings.json contributes."""

    values: dict[str, str] = field(default_factory=dict)
    function_keys: dict[str, str] = field(default_factory=dict)
    master_key: str | None = None
    local_http_port: int | None = None


def _string_map(raw: object, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsError(f"local.settings.json: '{where}' must be an object")
    # Core Tools turns non-string JSON values into their text; null becomes empty.
    return {
        str(k): "" if v is None else v if isinstance(v, str) else json.dumps(v)
        for k, v in raw.items()
    }


def parse_local_settings(document: object) -> LocalSettings:
    """Parse a local.settings.json document (already loaded from JSON)."""
    if not isinstance(document, dict):
        raise SettingsError("local.settings.json must be a JSON object")
    if document.get("IsEncrypted") is True:
        raise SettingsError("local.settings.json is encrypted; the stand-in reads plain values")
    host: Any = document.get("Host") or {}
    if not isinstance(host, dict):
        raise SettingsError("local.settings.json: 'Host' must be an object")
    port = host.get("LocalHttpPort")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
        raise SettingsError("local.settings.json: Host.LocalHttpPort must be an integer")
    master = host.get("MasterKey")
    return LocalSettings(
        values=_string_map(document.get("Values"), "Values"),
        function_keys=_string_map(host.get("FunctionKeys"), "Host.FunctionKeys"),
        master_key=master if isinstance(master, str) and master else None,
        local_http_port=port,
    )


def load_local_settings(app_dir: Path) -> LocalSettings:
    """Read `<app>/local.settings.json`; an absent file means no local settings."""
    path = app_dir / LOCAL_SETTINGS_FILE
    if not path.exists():
        return LocalSettings()
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise SettingsError(f"cannot read {path}: {error}") from error
    return parse_local_settings(document)


def merge_settings(
    local_values: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Effective settings: the environment, plus local values not set (non-empty) there.

    Returns the merged settings and the local names skipped because the environment wins.
    """
    merged = dict(environ)
    skipped: list[str] = []
    for name, value in local_values.items():
        if environ.get(name):
            skipped.append(name)
        else:
            merged[name] = value
    return merged, skipped


def export_settings(
    local_values: Mapping[str, str], environ: MutableMapping[str, str]
) -> list[str]:
    """Write the local values the environment does not already define into `environ`.

    Returns the names skipped because the environment already has them.
    """
    merged, skipped = merge_settings(local_values, environ)
    for name in local_values:
        environ[name] = merged[name]
    return skipped


def resolve_setting_references(text: str, settings: Mapping[str, str]) -> str:
    """Replace each `%NAME%` in a binding property with the app setting NAME."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = settings.get(name)
        if value is None:
            raise SettingsError(f"'%{name}%' does not resolve to a value (app setting missing)")
        return value

    return _SETTING_REFERENCE.sub(replace, text)


def is_function_disabled(function: str, settings: Mapping[str, str]) -> bool:
    """The `AzureWebJobs.<function>.Disabled` app setting, as the host reads it."""
    return settings.get(f"AzureWebJobs.{function}.Disabled", "").strip().lower() in ("true", "1")
