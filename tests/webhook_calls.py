"""Calling an HTTP function's `async def main` from a synchronous test, as the worker would, with
requests signed the way Twilio signs them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import azure.functions as func
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict


def call_webhook(
    main: Callable[[func.HttpRequest], Coroutine[Any, Any, func.HttpResponse]],
    req: func.HttpRequest,
) -> func.HttpResponse:
    """`main(req)` run to its response on an event loop of its own."""
    return asyncio.run(main(req))


def host_params(raw_query: str) -> dict[str, str]:
    """`req.params` as the Functions host fills it: blank values dropped, repeats joined."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(raw_query):
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def signed_request(
    method: str,
    public_url: str,
    fields: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    *,
    token: str,
    worker_url: str | None = None,
    signature: str | None = None,
    body: bytes | None = None,
) -> func.HttpRequest:
    """A request as the worker sees it at `worker_url` (default `public_url`), signed with `token`
    the way Twilio signs `public_url` and, for POST, `fields` (unless `signature` is given; ""
    sends none). `body` replaces the encoded fields."""
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields or [])
    if signature is None:
        signed_params = MultiDict(pairs) if method == "POST" else {}
        signature = RequestValidator(token).compute_signature(public_url, signed_params)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature:
        headers["X-Twilio-Signature"] = signature
    seen = worker_url or public_url
    return func.HttpRequest(
        method=method,
        url=seen,
        headers=headers,
        params=host_params(urlsplit(seen).query),
        body=urlencode(pairs).encode() if body is None else body,
    )
