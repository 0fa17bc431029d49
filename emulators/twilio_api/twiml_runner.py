"""Parse TwiML voice documents and run them the way Twilio drives an answered call.

Pure logic: every side effect (fetching a document, waiting, dialing, sending an SMS, making a
recording, reading the callee's scripted key presses) goes through the `CallIO` the caller injects,
so the interpreter can be tested without HTTP and the call's life stays in `call_lifecycle`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urljoin

# Twilio's debugger codes for the two ways a TwiML document can fail.
HTTP_RETRIEVAL_FAILURE = 11200
DOCUMENT_PARSE_FAILURE = 12100

# Emulated seconds a verb takes, so durations and the `--speed` clock mean something:
# speech at 150 words a minute, and a fixed length for audio the emulator never downloads.
SAY_WORDS_PER_SECOND = 2.5
PLAY_SECONDS = 3.0
DEFAULT_RECORD_SECONDS = 3
# A document that redirects to itself without pausing would otherwise spin forever.
MAX_DOCUMENTS_PER_CALL = 100

# Valid TwiML verbs the emulator accepts but does not act on (noted in the transcript).
UNEMULATED_VERBS = frozenset(
    {"Connect", "Echo", "Enqueue", "Leave", "Pay", "Prompt", "Queue", "Refer", "Start", "Stop"}
)
GATHER_CHILDREN = frozenset({"Say", "Play", "Pause"})

type TranscriptEntry = dict[str, object]


class TwimlError(Exception):
    """A document could not be fetched or understood; the call fails with Twilio's `code`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# Parsed verbs


@dataclass(frozen=True)
class Say:
    """`<Say>`: text spoken to the callee."""

    text: str
    voice: str | None = None
    language: str | None = None
    loop: int = 1


@dataclass(frozen=True)
class Play:
    """`<Play>`: an audio URL, or DTMF `digits` played into the call."""

    url: str
    loop: int = 1
    digits: str | None = None


@dataclass(frozen=True)
class Pause:
    """`<Pause>`: silence for `length` seconds."""

    length: int = 1


@dataclass(frozen=True)
class Gather:
    """`<Gather>`: prompt with nested Say/Play/Pause, then collect key presses."""

    action: str | None = None
    method: str = "POST"
    timeout: int = 5
    num_digits: int | None = None
    finish_on_key: str = "#"
    action_on_empty_result: bool = False
    input: str = "dtmf"
    prompts: tuple[Say | Play | Pause, ...] = ()


@dataclass(frozen=True)
class Redirect:
    """`<Redirect>`: continue with the TwiML at `url`."""

    url: str
    method: str = "POST"


@dataclass(frozen=True)
class Hangup:
    """`<Hangup>`: end the call."""


@dataclass(frozen=True)
class Reject:
    """`<Reject>`: refuse the call; `reason` is `rejected` or `busy`."""

    reason: str = "rejected"


@dataclass(frozen=True)
class Dial:
    """`<Dial>`: connect the call to another party (the first of `targets` that answers)."""

    targets: tuple[str, ...]
    action: str | None = None
    method: str = "POST"
    timeout: int = 30
    caller_id: str | None = None


@dataclass(frozen=True)
class Record:
    """`<Record>`: record the callee, then request `action` with the recording."""

    action: str | None = None
    method: str = "POST"
    max_length: int = 3600
    play_beep: bool = True
    timeout: int = 5
    finish_on_key: str = "1234567890*#"


@dataclass(frozen=True)
class Message:
    """`<Message>` (or the older `<Sms>`) inside voice TwiML: send an SMS during the call."""

    body: str
    to: str | None = None
    from_: str | None = None
    status_callback: str | None = None
    verb: str = "Message"


@dataclass(frozen=True)
class Unemulated:
    """A valid verb the emulator does not act on."""

    name: str


type Verb = Say | Play | Pause | Gather | Redirect | Hangup | Reject | Dial | Record | Message
type Instruction = Verb | Unemulated


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_twiml(text: str) -> list[Instruction]:
    """Parse a TwiML voice document into verbs; raise `TwimlError(12100)` if it is not one."""
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"Document parse failure: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"root element is <{root.tag}>, not <Response>")
    return [_parse_verb(element) for element in root]


