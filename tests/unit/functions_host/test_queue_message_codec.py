"""Queue message decoding as the Storage Queues extension does it (base64 / none)."""

from __future__ import annotations

import base64

import pytest

from emulators.functions_host.queue_message_codec import (
    UndecodableMessageError,
    decode_message,
    encode_message,
    trigger_value,
)
from emulators.functions_host.rpc_values import Binary, Text


def test_base64_round_trip_of_utf8_json() -> None:
    body = '{"to": "+15550001111", "body": "héllo"}'.encode()
    text = encode_message(body, "base64")
    assert text == base64.b64encode(body).decode()
    assert decode_message(text, "base64") == body


def test_base64_ignores_whitespace_like_dotnet() -> None:
    assert decode_message("aGVs\r\nbG8=\n", "base64") == b"hello"


@pytest.mark.parametrize(
    "text",
    [
        '{"to": "+1"}',  # plain JSON: what the SDK sends without an encode policy
        "aGVsbG8",  # missing padding
        "aGVs*G8=",  # character outside the alphabet
        "not base64!",
    ],
)
def test_undecodable_base64(text: str) -> None:
    with pytest.raises(UndecodableMessageError):
        decode_message(text, "base64")


def test_plain_text_that_happens_to_be_base64_decodes_to_garbage() -> None:
    assert decode_message("abcd", "base64") == base64.b64decode("abcd")


def test_encoding_none_passes_text_through() -> None:
    assert decode_message('{"a": 1}', "none") == b'{"a": 1}'
    assert encode_message(b'{"a": 1}', "none") == '{"a": 1}'


def test_trigger_value_is_text_unless_binary() -> None:
    assert trigger_value("é".encode(), None) == Text("é")
    assert trigger_value(b"\xff", None) == Text("\ufffd")
    assert trigger_value(b"\xff", "binary") == Binary(b"\xff")
