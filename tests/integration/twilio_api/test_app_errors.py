"""The error middleware over real HTTP: crashes and bad methods still answer in Twilio's shape."""

from __future__ import annotations

import base64

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from emulators.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from emulators.twilio_api.app import create_app
from emulators.twilio_api.config import EmulatorConfig

AUTH = "Basic " + base64.b64encode(f"{DEFAULT_ACCOUNT_SID}:{DEFAULT_AUTH_TOKEN}".encode()).decode()


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("unexpected")


async def test_unhandled_error_is_a_twilio_500() -> None:
    app = create_app(EmulatorConfig(speed=100))
    app.router.add_get("/2010-04-01/Accounts/{account_sid}/Boom.json", _boom)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
        url = server.make_url(f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Boom.json")
        async with http.get(url, headers={"Authorization": AUTH}) as answer:
            assert answer.status == 500
            assert await answer.json() == {
                "code": 20500,
                "message": "Internal Server Error",
                "more_info": "https://www.twilio.com/docs/errors/20500",
                "status": 500,
            }


async def test_wrong_method_is_a_twilio_405() -> None:
    async with (
        TestServer(create_app(EmulatorConfig(speed=100)), host="127.0.0.1") as server,
        aiohttp.ClientSession() as http,
    ):
        url = server.make_url(f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json")
        async with http.put(url, headers={"Authorization": AUTH}) as answer:
            assert answer.status == 405
            body = await answer.json()
            assert body["status"] == 405
            assert set(body) == {"code", "message", "more_info", "status"}