def _parse_verb(element: ET.Element) -> Instruction:
    tag = element.tag
    attrs = element.attrib
    text = (element.text or "").strip()
    match tag:
        case "Say":
            return _parse_say(element)
        case "Play":
            return _parse_play(element)
        case "Pause":
            return Pause(length=_int_attr(element, "length", 1))
        case "Gather":
            return _parse_gather(element)
        case "Redirect":
            if not text:
                raise TwimlError(DOCUMENT_PARSE_FAILURE, "<Redirect> needs a URL")
            return Redirect(url=text, method=_method(element))
        case "Hangup":
            return Hangup()
        case "Reject":
            return Reject(reason=attrs.get("reason", "rejected"))
        case "Dial":
            return _parse_dial(element)
        case "Record":
            return Record(
                action=attrs.get("action"),
                method=_method(element),
                max_length=_int_attr(element, "maxLength", 3600),
                play_beep=_bool_attr(element, "playBeep", True),
                timeout=_int_attr(element, "timeout", 5),
                finish_on_key=attrs.get("finishOnKey", "1234567890*#"),
            )
        case "Message" | "Sms":
            # <Message> nests its text in <Body>; <Sms> and the short form carry it directly.
            body_element = element.find("Body")
            body = (body_element.text or "") if body_element is not None else text
            return Message(
                body=body.strip(),
                to=attrs.get("to"),
                from_=attrs.get("from"),
                status_callback=attrs.get("statusCallback"),
                verb=tag,
            )
        case _ if tag in UNEMULATED_VERBS:
            return Unemulated(name=tag)
        case _:
            raise TwimlError(DOCUMENT_PARSE_FAILURE, f"unknown TwiML verb <{tag}>")


def _parse_say(element: ET.Element) -> Say:
    # <Say> may hold SSML children; their text is part of what is spoken.
    return Say(
        text=" ".join("".join(element.itertext()).split()),
        voice=element.get("voice"),
        language=element.get("language"),
        loop=_int_attr(element, "loop", 1),
    )


def _parse_play(element: ET.Element) -> Play:
    return Play(
        url=(element.text or "").strip(),
        loop=_int_attr(element, "loop", 1),
        digits=element.get("digits"),
    )


def _parse_gather(element: ET.Element) -> Gather:
    prompts: list[Say | Play | Pause] = []
    for child in element:
        if child.tag not in GATHER_CHILDREN:
            raise TwimlError(DOCUMENT_PARSE_FAILURE, f"<{child.tag}> is not allowed in <Gather>")
        verb = _parse_verb(child)
        assert isinstance(verb, Say | Play | Pause)
        prompts.append(verb)
    num_digits = element.get("numDigits")
    return Gather(
        action=element.get("action"),
        method=_method(element),
        timeout=_int_attr(element, "timeout", 5),
        num_digits=_parse_int("numDigits", num_digits) if num_digits is not None else None,
        finish_on_key=element.get("finishOnKey", "#"),
        action_on_empty_result=_bool_attr(element, "actionOnEmptyResult", False),
        input=element.get("input", "dtmf"),
        prompts=tuple(prompts),
    )


def _parse_dial(element: ET.Element) -> Dial:
    # A bare number (`<Dial>+1555…</Dial>`) or nouns (`<Number>`, `<Client>`, `<Sip>` …).
    targets = [" ".join((child.text or "").split()) for child in element]
    bare = (element.text or "").strip()
    if bare:
        targets.insert(0, bare)
    targets = [target for target in targets if target]
    if not targets:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, "<Dial> has nothing to dial")
    return Dial(
        targets=tuple(targets),
        action=element.get("action"),
        method=_method(element),
        timeout=_int_attr(element, "timeout", 30),
        caller_id=element.get("callerId"),
    )


def _method(element: ET.Element) -> str:
    method = element.get("method", "POST").upper()
    if method not in ("GET", "POST"):
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"<{element.tag}> method {method!r}")
    return method


def _int_attr(element: ET.Element, name: str, default: int) -> int:
    value = element.get(name)
    return default if value is None else _parse_int(name, value)


def _parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"{name}={value!r} is not an integer") from exc


def _bool_attr(element: ET.Element, name: str, default: bool) -> bool:
    value = element.get(name)
    return default if value is None else value.lower() == "true"


# ---------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class DialResult:
    """How a `<Dial>`ed leg ended: Twilio's `DialCallStatus`, its SID and seconds talked."""

    status: str
    call_sid: str
    duration: int


@dataclass(frozen=True)
class Recording:
    """A recording the emulator pretends to have made."""

    sid: str
    url: str
    duration: int


