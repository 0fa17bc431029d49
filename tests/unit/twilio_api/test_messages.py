"""Messages routes called directly: create (statuses, SIDs, segments, test credentials, the
500-after-store fault), fetch, cancel and redact, delete, and the list's filters and order."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from emulators.twilio_api import messages
from emulators.twilio_api.app import create_app
from emulators.twilio_api.auth import TEST_CREDENTIALS
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.context import EMULATOR
from emulators.twilio_api.errors import TwilioError
from emulators.twilio_api.faults import FaultRule, FaultSettings
from tests.fakes.aiohttp_requests import form_request, json_body

ACCOUNT = "AC" + "1" * 32
COLLECTION = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
SERVICE = "MG" + "a" * 32


@pytest.fixture
async def app() -> AsyncIterator[web.Application]:
    # Speed 1: no message moves on during a test (its first step takes half a real second).
    application = create_app(EmulatorConfig(account_sid=ACCOUNT))
    yield application
    await application[EMULATOR].background.cancel_all()


async def create(app: web.Application, test: bool = False, **fields: str) -> Any:
    request = form_request("POST", COLLECTION, fields, app=app)
    if test:
        request[TEST_CREDENTIALS] = True
    response = await messages.create_message(request)
    assert response.status == 201
    return json_body(response)


def instance(sid: str) -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json"


async def test_create_stores_a_queued_sm_message_and_starts_its_life(app: web.Application) -> None:
    body = await create(app, To="+15551230000", From="+15005550006", Body="x" * 161)
    assert re.fullmatch(r"SM[0-9a-f]{32}", body["sid"])
    assert (body["status"], body["num_segments"], body["account_sid"]) == ("queued", "2", ACCOUNT)
    emulator = app[EMULATOR]
    assert emulator.messages[body["sid"]].outcome == "delivered"
    assert len(emulator.background._tasks) == 1


async def test_media_messages_are_mm(app: web.Application) -> None:
    body = await create(app, To="+15551230000", From="+15005550006", MediaUrl="https://m.x/a.png")
    assert body["sid"].startswith("MM")
    assert body["num_media"] == "1"


async def test_a_service_message_is_accepted_and_keeps_its_outcome(app: web.Application) -> None:
    body = await create(app, To="+15550030003", MessagingServiceSid=SERVICE, Body="x")
    assert (body["status"], body["from"], body["num_segments"]) == ("accepted", None, "0")
    assert app[EMULATOR].messages[body["sid"]].outcome == "undelivered"


async def test_validation_errors_store_nothing(app: web.Application) -> None:
    with pytest.raises(TwilioError) as caught:
        await create(app, From="+15005550006", Body="x")
    assert caught.value.code == 21604
    assert app[EMULATOR].messages == {}


async def test_test_credentials_answer_but_store_and_send_nothing(app: web.Application) -> None:
    body = await create(app, test=True, To="+15551230000", From="+15005550006", Body="x")
    emulator = app[EMULATOR]
    assert body["account_sid"] == emulator.config.test_account_sid
    assert emulator.messages == {}
    assert emulator.background._tasks == set()


async def test_500_after_store_keeps_the_message(app: web.Application) -> None:
    emulator = app[EMULATOR]
    emulator.faults.configure(FaultSettings(error_500_after_store=FaultRule(rate=1.0, count=1)))
    with pytest.raises(TwilioError) as caught:
        await create(app, To="+15551230000", From="+15005550006", Body="x")
    assert caught.value.code == 20500
    assert len(emulator.messages) == 1


async def test_fetch_and_unknown_sid(app: web.Application) -> None:
    sid = (await create(app, To="+15551230000", From="+15005550006", Body="x"))["sid"]
    path = instance(sid)
    request = make_mocked_request("GET", path, app=app, match_info={"sid": sid})
    assert json_body(await messages.fetch_message(request))["sid"] == sid
    gone = instance("SM" + "0" * 32)
    with pytest.raises(TwilioError) as caught:
        await messages.fetch_message(
            make_mocked_request("GET", gone, app=app, match_info={"sid": "SM" + "0" * 32})
        )
    assert (caught.value.status, caught.value.code) == (404, 20404)


async def update(app: web.Application, sid: str, **fields: str) -> Any:
    request = form_request("POST", instance(sid), fields, app=app, match_info={"sid": sid})
    return json_body(await messages.update_message(request))


async def test_only_a_scheduled_message_can_be_canceled(app: web.Application) -> None:
    sid = (await create(app, To="+15551230000", From="+15005550006", Body="x"))["sid"]
    with pytest.raises(TwilioError) as caught:
        await update(app, sid, Status="canceled")
    assert caught.value.code == 30409
    with pytest.raises(TwilioError) as caught:
        await update(app, sid, Status="sent")
    assert caught.value.code == 20001
    app[EMULATOR].messages[sid].status = "scheduled"
    assert (await update(app, sid, Status="canceled"))["status"] == "canceled"


async def test_redacting_empties_the_body_and_nothing_else_may_be_set(
    app: web.Application,
) -> None:
    sid = (await create(app, To="+15551230000", From="+15005550006", Body="secret"))["sid"]
    with pytest.raises(TwilioError) as caught:
        await update(app, sid, Body="other")
    assert caught.value.code == 20001
    assert (await update(app, sid, Body=""))["body"] == ""


async def test_delete_only_once_the_life_is_over(app: web.Application) -> None:
    sid = (await create(app, To="+15551230000", From="+15005550006", Body="x"))["sid"]

    def request() -> web.Request:
        return make_mocked_request("DELETE", instance(sid), app=app, match_info={"sid": sid})

    with pytest.raises(TwilioError) as caught:
        await messages.delete_message(request())
    assert (caught.value.status, caught.value.code) == (409, 20009)
    app[EMULATOR].messages[sid].status = "delivered"
    assert (await messages.delete_message(request())).status == 204
    assert sid not in app[EMULATOR].messages


async def listing(app: web.Application, query: str) -> Any:
    request = make_mocked_request("GET", f"{COLLECTION}?{query}", app=app)
    return json_body(await messages.list_messages(request))


async def test_list_is_newest_first_and_filters_by_to_and_from(app: web.Application) -> None:
    first = (await create(app, To="+15551230001", From="+15005550006", Body="1"))["sid"]
    second = (await create(app, To="+15551230002", From="+15005550006", Body="2"))["sid"]
    third = (await create(app, To="+15551230001", From="MyBrand", Body="3"))["sid"]
    assert [m["sid"] for m in (await listing(app, ""))["messages"]] == [third, second, first]
    by_to = await listing(app, "To=%2B15551230001")
    assert [m["sid"] for m in by_to["messages"]] == [third, first]
    assert "To=%2B15551230001" in by_to["uri"]
    both = await listing(app, "To=%2B15551230001&From=MyBrand")
    assert [m["sid"] for m in both["messages"]] == [third]


async def test_list_date_sent_filter_skips_unsent_messages(app: web.Application) -> None:
    await create(app, To="+15551230001", From="+15005550006", Body="1")
    assert (await listing(app, "DateSent%3E=2000-01-01"))["messages"] == []


def test_setup_registers_the_routes() -> None:
    application = web.Application()
    messages.setup(application)
    methods = sorted(r.method for r in application.router.routes() if r.method != "HEAD")
    assert methods == ["DELETE", "GET", "GET", "POST", "POST"]
