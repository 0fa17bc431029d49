"""Typed stand-ins for the RPC `TypedData` values, and their conversion to and from protobuf.

The generated protobuf classes are untyped; everything outside this module and the runtime
driver works with these dataclasses instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Text:
    """TypedData `string`."""

    value: str


@dataclass(frozen=True)
class Binary:
    """TypedData `bytes`."""

    value: bytes


@dataclass(frozen=True)
class Json:
    """TypedData `json`: the JSON text, as the host serialises metadata and outputs."""

    text: str

    @classmethod
    def of(cls, value: object) -> Json:
        """Serialise a Python value."""
        return cls(json.dumps(value))


@dataclass(frozen=True)
class HttpRequestData:
    """TypedData `http` going to the function (host sends the raw body bytes only)."""

    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    params: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class HttpResponseData:
    """TypedData `http` coming back from the function."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    cookies: tuple[str, ...] = ()  # Set-Cookie header values


RpcValue = Text | Binary | Json | HttpRequestData | HttpResponseData


def to_typed_data(value: RpcValue, protos: Any) -> Any:
    """Build the protobuf `TypedData` for a value."""
    match value:
        case Text(text):
            return protos.TypedData(string=text)
        case Binary(data):
            return protos.TypedData(bytes=data)
        case Json(text):
            return protos.TypedData(json=text)
        case HttpRequestData():
            return protos.TypedData(
                http=protos.RpcHttp(
                    method=value.method,
                    url=value.url,
                    headers=value.headers,
                    query=value.query,
                    params=value.params,
                    body=protos.TypedData(bytes=value.body),
                )
            )
        case HttpResponseData():
            raise TypeError("the host never sends an HTTP response to the worker")


def _body_bytes(typed: Any) -> bytes:
    kind = typed.WhichOneof("data")
    if kind is None:
        return b""
    if kind == "bytes":
        return bytes(typed.bytes)
    if kind in ("string", "json"):
        return str(getattr(typed, kind)).encode("utf-8")
    if kind in ("int", "double"):
        return str(getattr(typed, kind)).encode("utf-8")
    raise ValueError(f"unsupported HTTP response body kind {kind!r}")


_SAME_SITE = {1: "Lax", 2: "Strict", 3: "None"}


def set_cookie_header(cookie: Any) -> str:
    """A `Set-Cookie` value from an `RpcHttpCookie` (the runtime moves cookies there)."""
    parts = [f"{cookie.name}={cookie.value}"]
    if cookie.HasField("domain") and cookie.domain.value:
        parts.append(f"Domain={cookie.domain.value}")
    if cookie.HasField("path") and cookie.path.value:
        parts.append(f"Path={cookie.path.value}")
    if cookie.HasField("expires") and cookie.expires.HasField("value"):
        expires = cookie.expires.value.ToDatetime()
        parts.append(f"Expires={expires.strftime('%a, %d %b %Y %H:%M:%S GMT')}")
    if cookie.HasField("max_age") and cookie.max_age.value:
        parts.append(f"Max-Age={int(cookie.max_age.value)}")
    if cookie.HasField("secure") and cookie.secure.value:
        parts.append("Secure")
    if cookie.HasField("http_only") and cookie.http_only.value:
        parts.append("HttpOnly")
    if cookie.same_site in _SAME_SITE:
        parts.append(f"SameSite={_SAME_SITE[cookie.same_site]}")
    return "; ".join(parts)


def from_typed_data(typed: Any) -> RpcValue | None:
    """Convert a protobuf `TypedData` returned by the worker; None when it is empty."""
    kind = typed.WhichOneof("data")
    if kind is None:
        return None
    if kind == "string":
        return Text(str(typed.string))
    if kind == "bytes":
        return Binary(bytes(typed.bytes))
    if kind == "json":
        return Json(str(typed.json))
    if kind in ("int", "double"):
        return Json(json.dumps(getattr(typed, kind)))
    if kind == "http":
        http = typed.http
        # The worker sends the status code as a string; an empty one means 200.
        status = int(http.status_code) if http.status_code else 200
        return HttpResponseData(
            status=status,
            headers={str(k): str(v) for k, v in http.headers.items()},
            body=_body_bytes(http.body),
            cookies=tuple(set_cookie_header(cookie) for cookie in http.cookies),
        )
    raise ValueError(f"unsupported TypedData kind {kind!r} returned by the worker")
