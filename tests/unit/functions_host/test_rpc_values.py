"""The typed RPC values and their conversion to and from the runtime's protobuf `TypedData`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from emulators.functions_host.rpc_protos import load_protos
from emulators.functions_host.rpc_values import (
    Binary,
    HttpRequestData,
    HttpResponseData,
    Json,
    RpcValue,
    Text,
    from_typed_data,
    set_cookie_header,
    to_typed_data,
)

P: Any = load_protos()


def test_json_of_serialises_the_value() -> None:
    assert json.loads(Json.of({"a": [1, "b"]}).text) == {"a": [1, "b"]}


@pytest.mark.parametrize(
    ("value", "kind", "field_value"),
    [
        (Text("héllo"), "string", "héllo"),
        (Binary(b"\x00\xff"), "bytes", b"\x00\xff"),
        (Json('{"a":1}'), "json", '{"a":1}'),
    ],
)
def test_scalar_values_round_trip(value: RpcValue, kind: str, field_value: object) -> None:
    typed = to_typed_data(value, P)
    assert typed.WhichOneof("data") == kind
    assert getattr(typed, kind) == field_value
    assert from_typed_data(typed) == value


def test_an_http_request_carries_everything_and_its_body_as_bytes() -> None:
    request = HttpRequestData(
        method="POST",
        url="http://127.0.0.1:7071/api/status_callback?x=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
        query={"x": "1"},
        params={"id": "abc"},
        body=b"MessageStatus=sent",
    )
    http = to_typed_data(request, P).http
    assert (http.method, http.url) == ("POST", request.url)
    assert dict(http.headers) == request.headers
    assert dict(http.query) == {"x": "1"}
    assert dict(http.params) == {"id": "abc"}
    assert http.body.WhichOneof("data") == "bytes"
    assert http.body.bytes == b"MessageStatus=sent"


def test_the_host_never_sends_a_response() -> None:
    with pytest.raises(TypeError, match="never sends an HTTP response"):
        to_typed_data(HttpResponseData(200), P)


def test_an_empty_typed_data_is_none() -> None:
    assert from_typed_data(P.TypedData()) is None


@pytest.mark.parametrize(("kind", "number"), [("int", 42), ("double", 1.5)])
def test_numbers_come_back_as_json(kind: str, number: float) -> None:
    assert from_typed_data(P.TypedData(**{kind: number})) == Json(json.dumps(number))


def test_an_unsupported_kind_is_an_error() -> None:
    typed = P.TypedData(collection_string=P.CollectionString(string=["a"]))
    with pytest.raises(ValueError, match="unsupported TypedData kind 'collection_string'"):
        from_typed_data(typed)


def response(**http: Any) -> RpcValue | None:
    return from_typed_data(P.TypedData(http=P.RpcHttp(**http)))


def test_an_http_response_without_status_is_200_with_empty_body() -> None:
    assert response() == HttpResponseData(status=200, headers={}, body=b"", cookies=())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (P.TypedData(bytes=b"\x01raw"), b"\x01raw"),
        (P.TypedData(string="<Response/>"), b"<Response/>"),
        (P.TypedData(json='{"ok":true}'), b'{"ok":true}'),
        (P.TypedData(int=7), b"7"),
    ],
)
def test_an_http_response_body_becomes_bytes(body: Any, expected: bytes) -> None:
    value = response(status_code="201", headers={"Content-Type": "text/xml"}, body=body)
    assert value == HttpResponseData(201, {"Content-Type": "text/xml"}, expected)


def test_an_unsupported_response_body_is_an_error() -> None:
    body = P.TypedData(collection_bytes=P.CollectionBytes(bytes=[b"a"]))
    with pytest.raises(ValueError, match="unsupported HTTP response body kind"):
        response(body=body)


def test_a_bare_cookie_is_name_and_value() -> None:
    assert set_cookie_header(P.RpcHttpCookie(name="session", value="abc")) == "session=abc"


def test_a_full_cookie_lists_every_attribute_in_order() -> None:
    expires = P.NullableTimestamp()
    expires.value.FromDatetime(datetime(2026, 12, 1, 8, 30, 5, tzinfo=UTC))
    cookie = P.RpcHttpCookie(
        name="s",
        value="v",
        domain=P.NullableString(value="example.com"),
        path=P.NullableString(value="/api"),
        expires=expires,
        max_age=P.NullableDouble(value=3600.0),
        secure=P.NullableBool(value=True),
        http_only=P.NullableBool(value=True),
        same_site=2,
    )
    assert set_cookie_header(cookie) == (
        "s=v; Domain=example.com; Path=/api; Expires=Tue, 01 Dec 2026 08:30:05 GMT; "
        "Max-Age=3600; Secure; HttpOnly; SameSite=Strict"
    )


def test_false_and_empty_cookie_attributes_are_left_out() -> None:
    cookie = P.RpcHttpCookie(
        name="s",
        value="v",
        domain=P.NullableString(value=""),
        secure=P.NullableBool(value=False),
        http_only=P.NullableBool(value=False),
        same_site=0,
    )
    assert set_cookie_header(cookie) == "s=v"


def test_response_cookies_become_set_cookie_values() -> None:
    cookies = [P.RpcHttpCookie(name="a", value="1"), P.RpcHttpCookie(name="b", value="2")]
    value = response(cookies=cookies)
    assert isinstance(value, HttpResponseData)
    assert value.cookies == ("a=1", "b=2")
