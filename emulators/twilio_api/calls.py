"""Calls API v2010 (create, fetch, list with filters and paging, update, delete) and the calls part
of the inspection API (`/_emulator/calls`, `/_emulator/callees`)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from emulators.twilio_api.auth import uses_test_credentials
from emulators.twilio_api.call_lifecycle import CallEngine, MessageSender
from emulators.twilio_api.call_resource import Call
from emulators.twilio_api.call_validation import validate_create, validate_update
from emulators.twilio_api.callees import CalleeScript
from emulators.twilio_api.clock import utc_now
from emulators.twilio_api.context import EMULATOR, Emulator
from emulators.twilio_api.date_filters import read_date_filters
from emulators.twilio_api.errors import TwilioError, bad_request, internal_error, not_found
from emulators.twilio_api.forms import read_form
from emulators.twilio_api.message_lifecycle import run_life
from emulators.twilio_api.message_resource import Message
from emulators.twilio_api.numbers import outcome_for
from emulators.twilio_api.paging import page_json
from emulators.twilio_api.segments import count_segments
from emulators.twilio_api.sids import new_sid

COLLECTION = "/2010-04-01/Accounts/{account_sid}/Calls.json"
INSTANCE = "/2010-04-01/Accounts/{account_sid}/Calls/{sid:[A-Za-z0-9]+}.json"
LIST_FILTERS = (
    "To",
    "From",
    "ParentCallSid",
    "Status",
    "StartTime",
    "StartTime<",
    "StartTime>",
    "EndTime",
    "EndTime<",
    "EndTime>",
)

CALLS = web.AppKey("calls", CallEngine)
routes = web.RouteTableDef()


def _engine(request: web.Request) -> CallEngine:
    return request.app[CALLS]


def _find(request: web.Request) -> Call:
    call = _engine(request).calls.get(request.match_info["sid"])
    if call is None:
        raise not_found(request.path)
    return call


@routes.post(COLLECTION)
async def create_call(request: web.Request) -> web.Response:
    """Create (place) a call: validate, store it queued, start its life, answer 201.

    With the test credentials the call is answered but neither stored nor dialed, as Twilio
    does: it has no life and sends no callbacks.
    """
    emulator = request.app[EMULATOR]
    test = uses_test_credentials(request)
    accepted = validate_create(await read_form(request), test_credentials=test)
    api_base = f"{request.scheme}://{request.host}"
    if test:
        call = _engine(request).test_call(accepted.to, accepted.from_, accepted.request, api_base)
        return web.json_response(call.to_json(), status=201)
    call = _engine(request).place(accepted.to, accepted.from_, accepted.request, api_base)
    if emulator.faults.fire("error_500_after_store"):
        # The ambiguous case: the call exists and will ring, but the client sees a 500.
        raise internal_error()
    return web.json_response(call.to_json(), status=201)


@routes.get(INSTANCE)
async def fetch_call(request: web.Request) -> web.Response:
    """Fetch one call."""
    return web.json_response(_find(request).to_json())


@routes.post(INSTANCE)
async def update_call(request: web.Request) -> web.Response:
    """End a call (`Status=canceled|completed`) or give it new TwiML (`Url` or `Twiml`)."""
    engine = _engine(request)
    call = _find(request)
    update = validate_update(await read_form(request))
    if update.status is not None:
        engine.hang_up(call, update.status)
    elif update.url is not None or update.twiml is not None:
        if call.status != "in-progress":
            raise bad_request(21220, "Call is not in-progress. Cannot redirect.")
        url, method, twiml = update.url, update.method, update.twiml or ""
        if url is not None:
            engine.redirect(call, lambda runner: runner.run_url(url, method))
        else:
            engine.redirect(call, lambda runner: runner.run_twiml(twiml))
    if update.status_callback is not None:
        call.request = update.with_callback(call.request)
    return web.json_response(call.to_json())


@routes.delete(INSTANCE)
async def delete_call(request: web.Request) -> web.Response:
    """Delete a call whose life is over (204); one still queued or live answers 20009."""
    engine = _engine(request)
    call = _find(request)
    if not call.ended:
        raise TwilioError(409, 20009, "Cannot delete this resource before it is complete")
    del engine.calls[call.sid]
    return web.Response(status=204)


@routes.get(COLLECTION)
async def list_calls(request: web.Request) -> web.Response:
    """List calls newest first, filtered (To, From, Status, Start/EndTime), paged like Twilio."""
    emulator = request.app[EMULATOR]
    filters = {key: request.query[key] for key in LIST_FILTERS if request.query.get(key)}
    items = sorted(_engine(request).calls.values(), key=lambda c: c.seq, reverse=True)
    items = [call for call in items if _matches(call, filters)]
    for date_filter in read_date_filters(request.query, "StartTime", "EndTime"):
        start = date_filter.field == "StartTime"
        items = [c for c in items if date_filter.passes(c.start_time if start else c.end_time)]
    base = COLLECTION.format(account_sid=emulator.config.account_sid)
    return web.json_response(page_json(request, items, key="calls", base=base, filters=filters))


def _matches(call: Call, filters: dict[str, str]) -> bool:
    """Whether `call` passes the To/From/Status/ParentCallSid filters."""
    exact = {"To": call.to, "From": call.from_, "Status": call.status, "ParentCallSid": None}
    return all(exact[key] == value for key, value in filters.items() if key in exact)


# -- inspection ---------------------------------------------------------------------------------


def call_view(call: Call) -> dict[str, Any]:
    """A call's API JSON plus what only the emulator knows: transcript, digits, callbacks."""
    request = call.request
    return {
        **call.to_json(),
        "url": request.url,
        "method": request.method,
        "twiml": request.twiml,
        "status_callback": request.status_callback,
        "status_callback_events": sorted(request.status_callback_events),
        "machine_detection": request.machine_detection,
        "record": request.record,
        "recording_url": call.recording.url if call.recording else None,
        "error_code": call.error_code,
        "error_message": call.error_message,
        "callback_statuses": list(call.events),
        "documents": list(call.transcript.documents),
        "transcript": list(call.transcript.entries),
        "digits": list(call.transcript.digits),
    }


