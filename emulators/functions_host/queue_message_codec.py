"""Queue message bodies as the Storage Queues extension reads and writes them.

`messageEncoding: base64` (the default) decodes like .NET's `Convert.FromBase64String`:
standard alphabet, padding required, whitespace ignored. A message that does not decode is
"undecodable" and goes straight to the poison queue without invoking the function.
"""

from __future__ import annotations

import base64
import binascii
import re

from emulators.functions_host.rpc_values import Binary, Text

_WHITESPACE = re.compile(r"[ \t\r\n]")


class UndecodableMessageError(ValueError):
    """A message whose text is not valid for the configured encoding."""


def decode_message(text: str, encoding: str) -> bytes:
    """The message body bytes from the queue text, per host.json `messageEncoding`."""
    if encoding == "none":
        return text.encode("utf-8")
    try:
        return base64.b64decode(_WHITESPACE.sub("", text), validate=True)
    except (binascii.Error, ValueError) as error:
        raise UndecodableMessageError(f"not valid base64: {error}") from error


def encode_message(body: bytes, encoding: str) -> str:
    """The queue text for a message body (used by queue output bindings)."""
    if encoding == "none":
        return body.decode("utf-8")
    return base64.b64encode(body).decode("ascii")


def trigger_value(body: bytes, data_type: str | None) -> Text | Binary:
    """What the host hands the worker: bytes for `dataType: binary`, else UTF-8 text.

    Invalid UTF-8 becomes U+FFFD, as .NET's `BinaryData.ToString()` does.
    """
    if data_type == "binary":
        return Binary(body)
    return Text(body.decode("utf-8", errors="replace"))
