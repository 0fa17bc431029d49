"""A call's life through the CallEngine on a fast emulated clock (1000x): CPS queue, outcomes,
AMD, hang-ups, redirects, the callee's script, TwiML failures, recordings and the callbacks
Twilio posts. Callbacks and TwiML fetches go to an in-memory recorder, SMS to a list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from emulators.twilio_api.call_lifecycle import CallEngine
from emulators.twilio_api.call_resource import Call, CallParams
from emulators.twilio_api.callbacks import FetchResult
from emulators.twilio_api.callees import CalleeScript
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.context import Emulator

TO = "+15551230000"
FROM = "+15005550006"
STATUS_URL = "https://app.example.com/status"
VOICE_URL = "https://app.example.com/voice"
API_BASE = "http://127.0.0.1:8701"
SAY = "<Response><Say>hi</Say></Response>"


@dataclass
class RecordedWebhooks:
    """Stands in for the CallbackSender: keeps status callbacks, answers fetches from `pages`."""

    pages: dict[str, FetchResult] = field(default_factory=dict)
    posted: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    fetched: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    flushed: list[str] = field(default_factory=list)

    def post_status(self, sid: str, url: str, params: dict[str, str], method: str = "POST") -> None:
        assert params["CallSid"] == sid
        self.posted.append((url, params, method))

    def flush(self, sid: str) -> None:
        self.flushed.append(sid)

    async def fetch(
        self, sid: str, url: str, params: dict[str, str], method: str = "POST"
    ) -> FetchResult:
        self.fetched.append((url, params, method))
        return self.pages.get(url, FetchResult(404, "", "text/plain", None))

    def statuses(self) -> list[str]:
        return [params["CallStatus"] for _, params, _ in self.posted]


@dataclass
class Rig:
    emulator: Emulator
    engine: CallEngine
    webhooks: RecordedWebhooks
    sms: list[tuple[str, str, str, str | None]]

    def place(self, to: str = TO, **changes: Any) -> Call:
        return self.engine.place(to, FROM, params(**changes), API_BASE)


def params(**changes: Any) -> CallParams:
    fields: dict[str, Any] = {
        "url": None,
        "method": "POST",
        "twiml": SAY,
        "status_callback": STATUS_URL,
        "status_callback_method": "POST",
        "status_callback_events": frozenset({"initiated", "ringing", "answered", "completed"}),
        "timeout": 60,
        "machine_detection": None,
        "record": False,
        "send_digits": None,
    }
    fields.update(changes)
    return CallParams(**fields)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    emulator = Emulator.from_config(EmulatorConfig(speed=1000, cps=1000))
    webhooks = RecordedWebhooks()
    emulator.callbacks = webhooks  # type: ignore[assignment]
    sms: list[tuple[str, str, str, str | None]] = []

    async def send_sms(to: str, from_: str, body: str, callback: str | None) -> str:
        sms.append((to, from_, body, callback))
        return "SM" + "9" * 32

    yield Rig(emulator, CallEngine(emulator, send_sms), webhooks, sms)
    await emulator.background.cancel_all()


async def live(call: Call) -> None:
    """Wait until the call's life (including any redirect) is over."""
    while call.task is not None and not call.task.done():
        await asyncio.wait([call.task])


async def test_an_answered_call_runs_its_twiml_and_completes(rig: Rig) -> None:
    call = rig.place()
    assert call.status == "queued"
    assert call in rig.engine.calls.values()
    await live(call)
    assert call.status == "completed"
    assert rig.webhooks.statuses() == ["initiated", "ringing", "in-progress", "completed"]
    sequence = [p["SequenceNumber"] for _, p, _ in rig.webhooks.posted]
    assert sequence == ["0", "1", "2", "3"]
    final = rig.webhooks.posted[-1][1]
    assert final["SipResponseCode"] == "200"
    assert final["CallbackSource"] == "call-progress-events"
    assert int(final["CallDuration"]) == call.duration
    assert call.duration is not None
    assert call.duration >= 1
    assert call.price is not None
    assert call.price.startswith("-")
    assert call.start_time is not None
    assert call.end_time is not None
    assert [entry["verb"] for entry in call.transcript.entries] == ["Say"]
    assert rig.webhooks.flushed == [call.sid]