@routes.get("/_emulator/calls")
async def inspect_calls(request: web.Request) -> web.Response:
    """Every call, oldest first, with its transcript; `?to=` / `?status=` narrow the list."""
    items = sorted(_engine(request).calls.values(), key=lambda c: c.seq)
    if to := request.query.get("to"):
        items = [call for call in items if call.to == to]
    if status := request.query.get("status"):
        items = [call for call in items if call.status == status]
    return web.json_response({"calls": [call_view(call) for call in items]})


@routes.get("/_emulator/calls/{sid}")
async def inspect_call(request: web.Request) -> web.Response:
    """One call with its transcript."""
    return web.json_response(call_view(_find(request)))


@routes.get("/_emulator/callees")
async def list_callees(request: web.Request) -> web.Response:
    """The callee scripts in force."""
    return web.json_response(
        {"callees": [script.to_json() for script in _engine(request).callees.all()]}
    )


@routes.post("/_emulator/callees")
async def set_callees(request: web.Request) -> web.Response:
    """Set callee scripts: one JSON object, or a list of them (each replaces its number's)."""
    try:
        data = await request.json()
        items = data if isinstance(data, list) else [data]
        scripts = [CalleeScript.from_json(item) for item in items]
    except (json.JSONDecodeError, ValueError) as error:
        raise TwilioError(400, 400, f"invalid callee script: {error}") from error
    book = _engine(request).callees
    for script in scripts:
        book.put(script)
    return web.json_response({"callees": [script.to_json() for script in scripts]})


# -- wiring -------------------------------------------------------------------------------------


def _message_sender(emulator: Emulator) -> MessageSender:
    async def send(to: str, from_: str, body: str, status_callback: str | None) -> str:
        """Create an outbound message for a `<Message>` verb and start its life."""
        now = utc_now()
        message = Message(
            sid=new_sid("SM"),
            account_sid=emulator.config.account_sid,
            to=to,
            from_=from_,
            body=body,
            messaging_service_sid=None,
            status="queued",
            num_segments=count_segments(body),
            media_urls=[],
            date_created=now,
            date_updated=now,
            status_callback=status_callback,
            outcome=outcome_for(to).status,
            # After every stored message, so the Messages list shows it newest.
            seq=max((m.seq for m in emulator.messages.values()), default=0) + 1,
        )
        emulator.messages[message.sid] = message
        emulator.background.spawn(run_life(emulator, message))
        return message.sid

    return send


def setup(app: web.Application) -> None:
    """Register the Calls routes and the calls inspection routes; clear calls on reset."""
    emulator = app[EMULATOR]
    engine = CallEngine(emulator, _message_sender(emulator))
    app[CALLS] = engine
    emulator.on_reset(engine.reset)
    app.add_routes(routes)
