"""The TwiML interpreter on its own: parsing, verbs, Gather/Redirect/Dial/Record navigation.

The runner's I/O is a small in-memory stand-in here (the integration tests drive it over HTTP).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from emulators.twilio_api.twiml_runner import (
    DOCUMENT_PARSE_FAILURE,
    HTTP_RETRIEVAL_FAILURE,
    DialResult,
    Recording,
    Transcript,
    TwimlError,
    TwimlRunner,
    parse_twiml,
)

BASE = "https://app.example.com/voice"
CALL_PARAMS = {"CallSid": "CA" + "1" * 32, "From": "+15005550006", "To": "+15551230000"}

type Page = Callable[[Mapping[str, str]], str]


@dataclass
class FakeCallIO:
    """Serves TwiML pages from a dict and records every request and side effect."""

    pages: dict[str, Page]
    digits: list[str | None] = field(default_factory=list)
    dial_status: str = "completed"
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    waited: float = 0.0
    messages: list[tuple[str, str, str]] = field(default_factory=list)

    async def fetch(self, url: str, method: str, params: Mapping[str, str]) -> str:
        self.requests.append((url, method, dict(params)))
        if url not in self.pages:
            raise TwimlError(HTTP_RETRIEVAL_FAILURE, f"no page {url}")
        return self.pages[url](params)

    async def wait(self, seconds: float) -> None:
        self.waited += seconds

    def next_digits(self) -> str | None:
        return self.digits.pop(0) if self.digits else None

    def recording_seconds(self) -> int | None:
        return 7

    async def dial(self, target: str, ring_seconds: int, caller_id: str | None) -> DialResult:
        return DialResult(status=self.dial_status, call_sid="CA" + "2" * 32, duration=12)

    async def record(self, duration: int) -> Recording:
        return Recording(sid="RE" + "3" * 32, url="http://emu/Recordings/RE3", duration=duration)

    async def send_message(
        self, to: str, from_: str, body: str, status_callback: str | None
    ) -> str:
        self.messages.append((to, from_, body))
        return "SM" + "4" * 32


def page(response: VoiceResponse) -> Page:
    text = str(response)
    return lambda _params: text


def runner(io: FakeCallIO) -> TwimlRunner:
    return TwimlRunner(io, CALL_PARAMS, Transcript())


async def test_say_play_pause_are_kept_in_order_with_their_details() -> None:
    response = VoiceResponse()
    response.say("Hello there", voice="alice", language="en-US")
    response.play("https://cdn.example.com/a.mp3", loop=2)
    response.pause(length=3)
    io = FakeCallIO({BASE: page(response)})
    run = runner(io)

    outcome = await run.run_url(BASE, "POST")

    assert outcome.ended_by == "end"
    assert run.transcript.entries == [
        {"verb": "Say", "text": "Hello there", "voice": "alice", "language": "en-US", "loop": 1},
        {"verb": "Play", "url": "https://cdn.example.com/a.mp3", "loop": 2},
        {"verb": "Pause", "length": 3},
    ]
    assert io.requests == [(BASE, "POST", CALL_PARAMS)]
    assert io.waited > 3


async def test_gather_posts_digits_to_its_action_and_follows_the_answer() -> None:
    menu = VoiceResponse()
    gather = Gather(action="/voice/choice", num_digits=1)
    gather.say("Press 1")
    menu.append(gather)
    menu.say("never reached")
    choice = VoiceResponse()
    choice.say("You chose")
    choice.hangup()
    io = FakeCallIO(
        {BASE: page(menu), "https://app.example.com/voice/choice": page(choice)}, digits=["17"]
    )
    run = runner(io)

    outcome = await run.run_url(BASE, "GET")

    assert outcome.ended_by == "hangup"
    url, method, params = io.requests[1]
    assert (url, method) == ("https://app.example.com/voice/choice", "POST")
    assert params["Digits"] == "1"
    assert params["CallSid"] == CALL_PARAMS["CallSid"]
    assert run.transcript.digits == ["1"]
    spoken = [e["text"] for e in run.transcript.entries if e["verb"] == "Say"]
    assert spoken == ["Press 1", "You chose"]


async def test_gather_without_action_posts_to_the_current_document() -> None:
    calls = 0

    def menu(params: Mapping[str, str]) -> str:
        nonlocal calls
        calls += 1
        response = VoiceResponse()
        if "Digits" in params:
            response.say(f"got {params['Digits']}")
        else:
            response.gather(finish_on_key="#")
        return str(response)

    io = FakeCallIO({BASE: menu}, digits=["42#9"])
    run = runner(io)

    await run.run_url(BASE, "POST")

    assert calls == 2
    assert io.requests[1][2]["Digits"] == "42"
    assert io.requests[1][2]["FinishedOnKey"] == "#"
    assert run.transcript.entries[-1] == {"verb": "Say", "text": "got 42", "loop": 1}


async def test_gather_without_input_continues_with_the_next_verb() -> None:
    response = VoiceResponse()
    response.gather(action="/voice/choice", timeout=4)
    response.say("No input received")
    io = FakeCallIO({BASE: page(response)}, digits=[None])
    run = runner(io)

    outcome = await run.run_url(BASE, "POST")

    assert outcome.ended_by == "end"
    assert len(io.requests) == 1
    assert run.transcript.entries[-1]["text"] == "No input received"
    assert run.transcript.digits == []


async def test_action_on_empty_result_posts_empty_digits() -> None:
    response = VoiceResponse()
    response.gather(action="/voice/choice", action_on_empty_result=True)
    io = FakeCallIO(
        {BASE: page(response), "https://app.example.com/voice/choice": page(VoiceResponse())}
    )

    await runner(io).run_url(BASE, "POST")

    assert io.requests[1][2]["Digits"] == ""


async def test_redirect_fetches_the_next_document_with_its_method() -> None:
    first = VoiceResponse()
    first.redirect("https://other.example.com/next?x=1", method="GET")
    second = VoiceResponse()
    second.say("Redirected")
    io = FakeCallIO({BASE: page(first), "https://other.example.com/next?x=1": page(second)})
    run = runner(io)

    await run.run_url(BASE, "POST")

    assert io.requests[1][:2] == ("https://other.example.com/next?x=1", "GET")
    assert run.transcript.documents == [f"POST {BASE}", "GET https://other.example.com/next?x=1"]


async def test_reject_reports_its_reason() -> None:
    response = VoiceResponse()
    response.reject(reason="busy")
    response.say("not reached")

    outcome = await runner(FakeCallIO({BASE: page(response)})).run_url(BASE, "POST")

    assert (outcome.ended_by, outcome.reject_reason) == ("reject", "busy")


async def test_dial_posts_its_result_to_the_action() -> None:
    response = VoiceResponse()
    dial = Dial(action="https://app.example.com/dialed")
    dial.number("+15557654321")
    response.append(dial)
    io = FakeCallIO(
        {BASE: page(response), "https://app.example.com/dialed": page(VoiceResponse())},
        dial_status="busy",
    )
    run = runner(io)

    await run.run_url(BASE, "POST")

    params = io.requests[1][2]
    assert params["DialCallStatus"] == "busy"
    assert params["DialCallDuration"] == "12"
    assert run.transcript.entries[0]["number"] == "+15557654321"


async def test_record_posts_the_recording_url() -> None:
    response = VoiceResponse()
    response.record(action="https://app.example.com/recorded", max_length=5)
    io = FakeCallIO(
        {BASE: page(response), "https://app.example.com/recorded": page(VoiceResponse())}
    )

    await runner(io).run_url(BASE, "POST")

    params = io.requests[1][2]
    assert params["RecordingUrl"] == "http://emu/Recordings/RE3"
    assert params["RecordingDuration"] == "5"


async def test_message_inside_voice_twiml_sends_to_the_callee_by_default() -> None:
    response = VoiceResponse()
    response.sms("Your code is 1234")
    io = FakeCallIO({BASE: page(response)})
    run = runner(io)

    await run.run_url(BASE, "POST")

    assert io.messages == [("+15551230000", "+15005550006", "Your code is 1234")]
    assert run.transcript.entries[0]["message_sid"] == "SM" + "4" * 32


async def test_inline_twiml_runs_without_a_url() -> None:
    response = VoiceResponse()
    response.say("Inline")
    response.gather(num_digits=2)
    io = FakeCallIO({}, digits=["99"])
    run = runner(io)

    outcome = await run.run_twiml(str(response))

    # An inline document has no URL for a default Gather action: the call goes on.
    assert outcome.ended_by == "end"
    assert io.requests == []
    assert run.transcript.digits == ["99"]


@pytest.mark.parametrize(
    "text",
    [
        "not xml at all",
        "<Response><Say>unclosed</Response>",
        "<Speak>wrong root</Speak>",
        "<Response><Dance/></Response>",
        "<Response><Gather><Dial>+1555</Dial></Gather></Response>",
        '<Response><Pause length="long"/></Response>',
    ],
)
def test_invalid_documents_are_parse_failures(text: str) -> None:
    with pytest.raises(TwimlError) as error:
        parse_twiml(text)
    assert error.value.code == DOCUMENT_PARSE_FAILURE


async def test_unreachable_redirect_target_is_a_retrieval_failure() -> None:
    response = VoiceResponse()
    response.redirect("https://nowhere.example.com/")

    with pytest.raises(TwimlError) as error:
        await runner(FakeCallIO({BASE: page(response)})).run_url(BASE, "POST")

    assert error.value.code == HTTP_RETRIEVAL_FAILURE


async def test_a_document_redirecting_to_itself_forever_is_stopped() -> None:
    response = VoiceResponse()
    response.redirect(BASE)

    with pytest.raises(TwimlError, match="emulator limit"):
        await runner(FakeCallIO({BASE: page(response)})).run_url(BASE, "POST")
