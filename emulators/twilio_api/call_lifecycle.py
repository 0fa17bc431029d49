"""A call's life: the CPS dial queue, dialing, ringing, answering (with AMD), running its TwiML,
hanging up, and the call-progress callbacks Twilio posts along the way.

queued → (initiated) → ringing → in-progress → completed, or busy / no-answer / failed / canceled,
as the callee's script or the emulator's outcome numbers say. Times are emulated seconds, scaled by
`--speed` through the emulator's clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from emulators.twilio_api.call_numbers import number_behaviour
from emulators.twilio_api.call_resource import API_VERSION, Call, CallParams, price_for
from emulators.twilio_api.callees import CalleeBook
from emulators.twilio_api.clock import rfc2822, utc_now
from emulators.twilio_api.context import Emulator
from emulators.twilio_api.sids import new_sid
from emulators.twilio_api.twiml_runner import (
    HTTP_RETRIEVAL_FAILURE,
    DialResult,
    Recording,
    RunOutcome,
    TwimlError,
    TwimlRunner,
)

# Emulated seconds for each phase when the callee's script does not say.
DIAL_SECONDS = 1.0
RING_SECONDS = 3.0
BUSY_RING_SECONDS = 2.0
DIALED_LEG_TALK_SECONDS = 10.0

# Twilio's SipResponseCode on terminal call-progress events.
SIP_CODES = {
    "completed": "200",
    "busy": "486",
    "no-answer": "487",
    "canceled": "487",
    "failed": "500",
}

# Creates the message of a `<Message>` verb (To, From, Body, StatusCallback); answers its SID.
type MessageSender = Callable[[str, str, str, str | None], Awaitable[str]]
type Conversation = Callable[[TwimlRunner], Awaitable[RunOutcome]]


@dataclass(frozen=True)
class Behaviour:
    """How the callee behaves on this call (script over outcome number over defaults)."""

    outcome: str
    answered_by: str | None
    ring_seconds: float
    talk_seconds: float | None
    record_seconds: int | None
    digits: tuple[str | None, ...]


class CallEngine:
    """Every call of the emulator and the tasks that play their lives."""

    def __init__(self, emulator: Emulator, send_sms: MessageSender) -> None:
        """`send_sms` creates a message for `<Message>`/`<Sms>` (to, from, body, callback)."""
        self._emulator = emulator
        self._send_sms = send_sms
        self.callees = CalleeBook()
        self.calls: dict[str, Call] = {}
        self._next_slot = 0.0  # time.monotonic() at which the next call may be dialed
        self._seq = 0
        self._answered_at: dict[str, float] = {}  # call SID -> time.monotonic() of answer
        # Call SID -> the callee's key presses not yet used; each <Gather> takes the next one,
        # also across a redirect of the call.
        self._digits_left: dict[str, list[str | None]] = {}

    def reset(self) -> None:
        """Forget every call and callee script (the running tasks are cancelled by the reset)."""
        self.calls.clear()
        self.callees.clear()
        self._answered_at.clear()
        self._digits_left.clear()
        self._next_slot = 0.0
        self._seq = 0

    # -- create -----------------------------------------------------------------------------

    def place(self, to: str, from_: str, request: CallParams, api_base: str) -> Call:
        """Store a new queued call and start its life at the next free CPS slot."""
        clock = self._emulator.clock
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + clock.real_seconds(1.0 / self._emulator.config.cps)
        created = utc_now()
        self._seq += 1
        call = Call(
            sid=new_sid("CA"),
            account_sid=self._emulator.config.account_sid,
            to=to,
            from_=from_,
            request=request,
            date_created=created,
            date_updated=created,
            queue_time_ms=round((slot - now) * clock.speed * 1000),
            seq=self._seq,
            api_base=api_base,
        )
        self.calls[call.sid] = call
        call.task = self._emulator.background.spawn(self._live(call, slot - now))
        return call

    def test_call(self, to: str, from_: str, request: CallParams, api_base: str) -> Call:
        """A queued call as Twilio answers test credentials: not stored, never dialed."""
        created = utc_now()
        return Call(
            sid=new_sid("CA"),
            account_sid=self._emulator.config.test_account_sid,
            to=to,
            from_=from_,
            request=request,
            date_created=created,
            date_updated=created,
            queue_time_ms=0,
            seq=0,
            api_base=api_base,
        )

    # -- update -----------------------------------------------------------------------------

    def hang_up(self, call: Call, status: str) -> None:
        """`Status=canceled|completed`: cancel a queued/ringing call, end an in-progress one.

        As on Twilio, `canceled` does nothing to a call already in progress, and a call
        canceled while still queued fires no callbacks.
        """
        if call.status in ("queued", "ringing"):
            self._stop(call)
            self._finish(call, "canceled", notify=call.status != "queued")
        elif call.status == "in-progress" and status == "completed":
            self._stop(call)
            call.transcript.add("Hangup", by="api")
            self._finish(call, "completed")

    def redirect(self, call: Call, conversation: Conversation) -> None:
        """Replace the running TwiML of an in-progress call (update with `Url` or `Twiml`)."""
        self._stop(call)
        call.task = self._emulator.background.spawn(self._converse(call, conversation))

    def _stop(self, call: Call) -> None:
        if call.task is not None and not call.task.done():
            call.task.cancel()

    # -- the life ---------------------------------------------------------------------------

    def behaviour(self, call: Call) -> Behaviour:
        """The callee's behaviour for `call`: its script, else its outcome number, else human."""
        script = self.callees.get(call.to)
        number = number_behaviour(call.to)
        outcome = (script.outcome if script else None) or number.outcome
        answered_by = (script.answered_by if script else None) or number.answered_by
        return Behaviour(
            outcome=outcome,
            answered_by=answered_by,
            ring_seconds=(
                script.ring_seconds if script and script.ring_seconds is not None else RING_SECONDS
            ),
            talk_seconds=script.talk_seconds if script else None,
            record_seconds=script.record_seconds if script else None,
            digits=script.digits if script else (),
        )

    async def _live(self, call: Call, queued_real_seconds: float) -> None:
        clock = self._emulator.clock
        await asyncio.sleep(queued_real_seconds)
        behaviour = self.behaviour(call)
        call.start_time = utc_now()
        self._progress(call, "initiated", "initiated")
        await clock.sleep(DIAL_SECONDS)
        if behaviour.outcome == "failed":
            self._finish(call, "failed")
            return
        self._set_status(call, "ringing")
        self._progress(call, "ringing", "ringing")
        if behaviour.outcome == "busy":
            await clock.sleep(BUSY_RING_SECONDS)
            self._finish(call, "busy")
            return
        if behaviour.outcome == "no-answer" or behaviour.ring_seconds >= call.request.timeout:
            await clock.sleep(call.request.timeout)
            self._finish(call, "no-answer")
            return
        await clock.sleep(behaviour.ring_seconds)
        self._answer(call, behaviour)
        request = call.request
        if request.url is not None:
            url = request.url
            await self._converse(call, lambda runner: runner.run_url(url, request.method))
        else:
            twiml = request.twiml or ""
            await self._converse(call, lambda runner: runner.run_twiml(twiml))

    def _answer(self, call: Call, behaviour: Behaviour) -> None:
        request = call.request
        # Twilio ignores MachineDetection when SendDigits is set.
        if request.machine_detection and not request.send_digits:
            call.answered_by = _answered_by(behaviour.answered_by, request.machine_detection)
        self._answered_at[call.sid] = time.monotonic()
        self._digits_left[call.sid] = list(behaviour.digits)
        self._set_status(call, "in-progress")
        self._progress(call, "answered", "in-progress")
        if request.send_digits:
            call.transcript.add("SendDigits", digits=request.send_digits)

    async def _converse(self, call: Call, conversation: Conversation) -> None:
        """Run TwiML until it ends, the callee hangs up (talk_seconds) or a document fails."""
        behaviour = self.behaviour(call)
        io = _EngineCallIO(self, call, behaviour)
        runner = TwimlRunner(io, self.webhook_params(call, "in-progress"), call.transcript)
        hangup_at = None
        if behaviour.talk_seconds is not None:
            loop = asyncio.get_running_loop()
            elapsed = time.monotonic() - self._answered_at.get(call.sid, time.monotonic())
            remaining = self._emulator.clock.real_seconds(behaviour.talk_seconds) - elapsed
            hangup_at = loop.time() + max(0.0, remaining)
        try:
            async with asyncio.timeout_at(hangup_at):
                outcome = await conversation(runner)
        except TimeoutError:
            call.transcript.add("Hangup", by="callee")
            self._finish(call, "completed")
        except TwimlError as error:
            call.error_code, call.error_message = error.code, error.message
            call.transcript.add("Error", code=error.code, message=error.message)
            self._finish(call, "failed")
        else:
            self._finish(call, _final_status(outcome))

    # -- status and callbacks ---------------------------------------------------------------

    def _set_status(self, call: Call, status: str) -> None:
        call.status = status
        call.date_updated = utc_now()

    def _finish(self, call: Call, status: str, notify: bool = True) -> None:
        if call.ended:
            return
        now = utc_now()
        answered = self._answered_at.pop(call.sid, None)
        self._digits_left.pop(call.sid, None)
        call.end_time = now
        if answered is not None:
            # A started second counts, as in billing.
            talked = math.ceil((time.monotonic() - answered) * self._emulator.clock.speed)
            # Twilio: `duration` "is empty for busy, failed, unanswered, or ongoing calls".
            if status == "completed":
                call.duration = talked
                call.price = price_for(talked)
            if call.request.record:
                call.recording = self.new_recording(call, talked)
        self._set_status(call, status)
        if not notify:
            return
        extra = {
            "CallDuration": str(call.duration or 0),
            "Duration": str(math.ceil((call.duration or 0) / 60)),
            "SipResponseCode": SIP_CODES[status],
        }
        if call.recording is not None:
            extra |= {
                "RecordingUrl": call.recording.url,
                "RecordingSid": call.recording.sid,
                "RecordingDuration": str(call.recording.duration),
            }
        if call.error_code is not None:
            extra |= {"ErrorCode": str(call.error_code), "ErrorMessage": call.error_message or ""}
        self._progress(call, "completed", status, extra)
        self._emulator.callbacks.flush(call.sid)

    def _progress(
        self, call: Call, event: str, call_status: str, extra: Mapping[str, str] | None = None
    ) -> None:
        """Post a call-progress callback if the create asked for `event` ('completed' always)."""
        request = call.request
        if request.status_callback is None:
            return
        if event != "completed" and event not in request.status_callback_events:
            return
        params = {
            **self.webhook_params(call, call_status),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(call.sequence),
            "Timestamp": rfc2822(utc_now()),
            **(extra or {}),
        }
        call.sequence += 1
        call.events.append(call_status)
        self._emulator.callbacks.post_status(
            call.sid, request.status_callback, params, request.status_callback_method
        )

    def webhook_params(self, call: Call, call_status: str) -> dict[str, str]:
        """Twilio's standard parameters on every voice webhook for this call."""
        params = {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": call_status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
        }
        if call.answered_by is not None:
            params["AnsweredBy"] = call.answered_by
        return params

    def new_recording(self, call: Call, duration: int) -> Recording:
        """A recording resource address like Twilio's (the emulator keeps no audio)."""
        sid = new_sid("RE")
        url = f"{call.api_base}/{API_VERSION}/Accounts/{call.account_sid}/Recordings/{sid}"
        return Recording(sid=sid, url=url, duration=duration)

    async def fetch_twiml(
        self, call: Call, url: str, method: str, params: Mapping[str, str]
    ) -> str:
        """Fetch a TwiML document for `call`, signed; raise `TwimlError(11200)` on failure."""
        result = await self._emulator.callbacks.fetch(call.sid, url, dict(params), method)
        if not result.ok:
            reason = f"HTTP {result.status}" if result.status is not None else result.error
            raise TwimlError(HTTP_RETRIEVAL_FAILURE, f"HTTP retrieval failure: {url}: {reason}")
        return result.body

    def next_digits(self, call: Call) -> str | None:
        """The callee's key presses for the call's next `<Gather>` (None: no input)."""
        left = self._digits_left.get(call.sid)
        return left.pop(0) if left else None

    async def wait(self, seconds: float) -> None:
        """Let `seconds` of emulated time pass."""
        await self._emulator.clock.sleep(seconds)

    async def send_sms(self, to: str, from_: str, body: str, status_callback: str | None) -> str:
        """Send an SMS for a `<Message>` verb through the Messages side of the emulator."""
        return await self._send_sms(to, from_, body, status_callback)

    async def dial_leg(self, target: str, ring_limit: int) -> DialResult:
        """Play a `<Dial>`ed leg to `target` per its callee script or outcome number."""
        clock = self._emulator.clock
        script = self.callees.get(target)
        outcome = (script.outcome if script else None) or number_behaviour(target).outcome
        ring = script.ring_seconds if script and script.ring_seconds is not None else RING_SECONDS
        sid = new_sid("CA")
        await clock.sleep(DIAL_SECONDS)
        if outcome in ("busy", "failed"):
            return DialResult(status=outcome, call_sid=sid, duration=0)
        if outcome == "no-answer" or ring >= ring_limit:
            await clock.sleep(ring_limit)
            return DialResult(status="no-answer", call_sid=sid, duration=0)
        talk = script.talk_seconds if script and script.talk_seconds is not None else None
        seconds = DIALED_LEG_TALK_SECONDS if talk is None else talk
        await clock.sleep(ring + seconds)
        return DialResult(status="completed", call_sid=sid, duration=round(seconds))


