"""The schema exporter: the committed JSON Schemas under schemas/ are exactly what the models
render, and `export` writes them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared import schema_export
from shared.contracts import CallRequest, DeliveryEvent, SmsRequest
from shared.schema_export import DEFAULT_DIR, SCHEMA_FILES, export, render_schema

REPO = Path(__file__).resolve().parents[3]
THIS_TEST = Path(__file__).resolve().relative_to(REPO).as_posix()


@pytest.mark.parametrize("file_name", sorted(SCHEMA_FILES))
def test_committed_schema_matches_the_models(file_name: str) -> None:
    committed = (DEFAULT_DIR / file_name).read_text(encoding="utf-8")
    assert committed == render_schema(file_name), (
        f"schemas/{file_name} drifted: run python -m shared.schema_export"
    )


def test_the_exporter_names_the_test_that_guards_the_schemas() -> None:
    named = re.findall(r"`(tests/[^`]+\.py)`", schema_export.__doc__ or "")
    assert named, "shared/schema_export.py should name the drift test"
    assert [path for path in named if not (REPO / path).is_file()] == []
    assert THIS_TEST in named


def test_the_default_directory_is_the_repositorys_schemas_folder() -> None:
    assert DEFAULT_DIR == REPO / "schemas"
    assert sorted(path.name for path in DEFAULT_DIR.glob("*.schema.json")) == sorted(SCHEMA_FILES)


def test_each_file_is_the_json_schema_of_its_model_with_its_own_id() -> None:
    assert set(SCHEMA_FILES.values()) == {SmsRequest, CallRequest, DeliveryEvent}
    for file_name, model in SCHEMA_FILES.items():
        schema = json.loads(render_schema(file_name))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == file_name
        assert schema["title"] == model.__name__
        assert schema["additionalProperties"] is False


def test_field_names_are_the_published_aliases() -> None:
    properties = json.loads(render_schema("sms-request.schema.json"))["properties"]
    assert "from" in properties
    assert "from_" not in properties


def test_rendered_text_keeps_non_ascii_and_ends_with_one_newline() -> None:
    text = render_schema("delivery-event.schema.json")
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    assert "…" in text  # a description's ellipsis, not \u2026
    assert "\\u2026" not in text


def test_export_writes_every_file_into_a_new_directory(tmp_path: Path) -> None:
    target = tmp_path / "out" / "schemas"
    written = export(target)
    assert sorted(path.name for path in written) == sorted(SCHEMA_FILES)
    assert all(path.parent == target for path in written)
    for path in written:
        assert path.read_text(encoding="utf-8") == render_schema(path.name)


def test_export_replaces_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "sms-request.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    export(tmp_path)
    assert stale.read_text(encoding="utf-8") == render_schema("sms-request.schema.json")
