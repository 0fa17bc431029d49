"""Messages API v2010 routes: create, fetch, list (filters, paging), update (cancel/redact),
delete. A message's life is in `message_lifecycle.py`."""

import itertools

from aiohttp import web

from emulators.twilio_api.auth import uses_test_credentials
from emulators.twilio_api.clock import utc_now
from emulators.twilio_api.context import EMULATOR
from emulators.twilio_api.date_filters import read_date_filters
from emulators.twilio_api.errors import TwilioError, bad_request, internal_error, not_found
from emulators.twilio_api.forms import read_form
from emulators.twilio_api.message_lifecycle import run_life, set_status
from emulators.twilio_api.message_resource import IN_FLIGHT_STATUSES, Message
from emulators.twilio_api.message_validation import validate_create, validate_status_update
from emulators.twilio_api.numbers import outcome_for
from emulators.twilio_api.paging import page_json
from emulators.twilio_api.segments import count_segments
from emulators.twilio_api.sids import new_sid

COLLECTION = "/2010-04-01/Accounts/{account_sid}/Messages.json"
INSTANCE = "/2010-04-01/Accounts/{account_sid}/Messages/{sid:[A-Za-z0-9]+}.json"

routes = web.RouteTableDef()


# Creation order, for "newest first" listing even within one clock tick.
_sequence = itertools.count(1)


@routes.post(COLLECTION)
async def create_message(request: web.Request) -> web.Response:
    """Create (send) a message: validate, store, start its life, answer 201.

    With the test credentials the message is answered but neither stored nor sent, as Twilio
    does: it has no life and sends no callbacks.
    """
    emulator = request.app[EMULATOR]
    form = await read_form(request)
    now = utc_now()
    test = uses_test_credentials(request)
    accepted = validate_create(form, now, test_credentials=test)
    if accepted.send_at is not None:
        status = "scheduled"
    elif accepted.messaging_service_sid is not None:
        status = "accepted"
    else:
        status = "queued"
    outcome = outcome_for(accepted.to)
    message = Message(
        sid=new_sid("MM" if accepted.media_urls else "SM"),
        account_sid=emulator.config.test_account_sid if test else emulator.config.account_sid,
        to=accepted.to,
        from_=accepted.from_,
        body=accepted.body,
        messaging_service_sid=accepted.messaging_service_sid,
        status=status,
        num_segments=count_segments(accepted.body),
        media_urls=accepted.media_urls,
        date_created=now,
        date_updated=now,
        status_callback=accepted.status_callback,
        send_at=accepted.send_at,
        outcome=outcome.status,
        seq=next(_sequence),
    )
    if test:
        return web.json_response(message.to_json(), status=201)
    emulator.messages[message.sid] = message
    emulator.background.spawn(run_life(emulator, message))
    if emulator.faults.fire("error_500_after_store"):
        # The ambiguous case: the message exists and will be sent, but the client sees a 500.
        raise internal_error()
    return web.json_response(message.to_json(), status=201)


def _find(request: web.Request) -> Message:
    message = request.app[EMULATOR].messages.get(request.match_info["sid"])
    if message is None:
        raise not_found(request.path)
    return message


@routes.get(INSTANCE)
async def fetch_message(request: web.Request) -> web.Response:
    """Fetch one message."""
    return web.json_response(_find(request).to_json())


@routes.post(INSTANCE)
async def update_message(request: web.Request) -> web.Response:
    """Cancel a scheduled message (`Status=canceled`) and/or redact its body (`Body=""`)."""
    emulator = request.app[EMULATOR]
    message = _find(request)
    form = await read_form(request)
    if "Status" in form:
        status = form["Status"]
        validate_status_update(status)
        if message.status != "scheduled":
            raise bad_request(30409, "This message cannot be canceled")
        set_status(emulator, message, "canceled")
        emulator.callbacks.flush(message.sid)
    if "Body" in form:
        if form["Body"] != "":
            raise bad_request(20001, "Body can only be updated to an empty string to redact it")
        message.body = ""
        message.date_updated = utc_now()
    return web.json_response(message.to_json())


@routes.delete(INSTANCE)
async def delete_message(request: web.Request) -> web.Response:
    """Delete a message whose life is over (204); one still in flight answers 20009."""
    emulator = request.app[EMULATOR]
    message = _find(request)
    if message.status in IN_FLIGHT_STATUSES:
        raise TwilioError(409, 20009, "Cannot delete this resource before it is complete")
    del emulator.messages[message.sid]
    return web.Response(status=204)


@routes.get(COLLECTION)
async def list_messages(request: web.Request) -> web.Response:
    """List messages, newest first, filtered by To/From/DateSent and paged like Twilio."""
    emulator = request.app[EMULATOR]
    filters = {
        key: request.query[key]
        for key in ("To", "From", "DateSent", "DateSent<", "DateSent>")
        if request.query.get(key)
    }
    items = sorted(emulator.messages.values(), key=lambda m: m.seq, reverse=True)
    if "To" in filters:
        items = [m for m in items if m.to == filters["To"]]
    if "From" in filters:
        items = [m for m in items if m.from_ == filters["From"]]
    for date_filter in read_date_filters(request.query, "DateSent"):
        items = [m for m in items if date_filter.passes(m.date_sent)]

    base = COLLECTION.format(account_sid=emulator.config.account_sid)
    return web.json_response(page_json(request, items, key="messages", base=base, filters=filters))


def setup(app: web.Application) -> None:
    """Register the Messages routes on `app`."""
    app.add_routes(routes)
