"""The fault middleware: concurrency limit, 429 and 500 before processing, slow after it."""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from emulators.twilio_api.app import create_app
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.context import EMULATOR
from emulators.twilio_api.errors import TwilioError
from emulators.twilio_api.fault_middleware import fault_middleware
from emulators.twilio_api.faults import FaultRule, FaultSettings

PATH = "/2010-04-01/Accounts/AC1/Messages.json"


class Handler:
    """Counts the requests that reached the handler and what was in flight meanwhile."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.calls = 0
        self.in_flight_seen: list[int] = []

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.calls += 1
        self.in_flight_seen.append(self.app[EMULATOR].faults.in_flight)
        return web.Response(text="done")


def app_with(**settings: object) -> web.Application:
    return create_app(EmulatorConfig(faults=FaultSettings(**settings)))  # type: ignore[arg-type]


async def run(app: web.Application, path: str = PATH) -> tuple[Handler, int | TwilioError]:
    handler = Handler(app)
    try:
        response = await fault_middleware(make_mocked_request("POST", path, app=app), handler)
    except TwilioError as error:
        return handler, error
    return handler, response.status


async def test_without_faults_the_request_is_processed_and_counted_in_flight() -> None:
    app = app_with()
    handler, result = await run(app)
    assert result == 200
    assert handler.in_flight_seen == [1]
    assert app[EMULATOR].faults.in_flight == 0


@pytest.mark.parametrize(("switch", "code"), [("error_429", 20429), ("error_500", 20500)])
async def test_error_faults_refuse_before_processing(switch: str, code: int) -> None:
    app = app_with(**{switch: FaultRule(rate=1.0, count=1)})
    handler, result = await run(app)
    assert isinstance(result, TwilioError)
    assert result.code == code
    assert handler.calls == 0
    assert app[EMULATOR].faults.in_flight == 0
    _, second = await run(app)
    assert second == 200


async def test_the_concurrency_limit_refuses_with_429() -> None:
    app = app_with(concurrency_limit=1)
    app[EMULATOR].faults.in_flight = 1
    handler, result = await run(app)
    assert isinstance(result, TwilioError)
    assert result.code == 20429
    assert handler.calls == 0
    assert app[EMULATOR].faults.in_flight == 1


async def test_slow_processes_then_holds_the_answer() -> None:
    app = app_with(slow=FaultRule(rate=1.0), slow_seconds=0.05)
    started = time.monotonic()
    handler, result = await run(app)
    assert result == 200
    assert handler.calls == 1
    assert time.monotonic() - started >= 0.04


async def test_inspection_routes_are_exempt() -> None:
    app = app_with(error_500=FaultRule(rate=1.0), concurrency_limit=1)
    app[EMULATOR].faults.in_flight = 5
    handler, result = await run(app, "/_emulator/faults")
    assert result == 200
    assert handler.in_flight_seen == [5]


async def test_in_flight_drops_back_when_the_handler_fails() -> None:
    app = app_with()

    async def failing(request: web.Request) -> web.StreamResponse:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        await fault_middleware(make_mocked_request("POST", PATH, app=app), failing)
    assert app[EMULATOR].faults.in_flight == 0
