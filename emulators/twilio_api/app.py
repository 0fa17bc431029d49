"""Builds the emulator's aiohttp application."""

from aiohttp import web

from emulators.twilio_api import calls, inspection, messages
from emulators.twilio_api.auth import auth_middleware
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.context import EMULATOR, Emulator
from emulators.twilio_api.errors import error_middleware
from emulators.twilio_api.fault_middleware import fault_middleware


async def _start_callbacks(app: web.Application) -> None:
    await app[EMULATOR].callbacks.start()


async def _stop_background(app: web.Application) -> None:
    emulator = app[EMULATOR]
    await emulator.background.cancel_all()
    await emulator.callbacks.close()


def create_app(config: EmulatorConfig) -> web.Application:
    """An app serving the Messages and Calls APIs plus `/_emulator/` inspection for `config`."""
    app = web.Application(middlewares=[error_middleware, auth_middleware, fault_middleware])
    app[EMULATOR] = Emulator.from_config(config)
    app.on_startup.append(_start_callbacks)
    app.on_cleanup.append(_stop_background)
    messages.setup(app)
    calls.setup(app)
    inspection.setup(app)
    return app
