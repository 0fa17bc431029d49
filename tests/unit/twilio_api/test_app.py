"""The app: Twilio's middlewares in order, every API and inspection route, start-up/clean-up."""

from __future__ import annotations

import asyncio

from emulators.twilio_api.app import create_app
from emulators.twilio_api.auth import auth_middleware
from emulators.twilio_api.calls import CALLS
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.context import EMULATOR
from emulators.twilio_api.errors import error_middleware
from emulators.twilio_api.fault_middleware import fault_middleware

MESSAGES = "/2010-04-01/Accounts/{account_sid}/Messages.json"
MESSAGE = "/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"
CALLS_PATH = "/2010-04-01/Accounts/{account_sid}/Calls.json"
CALL = "/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json"


def routes() -> set[tuple[str, str]]:
    app = create_app(EmulatorConfig())
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter", "")
        found.add((route.method, path))
    return found


def test_errors_wrap_auth_which_wraps_faults() -> None:
    app = create_app(EmulatorConfig())
    assert list(app.middlewares) == [error_middleware, auth_middleware, fault_middleware]


def test_the_runtime_is_built_from_the_config() -> None:
    app = create_app(EmulatorConfig(speed=25))
    assert app[EMULATOR].clock.speed == 25
    assert app[CALLS].calls == {}


def test_every_route_is_registered() -> None:
    found = routes()
    expected = {
        ("POST", MESSAGES),
        ("GET", MESSAGES),
        ("GET", MESSAGE),
        ("POST", MESSAGE),
        ("DELETE", MESSAGE),
        ("POST", CALLS_PATH),
        ("GET", CALLS_PATH),
        ("GET", CALL),
        ("POST", CALL),
        ("DELETE", CALL),
        ("GET", "/_emulator/messages"),
        ("GET", "/_emulator/callbacks"),
        ("GET", "/_emulator/faults"),
        ("POST", "/_emulator/faults"),
        ("POST", "/_emulator/reset"),
        ("GET", "/_emulator/calls"),
        ("GET", "/_emulator/calls/{sid}"),
        ("GET", "/_emulator/callees"),
        ("POST", "/_emulator/callees"),
    }
    assert expected <= found


async def test_start_up_opens_the_callback_session_and_clean_up_stops_everything() -> None:
    app = create_app(EmulatorConfig())
    callbacks = app[EMULATOR].callbacks
    app.freeze()  # as serving it would
    await app.startup()
    session = callbacks._session
    assert session is not None
    running = app[EMULATOR].background.spawn(asyncio.Event().wait())
    await app.cleanup()
    assert app[EMULATOR].callbacks._session is None
    assert session.closed
    assert running.cancelled()
