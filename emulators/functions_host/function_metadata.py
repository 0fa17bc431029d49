"""Read every `*/function.json` of a v1 app into typed function specs, as the host indexes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SCRIPT_FILE = "__init__.py"
DEFAULT_ENTRY_POINT = "main"


class FunctionConfigError(RuntimeError):
    """A function.json that cannot be used; the message names the function."""


@dataclass(frozen=True)
class Binding:
    """One entry of function.json `bindings`."""

    name: str
    type: str
    direction: str
    data_type: str | None
    raw: dict[str, Any]

    def setting(self, key: str) -> str | None:
        """A string property of the binding (e.g. `queueName`), or None when absent."""
        value = self.raw.get(key)
        return value if isinstance(value, str) else None

    @property
    def is_trigger(self) -> bool:
        """Whether this binding is the function's trigger."""
        return self.type.endswith("Trigger")


@dataclass(frozen=True)
class FunctionSpec:
    """A function as the host sees it: folder, script, entry point and bindings."""

    name: str
    directory: Path
    script_file: Path
    entry_point: str
    bindings: tuple[Binding, ...]
    disabled: bool

    @property
    def trigger(self) -> Binding:
        """The single trigger binding (validated at parse time)."""
        return next(b for b in self.bindings if b.is_trigger)

    def output_bindings(self) -> tuple[Binding, ...]:
        """Bindings with direction `out`, including `$return`."""
        return tuple(b for b in self.bindings if b.direction == "out")


def _required_string(function: str, index: int, raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise FunctionConfigError(f"function '{function}': binding #{index} has no string '{key}'")
    return value


def _parse_binding(function: str, index: int, raw: object) -> Binding:
    if not isinstance(raw, dict):
        raise FunctionConfigError(f"function '{function}': binding #{index} is not an object")
    name = _required_string(function, index, raw, "name")
    direction = _required_string(function, index, raw, "direction").lower()
    if direction not in ("in", "out", "inout"):
        raise FunctionConfigError(
            f"function '{function}': binding '{name}' has unknown direction '{direction}'"
        )
    data_type = raw.get("dataType")
    return Binding(
        name=name,
        type=_required_string(function, index, raw, "type"),
        direction=direction,
        data_type=data_type if isinstance(data_type, str) else None,
        raw=dict(raw),
    )


def parse_function(directory: Path) -> FunctionSpec:
    """Parse `directory/function.json`; raises FunctionConfigError naming the function."""
    name = directory.name
    path = directory / "function.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise FunctionConfigError(f"function '{name}': cannot read {path}: {error}") from error
    if not isinstance(document, dict):
        raise FunctionConfigError(f"function '{name}': {path} is not a JSON object")
    raw_bindings = document.get("bindings")
    if not isinstance(raw_bindings, list):
        raise FunctionConfigError(f"function '{name}': {path} has no 'bindings' list")
    bindings = tuple(_parse_binding(name, i, raw) for i, raw in enumerate(raw_bindings))
    triggers = [b for b in bindings if b.is_trigger]
    if len(triggers) != 1:
        raise FunctionConfigError(
            f"function '{name}': expected exactly one trigger binding, found {len(triggers)}"
        )
    script = document.get("scriptFile") or DEFAULT_SCRIPT_FILE
    entry_point = document.get("entryPoint") or DEFAULT_ENTRY_POINT
    if not isinstance(script, str) or not isinstance(entry_point, str):
        raise FunctionConfigError(f"function '{name}': 'scriptFile'/'entryPoint' must be strings")
    return FunctionSpec(
        name=name,
        directory=directory.resolve(),
        script_file=(directory / script).resolve(),
        entry_point=entry_point,
        bindings=bindings,
        disabled=document.get("disabled") is True,
    )


def discover_functions(app_dir: Path) -> list[FunctionSpec]:
    """Every `<app>/<name>/function.json`, sorted by function name."""
    return [parse_function(path.parent) for path in sorted(app_dir.glob("*/function.json"))]
