"""Queue contracts: validation rules, as the models and the published JSON Schemas apply them.

Inline TwiML on a call request must be well-formed XML with a <Response> root, so a bad one is
rejected as bad input instead of failing later in Twilio (error 12100)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from shared.contracts import (
    REQUEST_MAX_NESTING,
    CallRequest,
    DeliveryEvent,
    SmsRequest,
    check_nesting,
    is_request_id,
)

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
SMS = {"id": "r-1", "to": "+15005550006", "body": "hello"}
CALL = {"id": "c-1", "to": "+15005550006", "script": [{"type": "say", "text": "hi"}]}


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


TWIML_CALL = {"id": "c-1", "to": "+15005550006"}


@pytest.mark.parametrize(
    "twiml",
    [
        "<Response/>",
        "<Response><Say>Hello &amp; welcome</Say><Pause length='1'/></Response>",
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Hangup/></Response>\n',
        "<Response><!-- a comment --><Say><![CDATA[<b>]]></Say></Response>",
    ],
)
def test_well_formed_twiml_with_a_response_root_is_accepted(twiml: str) -> None:
    assert CallRequest.model_validate({**TWIML_CALL, "twiml": twiml}).twiml == twiml


@pytest.mark.parametrize(
    ("twiml", "problem"),
    [
        ("notxml", "not well-formed XML"),
        ("<Response><Say>unclosed</Response>", "not well-formed XML"),
        ("<Response/><Response/>", "not well-formed XML"),
        ("<Say>hi</Say>", "root element must be <Response>, not <Say>"),
        ("<response/>", "root element must be <Response>, not <response>"),
        ('<Response xmlns="urn:x"/>', "root element must be <Response>, not <{urn:x}Response>"),
        (
            '<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Response>&b;</Response>',
            "must not contain a DOCTYPE",
        ),
    ],
)
def test_malformed_twiml_is_rejected_naming_the_problem(twiml: str, problem: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CallRequest.model_validate({**TWIML_CALL, "twiml": twiml})
    errors = raised.value.errors()
    assert [error["loc"] for error in errors] == [("twiml",)]
    assert problem in errors[0]["msg"]


EVENT = {
    "id": "r-1",
    "channel": "sms",
    "status": "delivered",
    "twilio_sid": "SM" + "0" * 32,
    "at": "2026-01-01T00:00:00Z",
    "sequence": 2,
}


def test_a_delivery_event_has_defaults_and_keeps_its_fields() -> None:
    event = DeliveryEvent.model_validate(EVENT)
    assert (event.error_code, event.error_message, event.metadata, event.detail) == (
        None,
        None,
        {},
        {},
    )
    assert event.model_dump(mode="json")["at"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "change",
    [{"sequence": 0}, {"channel": "fax"}, {"id": "has space"}, {"extra": 1}, {"at": "soon"}],
)
def test_a_malformed_delivery_event_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DeliveryEvent.model_validate({**EVENT, **change})


def test_requests_are_frozen() -> None:
    request = SmsRequest.model_validate(SMS)
    with pytest.raises(ValidationError):
        request.body = "changed"  # type: ignore[misc]


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth - 1):
        value = [value]
    return {"k": value}


def test_nesting_up_to_the_limit_passes_and_one_more_level_is_refused_with_its_path() -> None:
    check_nesting(_nested(REQUEST_MAX_NESTING))
    check_nesting({"wide": [[1, 2], {"a": {"b": None}}], "text": "x" * 10_000})
    with pytest.raises(ValueError, match="deeper than 32 levels") as caught:
        check_nesting(_nested(REQUEST_MAX_NESTING + 1))
    assert "(at request.k" + ".0" * (REQUEST_MAX_NESTING - 1) + ")" in str(caught.value)


def test_input_far_too_deep_for_recursion_is_refused_like_any_other() -> None:
    with pytest.raises(ValueError, match="deeper than 32 levels"):
        check_nesting(_nested(50_000))


def test_a_long_path_is_shortened_in_the_reason() -> None:
    value: object = "leaf"
    for _ in range(REQUEST_MAX_NESTING + 1):
        value = {"key-" + "x" * 60: value}
    with pytest.raises(ValueError, match="…") as caught:
        check_nesting(value)
    assert len(str(caught.value)) < 300
