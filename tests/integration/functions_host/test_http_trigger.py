"""HTTP triggers through the host: request conversion, response, routes, methods and keys."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=30)


async def test_get_passes_url_query_and_headers(sample_host: Any) -> None:
    url = f"{sample_host.host.base_url}/api/http_echo?name=Ada&empty=&name2=x"
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        session.get(url, headers={"X-Custom-Header": "Value-1"}) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers["X-Echo"] == "yes"
        seen = json.loads(await response.text())
    assert seen["method"] == "GET"
    assert seen["url"] == url
    assert seen["params"] == {"name": "Ada", "name2": "x"}  # the host drops empty values
    assert seen["headers"]["x-custom-header"] == "Value-1"
    assert seen["body"] == ""


async def test_post_body_and_status_come_back(sample_host: Any) -> None:
    url = f"{sample_host.host.base_url}/api/http_echo?status=202"
    form = "CallSid=CA123&Digits=42"
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        session.post(
            url, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        ) as response,
    ):
        assert response.status == 202
        seen = json.loads(await response.text())
    assert seen["method"] == "POST"
    assert seen["body"] == form
    assert seen["headers"]["content-type"] == "application/x-www-form-urlencoded"


async def test_methods_and_routes(sample_host: Any) -> None:
    base = sample_host.host.base_url
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.put(f"{base}/api/http_echo") as response:
            assert response.status == 404  # function.json allows GET and POST only
        async with session.get(f"{base}/api/nothing_here") as response:
            assert response.status == 404
        async with session.get(f"{base}/api/items/42") as response:
            assert response.status == 200
            assert json.loads(await response.text())["route_params"] == {"id": "42"}
        async with session.get(f"{base}/api/items/abc") as response:
            assert response.status == 404  # {id:int} does not match


async def test_function_level_auth_needs_a_key(sample_host: Any, host_tools: Any) -> None:
    url = f"{sample_host.host.base_url}/api/http_keyed"
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.get(url) as response:
            assert response.status == 401
        async with session.get(url, params={"code": "wrong"}) as response:
            assert response.status == 401
        async with session.get(url, params={"code": "function-key"}) as response:
            assert response.status == 200
        async with session.get(url, headers={"x-functions-key": "host-key"}) as response:
            assert response.status == 200
    host_tools.wait_until(
        lambda: (
            "Executed 'Functions.http_keyed' (Succeeded, Id=" in sample_host.host.service.tail(400)
        ),
        "the keyed invocation in the host log",
    )


async def test_cookies_mimetype_and_failures(sample_host: Any, host_tools: Any) -> None:
    url = f"{sample_host.host.base_url}/api/http_extras"
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("application/xml")
            assert await response.text() == "<Response/>"
            cookie = response.headers["Set-Cookie"]
        async with session.get(url, params={"fail": "1"}) as response:
            assert response.status == 500
    assert cookie.startswith("session=abc")
    assert "Path=/" in cookie
    assert "HttpOnly" in cookie
    # The host answers before it logs the invocation's outcome.
    output = host_tools.wait_until(
        lambda: (out := sample_host.host.service.tail(400)) and "asked to fail" in out and out,
        "the failed invocation in the host log",
    )
    assert "Executed 'Functions.http_extras' (Failed, Id=" in output
    assert "Exception: ValueError: asked to fail" in output
