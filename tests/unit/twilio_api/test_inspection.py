"""The inspection routes called directly: stored messages, webhook deliveries, fault switches
(read, replace, refuse bad JSON) and reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from emulators.twilio_api import inspection
from emulators.twilio_api.app import create_app
from emulators.twilio_api.callbacks import Delivery
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.context import EMULATOR
from emulators.twilio_api.errors import TwilioError
from emulators.twilio_api.faults import FaultRule, FaultSettings
from emulators.twilio_api.message_resource import Message
from tests.fakes.aiohttp_requests import body_request, json_body, json_request

START_FAULTS = FaultSettings(error_429=FaultRule(rate=1.0, count=1))


@pytest.fixture
async def app() -> AsyncIterator[web.Application]:
    application = create_app(EmulatorConfig(faults=START_FAULTS))
    yield application
    await application[EMULATOR].background.cancel_all()


def store(app: web.Application, sid: str, to: str, status: str, seq: int) -> Message:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    message = Message(
        sid=sid,
        account_sid="AC1",
        to=to,
        from_="+15005550006",
        body="x",
        messaging_service_sid=None,
        status=status,
        num_segments=1,
        media_urls=["https://m.example/a.png"],
        date_created=now,
        date_updated=now,
        status_callback="https://cb.example/s",
        send_at=now,
        outcome="undelivered",
        seq=seq,
    )
    app[EMULATOR].messages[sid] = message
    return message


def delivery(sid: str, kind: str, number: int) -> Delivery:
    return Delivery(
        id=number,
        kind=kind,
        resource_sid=sid,
        url="https://cb.example/s",
        method="POST",
        params={},
        signature="sig",
        idempotency_token="tok",
        attempt=1,
        duplicate=False,
        at="now",
    )


async def get(app: web.Application, handler: Any, path: str) -> Any:
    return json_body(await handler(make_mocked_request("GET", path, app=app)))


async def test_messages_oldest_first_with_what_only_the_emulator_knows(
    app: web.Application,
) -> None:
    store(app, "SM2", "+2", "delivered", 2)
    store(app, "SM1", "+1", "queued", 1)
    listed = (await get(app, inspection.list_messages, "/_emulator/messages"))["messages"]
    assert [m["sid"] for m in listed] == ["SM1", "SM2"]
    assert listed[0]["status_callback"] == "https://cb.example/s"
    assert listed[0]["send_at"] == "2024-01-01T00:00:00+00:00"
    assert listed[0]["media_urls"] == ["https://m.example/a.png"]
    assert listed[0]["outcome"] == "undelivered"
    by_to = await get(app, inspection.list_messages, "/_emulator/messages?to=%2B2")
    assert [m["sid"] for m in by_to["messages"]] == ["SM2"]
    by_status = await get(app, inspection.list_messages, "/_emulator/messages?status=queued")
    assert [m["sid"] for m in by_status["messages"]] == ["SM1"]


async def test_callbacks_narrow_by_sid_and_kind(app: web.Application) -> None:
    log = app[EMULATOR].deliveries
    log.entries += [
        delivery("SM1", "status_callback", 1),
        delivery("CA1", "twiml_fetch", 2),
        delivery("CA1", "status_callback", 3),
    ]
    path = "/_emulator/callbacks"
    every = await get(app, inspection.list_callbacks, path)
    assert [c["id"] for c in every["callbacks"]] == [1, 2, 3]
    of_call = await get(app, inspection.list_callbacks, f"{path}?sid=CA1&kind=status_callback")
    assert [c["id"] for c in of_call["callbacks"]] == [3]


async def test_faults_read_and_replace(app: web.Application) -> None:
    app[EMULATOR].faults.in_flight = 2
    now = await get(app, inspection.get_faults, "/_emulator/faults")
    assert now["error_429"] == {"rate": 1.0, "count": 1}
    assert now["in_flight"] == 2
    request = json_request("POST", "/_emulator/faults", {"slow": {"rate": 1}}, app=app)
    answer = json_body(await inspection.set_faults(request))
    assert answer["slow"] == {"rate": 1.0, "count": None}
    assert app[EMULATOR].faults.settings.error_429 == FaultRule()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"error_429": {"rate": 2}}', "application/json"),
        (b'{"nope": 1}', "application/json"),
        (b'{"seed": "x"}', "application/json"),
    ],
)
async def test_bad_faults_are_400_and_change_nothing(
    app: web.Application, body: bytes, content_type: str
) -> None:
    request = body_request("POST", "/_emulator/faults", body, content_type, app=app)
    with pytest.raises(TwilioError) as caught:
        await inspection.set_faults(request)
    assert caught.value.status == 400
    assert caught.value.message.startswith("invalid faults: ")
    assert app[EMULATOR].faults.settings == START_FAULTS


async def test_a_null_field_is_left_out_and_a_wrong_type_is_a_400_naming_it(
    app: web.Application,
) -> None:
    body = {"slow": {"rate": 1, "count": None}, "slow_seconds": None, "seed": None}
    request = json_request("POST", "/_emulator/faults", body, app=app)
    answer = json_body(await inspection.set_faults(request))
    assert answer["slow"] == {"rate": 1.0, "count": None}
    assert (answer["slow_seconds"], answer["seed"]) == (2.0, 0)
    request = json_request("POST", "/_emulator/faults", {"slow_seconds": [2]}, app=app)
    with pytest.raises(TwilioError) as caught:
        await inspection.set_faults(request)
    assert caught.value.status == 400
    assert caught.value.message == "invalid faults: slow_seconds must be a number, got [2]"


async def test_reset_forgets_everything_and_restores_start_up_faults(
    app: web.Application,
) -> None:
    store(app, "SM1", "+1", "queued", 1)
    app[EMULATOR].faults.configure(FaultSettings())
    answer = await inspection.reset(make_mocked_request("POST", "/_emulator/reset", app=app))
    assert json_body(answer) == {"reset": True}
    assert app[EMULATOR].messages == {}
    assert app[EMULATOR].faults.settings == START_FAULTS
