"""aiohttp requests for calling handlers and middlewares directly, without serving an app:
`make_mocked_request` with a real `StreamReader` body, so `request.post()` and `request.json()`
read what a client would have sent."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict


class _Protocol:
    """The little of a connection's protocol a `StreamReader` touches."""

    _reading_paused = False

    def pause_reading(self, resume_parser: bool = True) -> None: ...

    def resume_reading(self, resume_parser: bool = True) -> None: ...


def body_request(
    method: str,
    path: str,
    body: bytes,
    content_type: str,
    *,
    app: web.Application | None = None,
    match_info: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Request:
    """A request to `path` carrying `body` (of `content_type`)."""
    all_headers = CIMultiDict({"Content-Type": content_type, "Content-Length": str(len(body))})
    all_headers.update(headers or {})
    payload = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
    payload.feed_data(body)
    payload.feed_eof()
    return make_mocked_request(
        method,
        path,
        headers=all_headers,
        payload=payload,
        app=app,
        match_info=match_info or {},
    )


def form_request(
    method: str,
    path: str,
    fields: list[tuple[str, str]] | dict[str, str] | None = None,
    **kwargs: Any,
) -> web.Request:
    """A request with an `application/x-www-form-urlencoded` body, as the twilio client sends."""
    body = urlencode(list(fields.items()) if isinstance(fields, dict) else fields or []).encode()
    return body_request(method, path, body, "application/x-www-form-urlencoded", **kwargs)


def json_request(method: str, path: str, data: Any, **kwargs: Any) -> web.Request:
    """A request with a JSON body."""
    return body_request(method, path, json.dumps(data).encode(), "application/json", **kwargs)


def json_body(response: web.StreamResponse) -> Any:
    """The JSON a handler answered."""
    assert isinstance(response, web.Response)
    assert response.text is not None
    return json.loads(response.text)
