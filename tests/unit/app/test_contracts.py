"""Queue contracts: validation rules and the committed JSON Schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from shared import schema_export
from shared.contracts import CallRequest, SmsRequest, is_request_id
from shared.schema_export import SCHEMA_FILES, render_schema

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
SMS = {"id": "r-1", "to": "+15005550006", "body": "hello"}
CALL = {"id": "c-1", "to": "+15005550006", "script": [{"type": "say", "text": "hi"}]}


@pytest.mark.parametrize("file_name", sorted(SCHEMA_FILES))
def test_committed_schema_matches_the_models(file_name: str) -> None:
    committed = (SCHEMAS / file_name).read_text(encoding="utf-8")
    assert committed == render_schema(file_name), (
        f"schemas/{file_name} drifted: run python -m shared.schema_export"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"to": "5005550006"},
        {"to": "+0123"},
        {"body": "x" * 1601},
        {"body": None},
        {"id": "has/slash"},
        {"from": "+15005550006", "messaging_service_sid": "MG" + "0" * 32},
        {"unknown": 1},
        {"send_at": "2030-01-01T12:00:00"},
    ],
)
def test_bad_sms_requests_are_refused(change: dict[str, Any]) -> None:
    payload = {key: value for key, value in {**SMS, **change}.items() if value is not None}
    with pytest.raises(ValidationError):
        SmsRequest.model_validate(payload)
    schema = json.loads((SCHEMAS / "sms-request.schema.json").read_text())
    if "body" not in change and "send_at" not in change and "from" not in change:
        # Field-level rules are in the published schema too.
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(payload, schema)


def test_sms_body_of_1600_chars_and_media_only_are_fine() -> None:
    assert SmsRequest.model_validate({**SMS, "body": "x" * 1600}).body == "x" * 1600
    media = {"id": "m", "to": "+15005550006", "media_urls": ["https://x.test/a.png"]}
    assert SmsRequest.model_validate(media).media_urls == ["https://x.test/a.png"]


def test_call_needs_exactly_one_of_script_twiml_url() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        CallRequest.model_validate({**CALL, "url": "https://x.test/t.xml"})
    with pytest.raises(ValidationError, match="exactly one"):
        CallRequest.model_validate({"id": "c", "to": "+15005550006"})


def test_script_steps_are_discriminated_by_type() -> None:
    steps = [
        {"type": "say", "text": "hi", "voice": "alice", "loop": 2},
        {"type": "play", "url": "https://x.test/a.mp3"},
        {"type": "pause", "length": 1},
        {"type": "gather", "prompt": "press 1", "num_digits": 1, "finish_on_key": "#"},
        {"type": "dial", "number": "+15005550006"},
        {"type": "record", "max_length": 10, "play_beep": True},
        {"type": "redirect", "url": "https://x.test/next"},
        {"type": "hangup"},
        {"type": "reject", "reason": "busy"},
    ]
    request = CallRequest.model_validate({**CALL, "script": steps})
    assert [type(step).__name__ for step in request.script or []] == [
        "SayStep",
        "PlayStep",
        "PauseStep",
        "GatherStep",
        "DialStep",
        "RecordStep",
        "RedirectStep",
        "HangupStep",
        "RejectStep",
    ]
    with pytest.raises(ValidationError):
        CallRequest.model_validate({**CALL, "script": [{"type": "dance"}]})
    with pytest.raises(ValidationError):
        CallRequest.model_validate({**CALL, "script": [{"type": "say"}]})


def test_valid_examples_pass_the_published_schemas() -> None:
    sms_schema = json.loads((SCHEMAS / "sms-request.schema.json").read_text())
    call_schema = json.loads((SCHEMAS / "call-request.schema.json").read_text())
    jsonschema.validate({**SMS, "from": "+15005550006", "metadata": {"k": [1]}}, sms_schema)
    jsonschema.validate(CALL, call_schema)


def test_metadata_and_script_must_fit_a_table_property() -> None:
    with pytest.raises(ValidationError, match="metadata"):
        SmsRequest.model_validate({**SMS, "metadata": {"blob": "x" * 8000}})
    long_script = [{"type": "say", "text": "y" * 4000}] * 8
    with pytest.raises(ValidationError, match="script"):
        CallRequest.model_validate({**CALL, "script": long_script})
    assert CallRequest.model_validate({**CALL, "script": long_script[:7]}).script is not None


@pytest.mark.parametrize(
    ("model", "payload", "where"),
    [
        (SmsRequest, {**SMS, "metadata": {"k": "\udfff"}}, "request.metadata.k"),
        (SmsRequest, {**SMS, "metadata": {"\ud800": [1]}}, "request.metadata.\\ud800"),
        (SmsRequest, {**SMS, "metadata": {"k": ["ok", {"deep": "x\udfff"}]}}, "k.1.deep"),
        (SmsRequest, {**SMS, "metadata": {"k": 1}, "body": "hi \ud800"}, "unicode string"),
        (CallRequest, {**CALL, "metadata": {"k": "\udfff"}}, "request.metadata.k"),
    ],
)
def test_text_that_cannot_be_encoded_is_refused(
    model: type[SmsRequest | CallRequest], payload: dict[str, Any], where: str
) -> None:
    # Typed strings are refused by pydantic itself; free JSON (metadata) by the contract.
    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload)
    message = str(caught.value.errors(include_input=False)[0]["msg"])
    assert where in message
    message.encode("utf-8")  # the reason itself can be stored


def test_astral_characters_are_fine() -> None:
    request = SmsRequest.model_validate({**SMS, "body": "ok 😀", "metadata": {"😀": ["😀"]}})
    assert request.metadata == {"😀": ["😀"]}


@pytest.mark.parametrize(
    ("text", "valid"),
    [("order-42", True), ("a:b.c_d", True), ("order-42\n", False), ("-x", False), ("", False)],
)
def test_request_ids_match_as_a_whole(text: str, valid: bool) -> None:
    assert is_request_id(text) is valid


def test_the_exporter_names_the_test_that_guards_the_schemas() -> None:
    named = re.findall(r"`(tests/[^`]+\.py)`", schema_export.__doc__ or "")
    assert named, "shared/schema_export.py should name the drift test"
    root = SCHEMAS.parent
    assert [path for path in named if not (root / path).is_file()] == []