async def test_only_the_asked_events_are_posted_but_completed_always(rig: Rig) -> None:
    call = rig.place(status_callback_events=frozenset({"ringing"}))
    await live(call)
    assert rig.webhooks.statuses() == ["ringing", "completed"]
    assert call.events == ["ringing", "completed"]


async def test_without_a_status_callback_nothing_is_posted(rig: Rig) -> None:
    call = rig.place(status_callback=None)
    await live(call)
    assert call.status == "completed"
    assert rig.webhooks.posted == []


@pytest.mark.parametrize(
    ("to", "status", "statuses", "sip"),
    [
        ("+15550100001", "busy", ["initiated", "ringing", "busy"], "486"),
        ("+15550100002", "no-answer", ["initiated", "ringing", "no-answer"], "487"),
        ("+15550100003", "failed", ["initiated", "failed"], "500"),
    ],
)
async def test_outcome_numbers(
    rig: Rig, to: str, status: str, statuses: list[str], sip: str
) -> None:
    call = rig.place(to, timeout=5)
    await live(call)
    assert call.status == status
    assert rig.webhooks.statuses() == statuses
    assert rig.webhooks.posted[-1][1]["SipResponseCode"] == sip
    assert (call.duration, call.price) == (None, None)
    assert call.transcript.entries == []


async def test_a_ring_longer_than_the_timeout_is_no_answer(rig: Rig) -> None:
    rig.engine.callees.put(CalleeScript(TO, ring_seconds=10))
    call = rig.place(timeout=5)
    await live(call)
    assert call.status == "no-answer"


@pytest.mark.parametrize(
    ("to", "mode", "send_digits", "answered_by"),
    [
        ("+15550100004", "Enable", None, "machine_start"),
        ("+15550100004", "DetectMessageEnd", None, "machine_end_beep"),
        ("+15550100005", "Enable", None, "fax"),
        (TO, "Enable", None, "human"),
        ("+15550100004", "Enable", "1234", None),
        ("+15550100004", None, None, None),
    ],
)
async def test_answering_machine_detection(
    rig: Rig, to: str, mode: str | None, send_digits: str | None, answered_by: str | None
) -> None:
    call = rig.place(to, machine_detection=mode, send_digits=send_digits)
    await live(call)
    assert call.answered_by == answered_by
    answered = rig.webhooks.posted[2][1]
    assert answered.get("AnsweredBy") == answered_by


async def test_send_digits_are_in_the_transcript(rig: Rig) -> None:
    call = rig.place(send_digits="12#")
    await live(call)
    assert call.transcript.entries[0] == {"verb": "SendDigits", "digits": "12#"}


async def test_a_queued_call_canceled_sends_no_callback(rig: Rig) -> None:
    call = rig.place()
    rig.engine.hang_up(call, "canceled")
    await live(call)
    assert call.status == "canceled"
    assert rig.webhooks.posted == []


async def test_canceling_a_call_in_progress_does_nothing_but_completed_ends_it(rig: Rig) -> None:
    call = rig.place(twiml="<Response><Pause length='600'/></Response>")
    while call.status != "in-progress":
        await rig.emulator.clock.sleep(0.5)
    rig.engine.hang_up(call, "canceled")
    assert call.status == "in-progress"
    rig.engine.hang_up(call, "completed")
    assert call.status == "completed"
    assert call.transcript.entries[-1] == {"verb": "Hangup", "by": "api"}
    assert rig.webhooks.statuses()[-1] == "completed"


async def test_redirect_replaces_the_running_twiml(rig: Rig) -> None:
    call = rig.place(twiml="<Response><Pause length='600'/></Response>")
    while call.status != "in-progress":
        await rig.emulator.clock.sleep(0.5)
    rig.engine.redirect(call, lambda runner: runner.run_twiml("<Response><Hangup/></Response>"))
    await live(call)
    assert call.status == "completed"
    assert [e["verb"] for e in call.transcript.entries][-1] == "Hangup"


async def test_the_callee_hangs_up_after_talk_seconds(rig: Rig) -> None:
    rig.engine.callees.put(CalleeScript(TO, talk_seconds=2))
    call = rig.place(twiml="<Response><Pause length='600'/></Response>")
    await live(call)
    assert call.status == "completed"
    assert call.transcript.entries[-1] == {"verb": "Hangup", "by": "callee"}
    assert call.duration is not None
    assert call.duration < 600


