"""Calls routes called directly: create (SIDs, test credentials, the 500-after-store fault),
fetch, update (hang up, redirect, new callback), delete, the list's filters, and the calls part
of the inspection API (calls with transcripts, callee scripts)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from emulators.twilio_api import calls
from emulators.twilio_api.app import create_app
from emulators.twilio_api.auth import TEST_CREDENTIALS
from emulators.twilio_api.calls import CALLS
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.context import EMULATOR
from emulators.twilio_api.errors import TwilioError
from emulators.twilio_api.faults import FaultRule, FaultSettings
from tests.fakes.aiohttp_requests import body_request, form_request, json_body, json_request

ACCOUNT = "AC" + "1" * 32
COLLECTION = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
TO = "+15551230000"
FROM = "+15005550006"
LONG = "<Response><Pause length='600'/></Response>"


@pytest.fixture
async def app() -> AsyncIterator[web.Application]:
    # Speed 1: a call stays queued or ringing for the whole test unless moved on.
    application = create_app(EmulatorConfig(account_sid=ACCOUNT, cps=1000))
    yield application
    await application[EMULATOR].background.cancel_all()


async def create(app: web.Application, test: bool = False, **fields: str) -> Any:
    request = form_request("POST", COLLECTION, {"To": TO, "From": FROM, **fields}, app=app)
    if test:
        request[TEST_CREDENTIALS] = True
    response = await calls.create_call(request)
    assert response.status == 201
    return json_body(response)


def instance(sid: str) -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json"


async def update(app: web.Application, sid: str, **fields: str) -> Any:
    request = form_request("POST", instance(sid), fields, app=app, match_info={"sid": sid})
    return json_body(await calls.update_call(request))


async def test_create_stores_a_queued_call(app: web.Application) -> None:
    body = await create(app, Twiml=LONG)
    assert re.fullmatch(r"CA[0-9a-f]{32}", body["sid"])
    assert (body["status"], body["account_sid"], body["to"]) == ("queued", ACCOUNT, TO)
    assert body["sid"] in app[CALLS].calls


async def test_validation_errors_store_nothing(app: web.Application) -> None:
    with pytest.raises(TwilioError) as caught:
        await create(app)
    assert caught.value.code == 21205
    assert app[CALLS].calls == {}


async def test_test_credentials_answer_without_storing(app: web.Application) -> None:
    body = await create(app, test=True, Twiml=LONG)
    assert body["account_sid"] == app[EMULATOR].config.test_account_sid
    assert app[CALLS].calls == {}


async def test_500_after_store_keeps_the_call(app: web.Application) -> None:
    app[EMULATOR].faults.configure(
        FaultSettings(error_500_after_store=FaultRule(rate=1.0, count=1))
    )
    with pytest.raises(TwilioError) as caught:
        await create(app, Twiml=LONG)
    assert caught.value.code == 20500
    assert len(app[CALLS].calls) == 1


async def test_fetch_and_unknown_sid(app: web.Application) -> None:
    sid = (await create(app, Twiml=LONG))["sid"]
    request = make_mocked_request("GET", instance(sid), app=app, match_info={"sid": sid})
    assert json_body(await calls.fetch_call(request))["sid"] == sid
    other = "CA" + "0" * 32
    with pytest.raises(TwilioError) as caught:
        await calls.fetch_call(
            make_mocked_request("GET", instance(other), app=app, match_info={"sid": other})
        )
    assert caught.value.code == 20404


async def test_canceling_a_queued_call(app: web.Application) -> None:
    sid = (await create(app, Twiml=LONG))["sid"]
    assert (await update(app, sid, Status="canceled"))["status"] == "canceled"


async def test_redirecting_needs_a_call_in_progress(app: web.Application) -> None:
    sid = (await create(app, Twiml=LONG))["sid"]
    with pytest.raises(TwilioError) as caught:
        await update(app, sid, Twiml="<Response><Hangup/></Response>")
    assert caught.value.code == 21220


async def test_redirect_with_twiml_ends_an_in_progress_call(app: web.Application) -> None:
    app[EMULATOR].clock.speed = 1000
    sid = (await create(app, Twiml=LONG))["sid"]
    call = app[CALLS].calls[sid]
    while call.status != "in-progress":
        await app[EMULATOR].clock.sleep(1)
    await update(app, sid, Twiml="<Response><Hangup/></Response>")
    while call.status == "in-progress":
        await app[EMULATOR].clock.sleep(1)
    assert call.status == "completed"


async def test_a_new_status_callback_replaces_the_old_one(app: web.Application) -> None:
    sid = (await create(app, Twiml=LONG, StatusCallback="https://a.example/s"))["sid"]
    await update(app, sid, StatusCallback="https://b.example/s", StatusCallbackMethod="GET")
    request = app[CALLS].calls[sid].request
    assert (request.status_callback, request.status_callback_method) == (
        "https://b.example/s",
        "GET",
    )
    assert request.twiml == LONG


async def test_delete_only_once_ended(app: web.Application) -> None:
    sid = (await create(app, Twiml=LONG))["sid"]

    def request() -> web.Request:
        return make_mocked_request("DELETE", instance(sid), app=app, match_info={"sid": sid})

    with pytest.raises(TwilioError) as caught:
        await calls.delete_call(request())
    assert (caught.value.status, caught.value.code) == (409, 20009)
    await update(app, sid, Status="canceled")
    assert (await calls.delete_call(request())).status == 204
    assert sid not in app[CALLS].calls


async def listing(app: web.Application, query: str) -> list[str]:
    request = make_mocked_request("GET", f"{COLLECTION}?{query}", app=app)
    return [c["sid"] for c in json_body(await calls.list_calls(request))["calls"]]


async def test_list_is_newest_first_with_exact_filters(app: web.Application) -> None:
    first = (await create(app, Twiml=LONG))["sid"]
    second = (await create(app, Twiml=LONG, To="+15551239999"))["sid"]
    third = (await create(app, Twiml=LONG))["sid"]
    await update(app, third, Status="canceled")
    assert await listing(app, "") == [third, second, first]
    assert await listing(app, "To=%2B15551230000") == [third, first]
    assert await listing(app, "Status=canceled") == [third]
    assert await listing(app, "Status=queued&To=%2B15551239999") == [second]
    # The emulator places outbound-api calls only: none has a parent.
    assert await listing(app, "ParentCallSid=CA1") == []


async def test_list_by_start_time_skips_calls_not_started(app: web.Application) -> None:
    await create(app, Twiml=LONG)
    assert await listing(app, "StartTime%3E=2000-01-01") == []


async def test_inspection_shows_the_call_with_what_only_the_emulator_knows(
    app: web.Application,
) -> None:
    sid = (await create(app, Twiml=LONG, StatusCallbackEvent="ringing", Record="true"))["sid"]
    request = make_mocked_request(
        "GET", f"/_emulator/calls/{sid}", app=app, match_info={"sid": sid}
    )
    view = json_body(await calls.inspect_call(request))
    assert view["twiml"] == LONG
    assert view["status_callback_events"] == ["ringing"]
    assert view["record"] is True
    assert (view["recording_url"], view["transcript"], view["digits"]) == (None, [], [])
    every = json_body(
        await calls.inspect_calls(
            make_mocked_request("GET", "/_emulator/calls?status=busy", app=app)
        )
    )
    assert every["calls"] == []


async def test_callee_scripts_are_set_and_listed(app: web.Application) -> None:
    scripts = [{"number": TO, "outcome": "busy"}, {"number": "+2", "digits": ["1"]}]
    answer = await calls.set_callees(json_request("POST", "/_emulator/callees", scripts, app=app))
    assert [s["number"] for s in json_body(answer)["callees"]] == [TO, "+2"]
    one = json_request("POST", "/_emulator/callees", {"number": TO}, app=app)
    await calls.set_callees(one)
    listed = json_body(
        await calls.list_callees(make_mocked_request("GET", "/_emulator/callees", app=app))
    )
    assert [(s["number"], s["outcome"]) for s in listed["callees"]] == [(TO, None), ("+2", None)]


@pytest.mark.parametrize("body", [b"{broken", b'{"number": "+1", "outcome": "maybe"}'])
async def test_bad_callee_scripts_are_400(app: web.Application, body: bytes) -> None:
    request = body_request("POST", "/_emulator/callees", body, "application/json", app=app)
    with pytest.raises(TwilioError) as caught:
        await calls.set_callees(request)
    assert caught.value.status == 400
    assert app[CALLS].callees.all() == []


async def test_a_message_verb_creates_a_message_newest_in_the_list(app: web.Application) -> None:
    emulator = app[EMULATOR]
    send = calls._message_sender(emulator)
    first = await send(TO, FROM, "one", None)
    second = await send(TO, FROM, "x" * 161, "https://cb.example/s")
    assert emulator.messages[second].seq > emulator.messages[first].seq
    assert emulator.messages[second].num_segments == 2
    assert emulator.messages[second].status_callback == "https://cb.example/s"


async def test_reset_forgets_calls(app: web.Application) -> None:
    await create(app, Twiml=LONG)
    await app[EMULATOR].reset()
    assert app[CALLS].calls == {}
