"""CallbackSender over real HTTP: GET webhooks (TwiML fetches) are signed over the full URL."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

from emulators.twilio_api.background import Background
from emulators.twilio_api.callbacks import CallbackSender, DeliveryLog
from emulators.twilio_api.faults import Faults, FaultSettings

TOKEN = "sender-test-token"


async def _twiml(request: web.Request) -> web.Response:
    signature = request.headers.get("X-Twilio-Signature", "")
    form = dict(await request.post()) if request.method == "POST" else {}
    valid = RequestValidator(TOKEN).validate(str(request.url), form, signature)
    return web.Response(
        status=200 if valid else 403,
        text=f"<Response><Say>{request.method}</Say></Response>",
        content_type="text/xml",
    )


async def test_get_and_post_fetches_are_signed_and_return_the_body() -> None:
    app = web.Application()
    app.router.add_route("*", "/twiml", _twiml)
    log = DeliveryLog()
    background = Background()
    sender = CallbackSender(TOKEN, Faults(FaultSettings()), background, log)
    await sender.start()
    try:
        async with TestServer(app, host="127.0.0.1") as server:
            url = str(server.make_url("/twiml?rid=1"))
            params = {"CallSid": "CA" + "0" * 32, "CallStatus": "in-progress"}
            got = await sender.fetch("CA1", url, params, method="GET")
            posted = await sender.fetch("CA1", url, params, method="POST")
    finally:
        await sender.close()
        await background.cancel_all()
    assert got.ok
    assert got.body == "<Response><Say>GET</Say></Response>"
    assert got.content_type.startswith("text/xml")
    assert posted.ok
    assert "POST" in posted.body
    get_entry, post_entry = log.entries
    assert get_entry.kind == "twiml_fetch"
    assert "CallStatus=in-progress" in get_entry.url  # GET carries the params in the query
    assert post_entry.url == url