async def test_twiml_is_fetched_signed_with_the_call_params(rig: Rig) -> None:
    rig.webhooks.pages[VOICE_URL] = FetchResult(200, SAY, "text/xml", None)
    call = rig.place(url=VOICE_URL, twiml=None, method="GET")
    await live(call)
    assert call.status == "completed"
    ((url, sent, method),) = rig.webhooks.fetched
    assert (url, method) == (VOICE_URL, "GET")
    assert sent["CallStatus"] == "in-progress"
    assert (sent["To"], sent["From"], sent["Direction"]) == (TO, FROM, "outbound-api")


async def test_a_twiml_fetch_failure_fails_the_call_with_11200(rig: Rig) -> None:
    call = rig.place(url=VOICE_URL, twiml=None)
    await live(call)
    assert call.status == "failed"
    assert call.error_code == 11200
    assert call.error_message is not None
    assert "HTTP 404" in call.error_message
    final = rig.webhooks.posted[-1][1]
    assert final["ErrorCode"] == "11200"
    assert final["SipResponseCode"] == "500"


@pytest.mark.parametrize(("reason", "status"), [("busy", "busy"), ("rejected", "no-answer")])
async def test_reject_ends_as_busy_or_no_answer(rig: Rig, reason: str, status: str) -> None:
    call = rig.place(twiml=f'<Response><Reject reason="{reason}"/></Response>')
    await live(call)
    assert call.status == status


async def test_a_recorded_call_reports_its_recording(rig: Rig) -> None:
    call = rig.place(record=True)
    await live(call)
    assert call.recording is not None
    assert call.recording.url.startswith(f"{API_BASE}/2010-04-01/Accounts/")
    assert call.recording.sid.startswith("RE")
    final = rig.webhooks.posted[-1][1]
    assert final["RecordingSid"] == call.recording.sid


async def test_gathers_take_the_scripted_digits_in_turn(rig: Rig) -> None:
    rig.engine.callees.put(CalleeScript(TO, digits=("1", "2")))
    gather = "<Gather numDigits='1' timeout='1'><Say>press</Say></Gather>"
    call = rig.place(twiml=f"<Response>{gather}{gather}{gather}</Response>")
    await live(call)
    assert call.transcript.digits == ["1", "2"]


async def test_a_message_verb_sends_through_the_messages_side(rig: Rig) -> None:
    call = rig.place(twiml="<Response><Message>hello</Message></Response>")
    await live(call)
    assert rig.sms == [(TO, FROM, "hello", None)]


async def test_calls_wait_for_their_cps_slot(rig: Rig) -> None:
    rig.emulator.config.cps = 1.0
    rig.emulator.clock.speed = 1.0
    first, second, third = (rig.place() for _ in range(3))
    assert first.queue_time_ms == 0
    assert second.queue_time_ms == pytest.approx(1000, abs=20)
    assert third.queue_time_ms == pytest.approx(2000, abs=20)
    assert [c.seq for c in (first, second, third)] == [1, 2, 3]


async def test_test_calls_are_neither_stored_nor_dialed(rig: Rig) -> None:
    call = rig.engine.test_call(TO, FROM, params(), API_BASE)
    assert call.account_sid == rig.emulator.config.test_account_sid
    assert call.task is None
    assert rig.engine.calls == {}


async def test_reset_forgets_calls_and_scripts(rig: Rig) -> None:
    rig.engine.callees.put(CalleeScript(TO))
    rig.place()
    rig.engine.reset()
    assert rig.engine.calls == {}
    assert rig.engine.callees.all() == []
    assert rig.place().seq == 1


@pytest.mark.parametrize(
    ("target", "script", "status"),
    [
        ("+15550100001", None, "busy"),
        ("+15550100003", None, "failed"),
        ("+15550100002", None, "no-answer"),
        (TO, CalleeScript(TO, ring_seconds=30), "no-answer"),
        (TO, CalleeScript(TO, talk_seconds=7), "completed"),
    ],
)
async def test_dialed_legs(rig: Rig, target: str, script: CalleeScript | None, status: str) -> None:
    if script is not None:
        rig.engine.callees.put(script)
    result = await rig.engine.dial_leg(target, ring_limit=20)
    assert result.status == status
    assert result.call_sid.startswith("CA")
    assert result.duration == (7 if status == "completed" else 0)