class _EngineCallIO:
    """The runner's I/O for one call: signed fetches, the scaled clock, the callee's script."""

    def __init__(self, engine: CallEngine, call: Call, behaviour: Behaviour) -> None:
        self._engine = engine
        self._call = call
        self._behaviour = behaviour

    async def fetch(self, url: str, method: str, params: Mapping[str, str]) -> str:
        return await self._engine.fetch_twiml(self._call, url, method, params)

    async def wait(self, seconds: float) -> None:
        await self._engine.wait(seconds)

    def next_digits(self) -> str | None:
        return self._engine.next_digits(self._call)

    def recording_seconds(self) -> int | None:
        return self._behaviour.record_seconds

    async def dial(self, target: str, ring_seconds: int, caller_id: str | None) -> DialResult:
        del caller_id  # the dialed leg behaves the same whoever it seems to come from
        return await self._engine.dial_leg(target, ring_seconds)

    async def record(self, duration: int) -> Recording:
        return self._engine.new_recording(self._call, duration)

    async def send_message(
        self, to: str, from_: str, body: str, status_callback: str | None
    ) -> str:
        return await self._engine.send_sms(to, from_, body, status_callback)


def _answered_by(scripted: str | None, mode: str) -> str:
    """Twilio's AnsweredBy for a scripted answerer under MachineDetection `mode`."""
    if scripted == "machine":
        return "machine_end_beep" if mode == "DetectMessageEnd" else "machine_start"
    return scripted or "human"


def _final_status(outcome: RunOutcome) -> str:
    # <Reject> refuses the call: busy if the reason says so, else like an unanswered call.
    if outcome.ended_by == "reject":
        return "busy" if outcome.reject_reason == "busy" else "no-answer"
    return "completed"