class CallIO(Protocol):
    """What the runner needs from the outside world during one call."""

    async def fetch(self, url: str, method: str, params: Mapping[str, str]) -> str:
        """Request TwiML signed like Twilio; return the body or raise `TwimlError(11200)`."""
        ...

    async def wait(self, seconds: float) -> None:
        """Let `seconds` of emulated call time pass."""
        ...

    def next_digits(self) -> str | None:
        """The callee's key presses for the next `<Gather>`, or None for no input."""
        ...

    def recording_seconds(self) -> int | None:
        """How long the callee talks into a `<Record>` (None: the emulator default)."""
        ...

    async def dial(self, target: str, ring_seconds: int, caller_id: str | None) -> DialResult:
        """Place the `<Dial>`ed leg and return how it ended."""
        ...

    async def record(self, duration: int) -> Recording:
        """Make a recording of `duration` seconds."""
        ...

    async def send_message(
        self, to: str, from_: str, body: str, status_callback: str | None
    ) -> str:
        """Send an SMS during the call; return its SID."""
        ...


@dataclass
class Transcript:
    """What happened on the call: verbs executed, documents fetched, digits entered."""

    entries: list[TranscriptEntry] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)

    def add(self, verb: str, **details: object) -> None:
        """Append one executed verb with its details (None values dropped)."""
        self.entries.append({"verb": verb, **{k: v for k, v in details.items() if v is not None}})


@dataclass(frozen=True)
class RunOutcome:
    """Why the TwiML stopped: `hangup` (verb), `end` (ran out of verbs) or `reject`."""

    ended_by: Literal["hangup", "end", "reject"]
    reject_reason: str | None = None


@dataclass(frozen=True)
class _Navigate:
    """Leave the current document for the TwiML at `url`."""

    url: str
    method: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Document:
    url: str | None
    verbs: list[Instruction]


