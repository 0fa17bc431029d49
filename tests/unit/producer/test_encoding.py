"""Message encoding: what goes on the queue is base64 of the request's JSON, as the host expects."""

from __future__ import annotations

import base64
import json

import pytest
from azure.storage.queue import TextBase64EncodePolicy

from emulators.functions_host.queue_message_codec import UndecodableMessageError, decode_message
from producer.enqueue import build_call_request, build_sms_request, request_json
from producer.events import parse_event
from producer.poison import PoisonMessage, replay_text
from producer.queues import (
    decode_base64,
    decode_message_text,
    encode_message_text,
    poison_queue_name,
    source_queue_name,
)
from shared.contracts import SmsRequest


@pytest.mark.parametrize("text", ['{"body": "héllo ☎"}', "plain"])
def test_encoding_matches_the_sdk_policy_and_round_trips(text: str) -> None:
    policy = TextBase64EncodePolicy()
    policy.configure(require_encryption=False, key_encryption_key=None, resolver=None)
    assert encode_message_text(text) == policy(text)
    assert decode_message_text(encode_message_text(text)) == text


BINARY = base64.b64encode(b"\xff\xfe\x00binary").decode()


@pytest.mark.parametrize(
    "raw", ['{"id": "x"}', "not base64!", "YWI", "YWJj", "YW\nJj", BINARY, "wqk=", "é"]
)
def test_base64_is_decoded_exactly_as_the_host_decodes_it(raw: str) -> None:
    try:
        expected: bytes | None = decode_message(raw, "base64")
    except UndecodableMessageError:
        expected = None
    assert decode_base64(raw) == expected


@pytest.mark.parametrize("raw", ['{"id": "x"}', "not base64!", "YWI", BINARY])
def test_decoding_text_rejects_what_is_not_base64_of_utf8(raw: str) -> None:
    assert decode_message_text(raw) is None


def test_request_json_uses_contract_names_and_omits_nulls() -> None:
    request = build_sms_request({"to": "+15005550006", "body": "hi", "from": "+15005550001"})
    document = json.loads(request_json(request))
    assert document["from"] == "+15005550001"
    assert "from_" not in document
    assert "media_urls" not in document
    assert SmsRequest.model_validate_json(request_json(request)) == request


def test_missing_id_becomes_a_uuid4_and_given_id_is_kept() -> None:
    first = build_sms_request({"to": "+15005550006", "body": "hi"})
    second = build_sms_request({"to": "+15005550006", "body": "hi"})
    assert first.id != second.id
    assert len(first.id) == 36
    assert first.id.count("-") == 4
    kept = build_call_request({"id": "order-7", "to": "+15005550006", "twiml": "<Response/>"})
    assert kept.id == "order-7"


def test_poison_queue_names() -> None:
    assert poison_queue_name("sms-requests") == "sms-requests-poison"
    assert poison_queue_name("sms-requests-poison") == "sms-requests-poison"
    assert source_queue_name("sms-requests-poison") == "sms-requests"


def test_replay_text_keeps_base64_messages_as_stored_and_encodes_plain_ones() -> None:
    encoded = encode_message_text('{"id": "a"}')
    from_base64 = PoisonMessage("m1", None, 1, encoded)
    assert replay_text(from_base64) == encoded
    assert from_base64.payload == {"id": "a"}
    wrapped = PoisonMessage("m2", None, 1, encoded[:8] + "\r\n" + encoded[8:])
    assert replay_text(wrapped) == wrapped.raw
    assert wrapped.payload == {"id": "a"}
    plain = PoisonMessage("m3", None, 1, '{"id": "b"}')
    assert replay_text(plain) == encode_message_text('{"id": "b"}')
    assert (plain.data, plain.text, plain.payload) == (None, None, None)


def test_binary_base64_is_told_apart_from_raw_text_and_replayed_unchanged() -> None:
    binary = PoisonMessage("m4", None, 1, BINARY)
    assert binary.data == b"\xff\xfe\x00binary"
    assert (binary.text, binary.payload) == (None, None)
    assert replay_text(binary) == BINARY


def test_parse_event_accepts_events_and_explains_the_rest() -> None:
    event = {
        "id": "r1",
        "channel": "sms",
        "status": "delivered",
        "twilio_sid": "SM" + "0" * 32,
        "at": "2026-11-28T23:00:00Z",
        "sequence": 3,
    }
    good = parse_event("m1", None, encode_message_text(json.dumps(event)))
    assert good.event is not None
    assert (good.event.id, good.event.status, good.event.sequence) == ("r1", "delivered", 3)
    not_base64 = parse_event("m2", None, json.dumps(event))
    assert not_base64.event is None
    assert not_base64.problem == "not base64 of UTF-8 text"
    not_event = parse_event("m3", None, encode_message_text('{"id": "r1"}'))
    assert not_event.event is None
    assert not_event.problem is not None
    assert "not a delivery event" in not_event.problem
