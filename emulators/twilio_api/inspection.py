"""The inspection API under `/_emulator/` (no auth, loopback only): stored messages, webhook
deliveries, fault switches and reset. The calls module adds its own `/_emulator/` routes."""

from json import JSONDecodeError
from typing import Any

from aiohttp import web

from emulators.twilio_api.context import EMULATOR
from emulators.twilio_api.errors import TwilioError
from emulators.twilio_api.faults import FaultSettings
from emulators.twilio_api.message_resource import Message

routes = web.RouteTableDef()


def message_view(message: Message) -> dict[str, Any]:
    """A message's API JSON plus what only the emulator knows (callback URL, schedule, outcome)."""
    return {
        **message.to_json(),
        "status_callback": message.status_callback,
        "send_at": message.send_at.isoformat() if message.send_at else None,
        "media_urls": list(message.media_urls),
        "outcome": message.outcome,
    }


@routes.get("/_emulator/messages")
async def list_messages(request: web.Request) -> web.Response:
    """Every stored message, oldest first; `?to=` / `?status=` narrow the list."""
    emulator = request.app[EMULATOR]
    items = sorted(emulator.messages.values(), key=lambda m: m.seq)
    if to := request.query.get("to"):
        items = [m for m in items if m.to == to]
    if status := request.query.get("status"):
        items = [m for m in items if m.status == status]
    return web.json_response({"messages": [message_view(m) for m in items]})


@routes.get("/_emulator/callbacks")
async def list_callbacks(request: web.Request) -> web.Response:
    """Every webhook attempt (status callbacks and TwiML fetches), oldest first.

    `?sid=` narrows to one resource, `?kind=status_callback|twiml_fetch` to one kind.
    """
    entries = request.app[EMULATOR].deliveries.entries
    if sid := request.query.get("sid"):
        entries = [e for e in entries if e.resource_sid == sid]
    if kind := request.query.get("kind"):
        entries = [e for e in entries if e.kind == kind]
    return web.json_response({"callbacks": [e.to_json() for e in entries]})


@routes.get("/_emulator/faults")
async def get_faults(request: web.Request) -> web.Response:
    """The fault switches in force (counts show how many firings are left) and the number of
    REST requests in flight right now."""
    faults = request.app[EMULATOR].faults
    return web.json_response({**faults.settings.to_json(), "in_flight": faults.in_flight})


@routes.post("/_emulator/faults")
async def set_faults(request: web.Request) -> web.Response:
    """Replace every fault switch with the JSON body (switches left out are turned off)."""
    try:
        data = await request.json()
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        settings = FaultSettings.from_json(data)
    except (JSONDecodeError, ValueError, TypeError) as error:
        raise TwilioError(400, 400, f"invalid faults: {error}") from error
    request.app[EMULATOR].faults.configure(settings)
    return web.json_response(settings.to_json())


@routes.post("/_emulator/reset")
async def reset(request: web.Request) -> web.Response:
    """Forget every resource and delivery, stop running lifecycles, restore start-up faults."""
    await request.app[EMULATOR].reset()
    return web.json_response({"reset": True})


def setup(app: web.Application) -> None:
    """Register the inspection routes on `app`."""
    app.add_routes(routes)
