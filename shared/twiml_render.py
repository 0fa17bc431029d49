"""TwiML for calls with twilio's `VoiceResponse`: call scripts, the message twimlet, apologies.

How a script runs as one pass, whatever the callee does:

- The document for step ``i`` holds steps ``i, i+1, …`` up to and including the first step that
  waits for the callee (``gather`` or ``record``) or that leaves the document (``redirect``,
  ``hangup``, ``reject``; verbs after those would never run).
- A waiting step posts its answer to its ``action``: the continuation URL of the next step (given
  by the caller, `webhook_urls.twiml_voice_url`: ``…/api/twiml_voice?rid=<id>&step=<i+1>``), so
  Twilio fetches the rest of the script once the digits or the recording arrive. Without an
  action Twilio would post to the current document's URL and run the same steps again.
- With no input (Gather timeout, empty recording) Twilio skips the action and runs the next verb,
  so the waiting step is followed by a ``<Redirect>`` to the same continuation URL. Either way the
  rest of the script runs exactly once; the continuation request carries ``Digits`` (or
  ``RecordingUrl``) only when the callee answered.
- ``dial`` does not wait for the callee of this call: without an action Twilio goes on with the
  next verb when the dialled party hangs up, so the script simply continues in the same document.

User text is stripped of characters XML 1.0 forbids before it reaches the builder, which escapes
``<`` and ``&`` but emits control characters raw (malformed XML).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from twilio.twiml.voice_response import VoiceResponse

from shared.contracts import (
    DialStep,
    GatherStep,
    HangupStep,
    PauseStep,
    PlayStep,
    RecordStep,
    RedirectStep,
    RejectStep,
    SayStep,
    ScriptStep,
)

# Twilio refuses TwiML documents over 64 KB (counted here as UTF-8 bytes, 1 KB = 1000).
MAX_TWIML_BYTES = 64_000
UNKNOWN_REQUEST_TEXT = "Sorry, we could not find the message for this call. Goodbye."

# XML 1.0 Char: tab, newline, carriage return and U+0020..U+D7FF, U+E000..U+FFFD, U+10000..
_XML_ILLEGAL = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_AUDIO_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_INDEXED_MESSAGE = re.compile(r"^Message\[(\d{0,9})\]$")
# ``Message[]`` sorts after every numbered message, in the order given.
_UNNUMBERED = 10**9

ContinueUrl = Callable[[int], str]


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (controls, lone surrogates, U+FFFE/U+FFFF)."""
    return _XML_ILLEGAL.sub("", text)


def render_script(
    steps: Sequence[ScriptStep],
    start: int,
    continue_url: ContinueUrl,
    *,
    voice: str | None = None,
    language: str | None = None,
) -> str:
    """TwiML running `steps` from index `start` (see the module doc for where it stops).

    `continue_url(i)` gives the absolute URL whose TwiML runs the script from step ``i``.
    `voice`/`language` are the call's defaults for say steps and gather prompts that name none.
    ``start == len(steps)`` (after a final gather) renders an empty response: the call ends.
    Raises ValueError for a start outside ``0..len(steps)``.
    """
    if not 0 <= start <= len(steps):
        raise ValueError(f"script has {len(steps)} steps; cannot start at step {start}")
    response = VoiceResponse()
    for index in range(start, len(steps)):
        if not _add_step(response, steps[index], continue_url(index + 1), voice, language):
            break
    return str(response)


def largest_document_bytes(
    steps: Sequence[ScriptStep],
    continue_url: ContinueUrl,
    *,
    voice: str | None = None,
    language: str | None = None,
) -> int:
    """UTF-8 size of the largest document `steps` is served as: from step 0, and from after
    each waiting step (the only places a continuation URL points to)."""
    starts = [0] + [
        index + 1
        for index, step in enumerate(steps)
        if isinstance(step, GatherStep | RecordStep) and index + 1 < len(steps)
    ]
    return max(
        len(render_script(steps, start, continue_url, voice=voice, language=language).encode())
        for start in starts
    )


def render_message_twimlet(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """TwiML for the ``twimlets.com/message`` form: ``Message``, ``Message[0]``, ``Message[1]`` ….

    Each message that is an http(s) URL is played, any other text is said. ``Message`` comes
    first, then ``Message[i]`` by index, then ``Message[]`` in the order given. Without any
    message this is the unknown-request apology.
    """
    messages = _twimlet_messages(params.items() if isinstance(params, Mapping) else params)
    if not messages:
        return render_unknown_request()
    response = VoiceResponse()
    for message in messages:
        if _AUDIO_URL.fullmatch(message):
            response.play(message)
        else:
            _say(response, message, None, None, None)
    return str(response)


def render_unknown_request() -> str:
    """A short apology and hang-up, for TwiML requests the app cannot match to a call."""
    response = VoiceResponse()
    response.say(UNKNOWN_REQUEST_TEXT)
    response.hangup()
    return str(response)


def _add_step(
    response: VoiceResponse,
    step: ScriptStep,
    next_url: str,
    voice: str | None,
    language: str | None,
) -> bool:
    """Append `step`; return whether the document goes on after it."""
    match step:
        case SayStep():
            _say(response, step.text, step.voice or voice, step.language or language, step.loop)
        case PlayStep():
            response.play(xml_safe(step.url), loop=step.loop)
        case PauseStep():
            response.pause(length=step.length)
        case GatherStep():
            gather = response.gather(
                action=next_url,
                method="POST",
                num_digits=step.num_digits,
                timeout=step.timeout,
                finish_on_key=step.finish_on_key,
            )
            if step.prompt is not None:
                _say(gather, step.prompt, voice, language, None)
            response.redirect(next_url, method="POST")
            return False
        case RecordStep():
            response.record(
                action=next_url,
                method="POST",
                max_length=step.max_length,
                play_beep=step.play_beep,
            )
            response.redirect(next_url, method="POST")
            return False
        case DialStep():
            response.dial(xml_safe(step.number))
        case RedirectStep():
            response.redirect(xml_safe(step.url), method="POST")
            return False
        case HangupStep():
            response.hangup()
            return False
        case RejectStep():
            response.reject(reason=step.reason)
            return False
    return True


def _say(
    parent: VoiceResponse,
    text: str,
    voice: str | None,
    language: str | None,
    loop: int | None,
) -> None:
    clean = xml_safe(text)
    if clean.strip():
        parent.say(
            clean,
            voice=_optional_xml_safe(voice),
            language=_optional_xml_safe(language),
            loop=loop,
        )


def _optional_xml_safe(text: str | None) -> str | None:
    return None if text is None else xml_safe(text)


def _twimlet_messages(pairs: Iterable[tuple[str, str]]) -> list[str]:
    plain: list[str] = []
    indexed: list[tuple[int, int, str]] = []
    for position, (name, value) in enumerate(pairs):
        clean = xml_safe(value).strip()
        if not clean:
            continue
        if name == "Message":
            plain.append(clean)
        elif match := _INDEXED_MESSAGE.fullmatch(name):
            index = int(match.group(1)) if match.group(1) else _UNNUMBERED
            indexed.append((index, position, clean))
    return plain + [text for _, _, text in sorted(indexed)]
