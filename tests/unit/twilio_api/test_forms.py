"""The form reader: string fields only, repeated keys kept."""

from __future__ import annotations

from aiohttp import FormData

from emulators.twilio_api.forms import read_form
from tests.fakes.aiohttp_requests import body_request, form_request


async def test_urlencoded_fields_keep_repeats() -> None:
    form = await read_form(
        form_request("POST", "/", [("To", "+1555"), ("MediaUrl", "a"), ("MediaUrl", "b")])
    )
    assert form["To"] == "+1555"
    assert form.getall("MediaUrl") == ["a", "b"]


async def test_file_uploads_are_dropped() -> None:
    data = FormData()
    data.add_field("Body", "hello")
    data.add_field("upload", b"\x00\x01", filename="x.bin", content_type="application/octet-stream")
    writer = data()
    chunks: list[bytes] = []

    class Sink:
        async def write(self, chunk: bytes) -> None:
            chunks.append(bytes(chunk))

    await writer.write(Sink())  # type: ignore[arg-type]
    form = await read_form(body_request("POST", "/", b"".join(chunks), writer.content_type))
    assert dict(form) == {"Body": "hello"}
