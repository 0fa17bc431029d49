"""Outgoing webhooks: Twilio's signature (checked with twilio's own RequestValidator), the URL
that is signed, connection overrides and retries, the Basic challenge, per-resource ordering and
the duplicate/out-of-order faults. The HTTP exchange is a scripted stand-in."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from emulators.twilio_api.background import Background
from emulators.twilio_api.callbacks import (
    BODY_LIMIT,
    CallbackSender,
    ConnectionOverrides,
    DeliveryLog,
)
from emulators.twilio_api.faults import FaultRule, Faults, FaultSettings

TOKEN = "auth-token"
MESSAGE = "SM" + "1" * 32
CALL = "CA" + "2" * 32
STATUS_URL = "https://app.example.com/s"
PARAMS = {"MessageSid": MESSAGE, "MessageStatus": "sent", "Body": "a b&c"}


@dataclass
class Answer:
    status: int
    text: str = ""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain"})


@dataclass
class Exchange:
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]
    authorization: str | None


type Script = Callable[[Exchange], Answer]


class ScriptedSender(CallbackSender):
    """A CallbackSender whose HTTP exchanges are answered by `script` and recorded."""

    def __init__(self, faults: Faults | None = None, script: Script | None = None) -> None:
        super().__init__(TOKEN, faults or Faults(FaultSettings()), Background(), DeliveryLog())
        self.script: Script = script or (lambda exchange: Answer(200, "ok"))
        self.exchanges: list[Exchange] = []
        self._session = object()  # type: ignore[assignment]  # never used: _exchange is scripted

    async def _exchange(  # type: ignore[override]
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        limits: aiohttp.ClientTimeout,
        authorization: str | None,
    ) -> tuple[Answer, str]:
        exchange = Exchange(method, url, body, dict(headers), authorization)
        self.exchanges.append(exchange)
        answer = self.script(exchange)
        return answer, answer.text


def failing(*answers: Answer | BaseException) -> Script:
    """A script answering `answers` in turn, then 200."""
    left = list(answers)

    def script(exchange: Exchange) -> Answer:
        if not left:
            return Answer(200, "ok")
        answer = left.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return script


# -- connection overrides ---------------------------------------------------------------------


def test_overrides_default_to_twilios_values() -> None:
    overrides = ConnectionOverrides.from_fragment("")
    assert overrides == ConnectionOverrides(5000, 15000, 15000, 1, frozenset({"ct", "rt", "5xx"}))


def test_overrides_are_read_and_clamped() -> None:
    overrides = ConnectionOverrides.from_fragment("ct=50&rt=99999&tt=2000&rc=9&rp=4xx,all")
    assert overrides.connect_timeout_ms == 100
    assert overrides.read_timeout_ms == 15000
    assert overrides.total_time_ms == 2000
    assert overrides.retry_count == 5
    assert overrides.retry_policy == {"4xx", "all"}
    assert ConnectionOverrides.from_fragment("rc=x").retry_count == 1


def test_retry_policy() -> None:
    default = ConnectionOverrides()
    assert default.retries("5xx")
    assert not default.retries("4xx")
    assert ConnectionOverrides(retry_policy=frozenset({"all"})).retries("4xx")


# -- signing ------------------------------------------------------------------------------------


def test_signature_is_twilios() -> None:
    sender = ScriptedSender()
    url = "https://app.example.com/status?x=1"
    signature = sender.signature(url, PARAMS)
    assert RequestValidator(TOKEN).validate(url, PARAMS, signature)
    assert not RequestValidator("other").validate(url, PARAMS, signature)


async def test_a_post_is_form_encoded_signed_and_logged() -> None:
    sender = ScriptedSender()
    result = await sender.fetch(MESSAGE, "https://app.example.com/status#rc=0", PARAMS)
    assert result.ok
    assert result.body == "ok"
    (exchange,) = sender.exchanges
    assert exchange.url == "https://app.example.com/status"
    assert exchange.body is not None
    assert dict(parse_qsl(exchange.body.decode())) == PARAMS
    assert exchange.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert RequestValidator(TOKEN).validate(
        exchange.url, PARAMS, exchange.headers["X-Twilio-Signature"]
    )
    assert exchange.headers["I-Twilio-Idempotency-Token"]
    (entry,) = sender.log.entries
    assert (entry.kind, entry.resource_sid, entry.attempt, entry.status) == (
        "twiml_fetch",
        MESSAGE,
        1,
        200,
    )
    assert entry.params == PARAMS


async def test_a_get_carries_the_params_in_the_signed_query() -> None:
    sender = ScriptedSender()
    await sender.fetch(MESSAGE, "https://app.example.com/status?a=1", PARAMS, method="get")
    (exchange,) = sender.exchanges
    assert exchange.method == "GET"
    assert exchange.body is None
    assert exchange.url.startswith("https://app.example.com/status?a=1&MessageSid=")
    assert RequestValidator(TOKEN).validate(
        exchange.url, {}, exchange.headers["X-Twilio-Signature"]
    )


# error: aiohttp 3.14 deprecates BasicAuth; the header is built without it.
@pytest.mark.filterwarnings("error::DeprecationWarning")
async def test_credentials_are_not_signed_and_answer_a_basic_challenge() -> None:
    challenge = Answer(401, headers={"WWW-Authenticate": 'Basic realm="x"'})
    sender = ScriptedSender(script=failing(challenge))
    result = await sender.fetch(MESSAGE, "https://us%40r:p%3Ass@app.example.com/s", PARAMS)
    assert result.status == 200
    first, second = sender.exchanges
    assert first.url == second.url == "https://app.example.com/s"
    assert first.authorization is None
    assert second.authorization == "Basic " + base64.b64encode(b"us@r:p:ss").decode()
    assert RequestValidator(TOKEN).validate(first.url, PARAMS, first.headers["X-Twilio-Signature"])


async def test_a_401_without_credentials_is_not_answered() -> None:
    challenge = Answer(401, headers={"WWW-Authenticate": 'Basic realm="x"'})
    sender = ScriptedSender(script=failing(challenge))
    result = await sender.fetch(MESSAGE, "https://app.example.com/s", PARAMS)
    assert result.status == 401
    assert len(sender.exchanges) == 1


@pytest.mark.parametrize(
    ("sid", "signed"),
    [
        (CALL, "https://app.example.com/voice"),
        (MESSAGE, "https://app.example.com:8443/voice"),
    ],
)
async def test_voice_webhooks_over_https_are_signed_without_the_port(sid: str, signed: str) -> None:
    sender = ScriptedSender()
    await sender.fetch(sid, "https://app.example.com:8443/voice", PARAMS)
    (exchange,) = sender.exchanges
    assert exchange.url == "https://app.example.com:8443/voice"
    assert RequestValidator(TOKEN).validate(signed, PARAMS, exchange.headers["X-Twilio-Signature"])


# -- retries ------------------------------------------------------------------------------------


async def test_a_5xx_is_retried_once_with_the_same_token() -> None:
    sender = ScriptedSender(script=failing(Answer(503), Answer(503), Answer(503)))
    result = await sender.fetch(MESSAGE, "https://app.example.com/s", PARAMS)
    assert result.status == 503
    assert [e.attempt for e in sender.log.entries] == [1, 2]
    tokens = {e.headers["I-Twilio-Idempotency-Token"] for e in sender.exchanges}
    assert len(tokens) == 1


async def test_retry_count_and_policy_come_from_the_fragment() -> None:
    sender = ScriptedSender(script=failing(Answer(404), Answer(404)))
    result = await sender.fetch(MESSAGE, "https://app.example.com/s#rc=3&rp=4xx", PARAMS)
    assert result.status == 200
    assert len(sender.exchanges) == 3
    plain = ScriptedSender(script=failing(Answer(404)))
    assert (await plain.fetch(MESSAGE, "https://app.example.com/s", PARAMS)).status == 404
    assert len(plain.exchanges) == 1


async def test_connection_failures_are_retried_and_recorded() -> None:
    error = aiohttp.ClientConnectionError("refused")
    sender = ScriptedSender(script=failing(error, error))
    result = await sender.fetch(MESSAGE, "https://app.example.com/s", PARAMS)
    assert result.status is None
    assert result.error is not None
    assert result.error.startswith("connection failed")
    assert not result.ok
    assert [e.error is not None for e in sender.log.entries] == [True, True]


async def test_a_read_timeout_is_rt() -> None:
    sender = ScriptedSender(script=failing(aiohttp.ServerTimeoutError("slow")))
    result = await sender.fetch(MESSAGE, "https://app.example.com/s#rp=ct", PARAMS)
    assert result.error is not None
    assert result.error.startswith("timeout")
    assert len(sender.exchanges) == 1


async def test_long_answers_are_cut_in_the_log_but_not_in_the_result() -> None:
    sender = ScriptedSender(script=lambda exchange: Answer(200, "x" * (BODY_LIMIT + 10)))
    result = await sender.fetch(MESSAGE, "https://app.example.com/s", PARAMS)
    assert len(result.body) == BODY_LIMIT + 10
    assert sender.log.entries[0].body == "x" * BODY_LIMIT


async def test_sending_before_start_is_an_error() -> None:
    sender = CallbackSender(TOKEN, Faults(FaultSettings()), Background(), DeliveryLog())
    with pytest.raises(RuntimeError, match="start"):
        await sender.fetch(MESSAGE, "https://app.example.com/s", PARAMS)


# -- status callbacks: order and faults ---------------------------------------------------------


def statuses(sender: ScriptedSender) -> list[str]:
    return [dict(parse_qsl((e.body or b"").decode()))["MessageStatus"] for e in sender.exchanges]


async def settle(sender: ScriptedSender) -> None:
    while sender._background._tasks:
        await asyncio.gather(*sender._background._tasks)


async def test_status_callbacks_of_one_resource_go_out_in_order() -> None:
    slow_first: list[float] = [0.01]

    sender = ScriptedSender()

    async def deliver_slowly(*args: object, **kwargs: object) -> object:
        await asyncio.sleep(slow_first.pop() if slow_first else 0)
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    original = sender._send
    sender._send = deliver_slowly  # type: ignore[method-assign, assignment]
    for status in ("queued", "sent", "delivered"):
        sender.post_status(
            MESSAGE, "https://app.example.com/s", {**PARAMS, "MessageStatus": status}
        )
    await settle(sender)
    assert statuses(sender) == ["queued", "sent", "delivered"]
    assert {e.kind for e in sender.log.entries} == {"status_callback"}
    assert sender._chains == {}


async def test_the_duplicate_fault_sends_twice_with_one_token() -> None:
    faults = Faults(FaultSettings(duplicate_callbacks=FaultRule(rate=1.0, count=1)))
    sender = ScriptedSender(faults)
    sender.post_status(MESSAGE, "https://app.example.com/s", PARAMS)
    await settle(sender)
    first, second = sender.log.entries
    assert (first.duplicate, second.duplicate) == (False, True)
    assert first.idempotency_token == second.idempotency_token


async def test_the_out_of_order_fault_holds_a_callback_until_the_next_one() -> None:
    faults = Faults(FaultSettings(out_of_order_callbacks=FaultRule(rate=1.0, count=1)))
    sender = ScriptedSender(faults)
    for status in ("sent", "delivered"):
        sender.post_status(
            MESSAGE, "https://app.example.com/s", {**PARAMS, "MessageStatus": status}
        )
    await settle(sender)
    assert statuses(sender) == ["delivered", "sent"]


async def test_flush_sends_what_is_held_back() -> None:
    faults = Faults(FaultSettings(out_of_order_callbacks=FaultRule(rate=1.0)))
    sender = ScriptedSender(faults)
    sender.post_status(MESSAGE, "https://app.example.com/s", PARAMS)
    await settle(sender)
    assert sender.exchanges == []
    sender.flush(MESSAGE)
    sender.flush(MESSAGE)  # nothing left: no second delivery
    await settle(sender)
    assert statuses(sender) == ["sent"]


async def test_a_get_status_callback_uses_get() -> None:
    sender = ScriptedSender()
    sender.post_status(CALL, "https://app.example.com/s", {"CallStatus": "ringing"}, method="get")
    await settle(sender)
    assert sender.exchanges[0].method == "GET"
    assert "CallStatus=ringing" in sender.exchanges[0].url


def test_the_log_numbers_deliveries_from_one_again_after_clear() -> None:
    log = DeliveryLog()
    assert [log.new_id(), log.new_id()] == [1, 2]
    log.clear()
    assert log.new_id() == 1
    assert log.entries == []
