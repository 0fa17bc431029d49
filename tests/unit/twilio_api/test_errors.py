"""Twilio's JSON error bodies and the middleware that answers every failure in that shape."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from emulators.twilio_api.errors import (
    TwilioError,
    error_middleware,
    internal_error,
    invalid_from,
    invalid_to,
    more_info,
    not_found,
    too_many_requests,
)


def body_of(response: web.StreamResponse) -> dict[str, object]:
    assert isinstance(response, web.Response)
    assert response.text is not None
    result: dict[str, object] = json.loads(response.text)
    return result


def test_body_has_twilios_four_fields() -> None:
    error = TwilioError(400, 21211, "bad To")
    assert error.body() == {
        "code": 21211,
        "message": "bad To",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }


def test_response_carries_status_headers_and_json() -> None:
    response = TwilioError(401, 20003, "Authenticate", headers={"WWW-Authenticate": "x"}).response()
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == "x"
    assert response.content_type == "application/json"
    assert body_of(response)["code"] == 20003


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (invalid_to("+1"), 400, 21211),
        (invalid_from("x"), 400, 21212),
        (not_found("/p"), 404, 20404),
        (too_many_requests(), 429, 20429),
        (internal_error(), 500, 20500),
    ],
)
def test_helpers_use_twilios_codes(error: TwilioError, status: int, code: int) -> None:
    assert (error.status, error.code) == (status, code)


def test_messages_name_the_offending_value() -> None:
    assert "+123" in invalid_to("+123").message
    assert "abc" in invalid_from("abc").message
    assert "/2010-04-01/x.json" in not_found("/2010-04-01/x.json").message
    assert more_info(20404).endswith("/20404")


async def run(raised: BaseException) -> web.StreamResponse:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise raised

    return await error_middleware(make_mocked_request("GET", "/nowhere.json"), handler)


async def test_middleware_answers_twilio_errors_as_is() -> None:
    response = await run(TwilioError(400, 21604, "no To"))
    assert (response.status, body_of(response)["code"]) == (400, 21604)


async def test_middleware_maps_unknown_routes_to_20404_with_the_path() -> None:
    response = await run(web.HTTPNotFound())
    body = body_of(response)
    assert (response.status, body["code"]) == (404, 20404)
    assert "/nowhere.json" in str(body["message"])


async def test_middleware_maps_wrong_methods_to_20004() -> None:
    response = await run(web.HTTPMethodNotAllowed("PUT", ["GET"]))
    assert (response.status, body_of(response)["code"]) == (405, 20004)


async def test_middleware_keeps_other_http_errors_status() -> None:
    response = await run(web.HTTPRequestEntityTooLarge(10, 20))
    assert (response.status, body_of(response)["code"]) == (413, 413)


async def test_middleware_lets_redirects_through() -> None:
    with pytest.raises(web.HTTPFound):
        await run(web.HTTPFound("/elsewhere"))


async def test_middleware_turns_crashes_into_20500() -> None:
    response = await run(KeyError("bug"))
    assert (response.status, body_of(response)["code"]) == (500, 20500)


async def test_middleware_passes_good_answers_through() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    response = await error_middleware(make_mocked_request("GET", "/"), handler)
    assert response.status == 200