class TwimlRunner:
    """Run one call's TwiML from its first document to the end of the call."""

    def __init__(
        self,
        io: CallIO,
        call_params: Mapping[str, str],
        transcript: Transcript,
    ) -> None:
        """`call_params` are Twilio's request parameters sent with every fetch (CallSid …)."""
        self._io = io
        self._call_params = dict(call_params)
        self.transcript = transcript
        self._documents_loaded = 0

    async def run_url(self, url: str, method: str) -> RunOutcome:
        """Fetch the TwiML at `url` and run it."""
        return await self._run(await self._load(_Navigate(url, method)))

    async def run_twiml(self, twiml: str) -> RunOutcome:
        """Run an inline TwiML document (the `Twiml` parameter): it has no URL of its own."""
        self.transcript.documents.append("(inline Twiml)")
        return await self._run(_Document(url=None, verbs=parse_twiml(twiml)))

    async def _load(self, target: _Navigate) -> _Document:
        self._documents_loaded += 1
        if self._documents_loaded > MAX_DOCUMENTS_PER_CALL:
            raise TwimlError(
                HTTP_RETRIEVAL_FAILURE,
                f"emulator limit: more than {MAX_DOCUMENTS_PER_CALL} documents on one call",
            )
        self.transcript.documents.append(f"{target.method} {target.url}")
        body = await self._io.fetch(
            target.url, target.method, {**self._call_params, **target.params}
        )
        return _Document(url=target.url, verbs=parse_twiml(body))

    async def _run(self, document: _Document) -> RunOutcome:
        while True:
            for verb in document.verbs:
                step = await self._execute(verb, document.url)
                if isinstance(step, RunOutcome):
                    return step
                if isinstance(step, _Navigate):
                    document = await self._load(step)
                    break
            else:
                return RunOutcome("end")

    async def _execute(
        self, verb: Instruction, document_url: str | None
    ) -> RunOutcome | _Navigate | None:
        match verb:
            case Say() | Play() | Pause():
                await self._speak(verb)
                return None
            case Gather():
                return await self._gather(verb, document_url)
            case Redirect(url=url, method=method):
                self.transcript.add("Redirect", url=url, method=method)
                return _Navigate(_absolute(url, document_url), method)
            case Hangup():
                self.transcript.add("Hangup")
                return RunOutcome("hangup")
            case Reject(reason=reason):
                self.transcript.add("Reject", reason=reason)
                return RunOutcome("reject", reject_reason=reason)
            case Dial():
                return await self._dial(verb, document_url)
            case Record():
                return await self._record(verb, document_url)
            case Message():
                await self._message(verb)
                return None
            case Unemulated(name=name):
                self.transcript.add(name, emulated=False)
                return None

    async def _speak(self, verb: Say | Play | Pause) -> None:
        match verb:
            case Say(text=text, voice=voice, language=language, loop=loop):
                self.transcript.add("Say", text=text, voice=voice, language=language, loop=loop)
                words = max(len(text.split()), 1)
                await self._io.wait(words / SAY_WORDS_PER_SECOND * max(loop, 1))
            case Play(url=url, loop=loop, digits=digits):
                self.transcript.add("Play", url=url or None, loop=loop, digits=digits)
                await self._io.wait(PLAY_SECONDS * max(loop, 1))
            case Pause(length=length):
                self.transcript.add("Pause", length=length)
                await self._io.wait(length)

    async def _gather(self, gather: Gather, document_url: str | None) -> _Navigate | None:
        self.transcript.add(
            "Gather",
            action=gather.action,
            num_digits=gather.num_digits,
            timeout=gather.timeout,
            finish_on_key=gather.finish_on_key,
        )
        for prompt in gather.prompts:
            await self._speak(prompt)
        pressed = self._io.next_digits() if "dtmf" in gather.input else None
        digits, finished_on_key = _collect_digits(pressed or "", gather)
        if digits:
            self.transcript.digits.append(digits)
            self.transcript.add("Digits", digits=digits)
        else:
            await self._io.wait(gather.timeout)
            if not gather.action_on_empty_result:
                return None
        action = _action_url(gather.action, document_url)
        if action is None:
            return None
        return _Navigate(
            action, gather.method, {"Digits": digits, "FinishedOnKey": finished_on_key}
        )

    async def _dial(self, dial: Dial, document_url: str | None) -> _Navigate | None:
        result = DialResult(status="no-answer", call_sid="", duration=0)
        for target in dial.targets:
            result = await self._io.dial(target, dial.timeout, dial.caller_id)
            self.transcript.add(
                "Dial", number=target, status=result.status, duration=result.duration
            )
            if result.status == "completed":
                break
        # Without an action Twilio goes on with the next verb after <Dial>.
        if dial.action is None:
            return None
        return _Navigate(
            _absolute(dial.action, document_url),
            dial.method,
            {
                "DialCallStatus": result.status,
                "DialCallSid": result.call_sid,
                "DialCallDuration": str(result.duration),
            },
        )

    async def _record(self, record: Record, document_url: str | None) -> _Navigate | None:
        talked = self._io.recording_seconds()
        duration = min(DEFAULT_RECORD_SECONDS if talked is None else talked, record.max_length)
        await self._io.wait(duration + record.timeout)
        recording = await self._io.record(duration)
        self.transcript.add(
            "Record",
            recording_sid=recording.sid,
            recording_url=recording.url,
            duration=recording.duration,
            play_beep=record.play_beep,
        )
        action = _action_url(record.action, document_url)
        if action is None:
            return None
        return _Navigate(
            action,
            record.method,
            {
                "RecordingUrl": recording.url,
                "RecordingSid": recording.sid,
                "RecordingDuration": str(recording.duration),
            },
        )

    async def _message(self, message: Message) -> None:
        # In a voice call the SMS goes to the other party by default, from the call's number.
        to = message.to or self._call_params.get("To", "")
        from_ = message.from_ or self._call_params.get("From", "")
        sid = await self._io.send_message(to, from_, message.body, message.status_callback)
        self.transcript.add(message.verb, to=to, body=message.body, message_sid=sid)


def _collect_digits(pressed: str, gather: Gather) -> tuple[str, str]:
    """Apply finishOnKey and numDigits to the keys the callee presses; return (Digits, key)."""
    digits = ""
    for key in pressed:
        if gather.finish_on_key and key in gather.finish_on_key:
            return digits, key
        digits += key
        if gather.num_digits is not None and len(digits) >= gather.num_digits:
            break
    return digits, ""


def _action_url(action: str | None, document_url: str | None) -> str | None:
    """Where Gather/Record post: their action, else the current document (none for inline)."""
    if action is None:
        return document_url
    return _absolute(action, document_url)


def _absolute(url: str, document_url: str | None) -> str:
    if document_url is None:
        if "://" not in url:
            raise TwimlError(
                HTTP_RETRIEVAL_FAILURE, f"relative URL {url!r} in a document with no URL"
            )
        return url
    return urljoin(document_url, url)
