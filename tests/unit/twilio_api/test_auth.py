"""Basic auth like Twilio's (account, API keys, test credentials) and the loopback-only guard."""

from __future__ import annotations

import base64

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from emulators.twilio_api import auth
from emulators.twilio_api.app import create_app
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.errors import TwilioError

ACCOUNT = "AC" + "1" * 32
TOKEN = "token-1"
TEST_ACCOUNT = "AC" + "2" * 32
TEST_TOKEN = "token-2"
KEY, SECRET = "SK" + "3" * 32, "secret-3"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
TEST_MESSAGES = f"/2010-04-01/Accounts/{TEST_ACCOUNT}/Messages.json"

APP = create_app(
    EmulatorConfig(
        account_sid=ACCOUNT,
        auth_token=TOKEN,
        test_account_sid=TEST_ACCOUNT,
        test_auth_token=TEST_TOKEN,
        api_keys={KEY: SECRET},
    )
)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def passes(
    method: str, path: str, authorization: str | None = None, remote: str = "127.0.0.1"
) -> web.Request:
    """Run the middleware; answer the request the handler saw (raises what the middleware does)."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    request = make_mocked_request(method, path, headers=headers, app=APP)
    request = request.clone(remote=remote)
    seen: list[web.Request] = []

    async def handler(inner: web.Request) -> web.StreamResponse:
        seen.append(inner)
        return web.Response()

    await auth.auth_middleware(request, handler)
    return seen[0]


async def code_of(method: str, path: str, authorization: str | None) -> tuple[int, int]:
    with pytest.raises(TwilioError) as caught:
        await passes(method, path, authorization)
    return caught.value.status, caught.value.code


async def test_account_sid_and_token_open_the_api() -> None:
    request = await passes("GET", MESSAGES, basic(ACCOUNT, TOKEN))
    assert not auth.uses_test_credentials(request)


async def test_an_api_key_opens_the_api() -> None:
    await passes("POST", MESSAGES, basic(KEY, SECRET))


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer abc",
        "Basic",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        basic(ACCOUNT, "wrong"),
        basic(KEY, TOKEN),
        basic("AC" + "9" * 32, TOKEN),
        basic(TEST_ACCOUNT, TOKEN),
    ],
)
async def test_missing_or_wrong_credentials_are_401_20003(authorization: str | None) -> None:
    with pytest.raises(TwilioError) as caught:
        await passes("GET", MESSAGES, authorization)
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert caught.value.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'


async def test_valid_credentials_for_another_account_in_the_path_are_401() -> None:
    assert await code_of("GET", TEST_MESSAGES, basic(ACCOUNT, TOKEN)) == (401, 20003)


async def test_test_credentials_create_and_are_marked() -> None:
    request = await passes("POST", TEST_MESSAGES, basic(TEST_ACCOUNT, TEST_TOKEN))
    assert auth.uses_test_credentials(request)
    calls = f"/2010-04-01/Accounts/{TEST_ACCOUNT}/Calls.json"
    assert auth.uses_test_credentials(await passes("POST", calls, basic(TEST_ACCOUNT, TEST_TOKEN)))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", TEST_MESSAGES),
        ("POST", f"/2010-04-01/Accounts/{TEST_ACCOUNT}/Messages/SM{'0' * 32}.json"),
        ("POST", f"/2010-04-01/Accounts/{TEST_ACCOUNT}/Recordings.json"),
    ],
)
async def test_test_credentials_open_only_creates(method: str, path: str) -> None:
    assert await code_of(method, path, basic(TEST_ACCOUNT, TEST_TOKEN)) == (403, 20008)


async def test_inspection_routes_need_no_credentials_from_loopback() -> None:
    await passes("GET", "/_emulator/messages", None, remote="127.0.0.1")
    await passes("GET", "/_emulator/messages", None, remote="::1")


@pytest.mark.parametrize("remote", ["10.0.0.5", "not-an-ip"])
async def test_inspection_routes_refuse_other_peers(remote: str) -> None:
    with pytest.raises(TwilioError) as caught:
        await passes("GET", "/_emulator/messages", None, remote=remote)
    assert (caught.value.status, caught.value.code) == (403, 20403)


def test_is_inspection() -> None:
    assert auth.is_inspection("/_emulator/reset")
    assert not auth.is_inspection("/_emulator")
    assert not auth.is_inspection(MESSAGES)
