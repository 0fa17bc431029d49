"""Applies the API fault switches to REST requests: concurrency limit, 429, 500, slow answers."""

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from emulators.twilio_api.auth import is_inspection
from emulators.twilio_api.context import EMULATOR
from emulators.twilio_api.errors import internal_error, too_many_requests


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse or delay REST API requests as the fault switches say; inspection routes are exempt.

    A request refused with 429 or 500 here is never processed. The `slow` fault processes the
    request and then holds the answer for `slow_seconds` of real time (so a client that times out
    does not know whether the request took effect).
    """
    if is_inspection(request.path):
        return await handler(request)
    faults = request.app[EMULATOR].faults
    if faults.over_concurrency_limit():
        raise too_many_requests()
    faults.in_flight += 1
    try:
        if faults.fire("error_429"):
            raise too_many_requests()
        if faults.fire("error_500"):
            raise internal_error()
        response = await handler(request)
        if faults.fire("slow"):
            await asyncio.sleep(faults.settings.slow_seconds)
        return response
    finally:
        faults.in_flight -= 1
