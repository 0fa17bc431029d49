"""function.json indexing: defaults, trigger rules and clear errors naming the function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulators.functions_host.function_metadata import (
    FunctionConfigError,
    discover_functions,
    parse_function,
)


def write(app: Path, name: str, document: object) -> Path:
    folder = app / name
    folder.mkdir(parents=True)
    (folder / "function.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


TRIGGER = {"name": "msg", "type": "queueTrigger", "direction": "in", "queueName": "q-1"}


def test_defaults_and_bindings(tmp_path: Path) -> None:
    folder = write(
        tmp_path,
        "send_sms",
        {"bindings": [TRIGGER, {"name": "$return", "type": "queue", "direction": "OUT"}]},
    )
    spec = parse_function(folder)
    assert spec.name == "send_sms"
    assert spec.script_file == (folder / "__init__.py").resolve()
    assert spec.entry_point == "main"
    assert spec.trigger.name == "msg"
    assert spec.trigger.setting("queueName") == "q-1"
    assert [b.name for b in spec.output_bindings()] == ["$return"]
    assert not spec.disabled


def test_script_file_entry_point_and_disabled(tmp_path: Path) -> None:
    folder = write(
        tmp_path,
        "f",
        {"scriptFile": "run.py", "entryPoint": "handle", "disabled": True, "bindings": [TRIGGER]},
    )
    spec = parse_function(folder)
    assert spec.script_file.name == "run.py"
    assert spec.entry_point == "handle"
    assert spec.disabled


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"bindings": []}, "exactly one trigger"),
        ({"bindings": [TRIGGER, {**TRIGGER, "name": "other"}]}, "exactly one trigger"),
        ({"bindings": [{**TRIGGER, "direction": "sideways"}]}, "unknown direction"),
        ({"bindings": [{"type": "queueTrigger", "direction": "in"}]}, "no string 'name'"),
        ({"scriptFile": "x.py"}, "no 'bindings' list"),
    ],
)
def test_invalid_function_json_names_the_function(
    tmp_path: Path, document: object, fragment: str
) -> None:
    folder = write(tmp_path, "broken_fn", document)
    with pytest.raises(FunctionConfigError, match=f"function 'broken_fn'.*{fragment}"):
        parse_function(folder)


def test_unreadable_json(tmp_path: Path) -> None:
    folder = tmp_path / "bad_json"
    folder.mkdir()
    (folder / "function.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(FunctionConfigError, match="function 'bad_json'"):
        parse_function(folder)


def test_discovery_is_one_level_deep_and_sorted(tmp_path: Path) -> None:
    write(tmp_path, "b_fn", {"bindings": [TRIGGER]})
    write(tmp_path, "a_fn", {"bindings": [TRIGGER]})
    write(tmp_path / "nested", "deep", {"bindings": [TRIGGER]})
    assert [spec.name for spec in discover_functions(tmp_path)] == ["a_fn", "b_fn"]
