"""The HTTP trigger server: keys, request conversion and responses, on requests built in memory
(aiohttp's `make_mocked_request`: no socket) and a fake invoker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from emulators.functions_host.function_metadata import Binding, FunctionSpec
from emulators.functions_host.http_routes import HttpRoute, build_route
from emulators.functions_host.http_server import (
    HttpTriggerServer,
    accepted_keys,
    is_authorized,
    request_data,
    to_response,
)
from emulators.functions_host.rpc_values import HttpRequestData, HttpResponseData, Text
from emulators.functions_host.runtime_driver import InvocationOutcome
from emulators.functions_host.settings_loader import LocalSettings
from tests.fakes.function_invoker import ScriptedInvoker

KEYS = LocalSettings(
    function_keys={"hook": "fn-key", "default": "host-key", "other": "other-key"},
    master_key="master-key",
)


def route(
    auth: str = "function", name: str = "hook", out: str = "$return", **raw: Any
) -> HttpRoute:
    trigger = Binding("req", "httpTrigger", "in", None, {"authLevel": auth, **raw})
    output = Binding(out, "http", "out", None, {})
    spec = FunctionSpec(name, Path(f"/app/{name}"), Path(f"/app/{name}/__init__.py"), "main",
                        (trigger, output), False)  # fmt: skip
    return build_route(spec, "api")


def test_function_routes_open_with_their_key_a_host_key_or_the_master_key() -> None:
    assert accepted_keys(route(), KEYS) == ["fn-key", "host-key", "master-key"]
    for key in ("fn-key", "host-key", "master-key"):
        assert is_authorized(route(), KEYS, key)
    assert not is_authorized(route(), KEYS, "other-key")
    assert not is_authorized(route(), KEYS, None)
    assert not is_authorized(route(), KEYS, "")


def test_admin_routes_open_with_the_master_key_only() -> None:
    assert accepted_keys(route("admin"), KEYS) == ["master-key"]
    assert not is_authorized(route("admin"), KEYS, "fn-key")
    assert is_authorized(route("admin"), KEYS, "master-key")


def test_anonymous_routes_need_no_key() -> None:
    assert is_authorized(route("anonymous"), LocalSettings(), None)


def test_without_configured_keys_nothing_opens_a_keyed_route() -> None:
    assert accepted_keys(route(), LocalSettings()) == []
    assert not is_authorized(route(), LocalSettings(), "anything")


class Body:
    """A request payload that hands out its bytes in chunks, as a socket would."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = [*chunks, b""]

    def set_read_chunk_size(self, size: int) -> None:
        pass

    async def readany(self) -> bytes:
        return self.chunks.pop(0)


def request(
    method: str, path: str, headers: list[tuple[str, str]] | None = None, body: Body | None = None
) -> web.Request:
    return make_mocked_request(
        method,
        path,
        headers=CIMultiDict([("Host", "127.0.0.1:7071"), *(headers or [])]),
        payload=body or Body(),  # type: ignore[arg-type]
    )


async def test_the_request_is_converted_as_the_host_converts_it() -> None:
    incoming = request(
        "POST",
        "/api/hook/42?a=1&a=2&empty=&B=x%20y",
        headers=[("X-Twilio-Signature", "sig"), ("Accept", "a"), ("accept", "b")],
        body=Body(b"MessageSid=SM1", b"&MessageStatus=sent"),
    )
    data = await request_data(incoming, {"id": "42"})
    assert data == HttpRequestData(
        method="POST",
        url="http://127.0.0.1:7071/api/hook/42?a=1&a=2&empty=&B=x%20y",
        headers={"host": "127.0.0.1:7071", "x-twilio-signature": "sig", "accept": "a,b"},
        query={"a": "1,2", "B": "x y"},
        params={"id": "42"},
        body=b"MessageSid=SM1&MessageStatus=sent",
    )


def test_the_response_keeps_status_headers_cookies_and_body() -> None:
    response = to_response(
        HttpResponseData(
            201, {"Content-Type": "text/xml", "X-A": "1"}, b"<Response/>", ("a=1", "b=2")
        )
    )
    assert response.status == 201
    assert response.content_type == "text/xml"
    assert response.headers["X-A"] == "1"
    assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]
    assert response.body == b"<Response/>"


OK = InvocationOutcome(True, return_value=HttpResponseData(200, {}, b"hi"))


async def serve(
    incoming: web.Request,
    outcome: InvocationOutcome = OK,
    routes: list[HttpRoute] | None = None,
) -> tuple[web.StreamResponse, ScriptedInvoker]:
    invoker = ScriptedInvoker(outcome)
    server = HttpTriggerServer(routes or [route(route="hook/{id}")], invoker, KEYS)
    return await server._handle(incoming), invoker


async def test_a_keyed_request_invokes_the_function_and_returns_its_response() -> None:
    response, invoker = await serve(request("POST", "/api/hook/7?code=fn-key"))
    assert (response.status, response.body) == (200, b"hi")  # type: ignore[attr-defined]
    ((name, reason, inputs, _, _),) = invoker.calls
    assert name == "hook"
    assert reason == "This function was programmatically called via the host APIs."
    data = inputs["req"]
    assert isinstance(data, HttpRequestData)
    assert data.params == {"id": "7"}


async def test_the_key_may_come_in_the_header() -> None:
    response, _ = await serve(request("GET", "/api/hook/7", [("x-functions-key", "host-key")]))
    assert response.status == 200


async def test_a_wrong_or_missing_key_is_401_without_an_invocation() -> None:
    for incoming in (request("GET", "/api/hook/7?code=nope"), request("GET", "/api/hook/7")):
        response, invoker = await serve(incoming)
        assert response.status == 401
        assert invoker.calls == []


async def test_an_unknown_path_or_method_is_404() -> None:
    only_get = route("anonymous", route="hook/{id}", methods=["get"])
    for incoming in (request("GET", "/api/other"), request("POST", "/api/hook/1")):
        response, invoker = await serve(incoming, routes=[only_get])
        assert response.status == 404
        assert invoker.calls == []


async def test_the_first_route_that_matches_path_and_method_wins() -> None:
    post = route("anonymous", name="poster", route="hook/{id}", methods=["post"])
    get = route("anonymous", name="getter", route="hook/{id}", methods=["get"])
    _, invoker = await serve(request("GET", "/api/hook/1"), routes=[post, get])
    assert invoker.calls[0][0] == "getter"


async def test_a_failed_function_is_500() -> None:
    response, _ = await serve(request("GET", "/api/hook/1?code=fn-key"), InvocationOutcome(False))
    assert response.status == 500


async def test_a_named_http_output_is_the_response() -> None:
    named = route("anonymous", out="res", route="hook/{id}")
    outcome = InvocationOutcome(True, outputs={"res": HttpResponseData(202)})
    response, _ = await serve(request("GET", "/api/hook/1"), outcome, routes=[named])
    assert response.status == 202


async def test_no_http_response_set_is_204_and_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcome = InvocationOutcome(True, return_value=Text("not http"))
    response, _ = await serve(request("GET", "/api/hook/1?code=fn-key"), outcome)
    assert response.status == 204
    assert "Function 'hook' set no HTTP response" in capsys.readouterr().out


def test_the_application_routes_every_path_to_the_handler() -> None:
    app = HttpTriggerServer([], ScriptedInvoker(OK), KEYS).application()
    resources = list(app.router.resources())
    assert len(resources) == 1
    assert resources[0].canonical == "/{tail}"
    assert app._client_max_size == 100 * 1024 * 1024
