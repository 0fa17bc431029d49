"""TwiML rendering: valid XML, verbs and attributes, escaping, gather continuation, twimlet form."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from pydantic import TypeAdapter

from shared.contracts import SayStep, ScriptStep
from shared.twiml_render import (
    UNKNOWN_REQUEST_TEXT,
    render_message_twimlet,
    render_script,
    render_unknown_request,
    xml_safe,
)

BASE = "https://fn.example.net"
RID = "req-1"
_SCRIPT = TypeAdapter(list[ScriptStep])


def script(*steps: dict[str, Any]) -> list[ScriptStep]:
    """Steps through the queue contract, as the app stores and loads them."""
    return _SCRIPT.validate_python(list(steps))


def continue_url(step: int) -> str:
    """A continuation URL with an ``&`` in it, which the XML must escape."""
    return f"{BASE}/api/twiml_voice?{urlencode({'rid': RID, 'step': step})}"


def parse(twiml: str) -> ET.Element:
    """Parse like Twilio does; fails on malformed XML."""
    root = ET.fromstring(twiml.encode("utf-8"))
    assert root.tag == "Response"
    return root


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def render(steps: list[ScriptStep], start: int = 0, **defaults: str) -> ET.Element:
    return parse(render_script(steps, start, continue_url, **defaults))


def step_of(url: str) -> int:
    query = parse_qs(urlsplit(url).query)
    assert query["rid"] == [RID]
    return int(query["step"][0])


def test_linear_script_renders_every_verb_in_order() -> None:
    steps = script(
        {"type": "say", "text": "Hello", "voice": "alice", "language": "en-GB", "loop": 2},
        {"type": "play", "url": "https://cdn.example.com/a.mp3", "loop": 3},
        {"type": "pause", "length": 2},
        {"type": "dial", "number": "+15005550006"},
        {"type": "say", "text": "Bye"},
        {"type": "hangup"},
    )
    root = render(steps)
    assert verbs(root) == ["Say", "Play", "Pause", "Dial", "Say", "Hangup"]
    say, play, pause, dial, bye, _ = root
    assert (say.text, say.attrib) == ("Hello", {"voice": "alice", "language": "en-GB", "loop": "2"})
    assert (play.text, play.attrib) == ("https://cdn.example.com/a.mp3", {"loop": "3"})
    assert pause.attrib == {"length": "2"}
    assert dial.text == "+15005550006"
    assert (bye.text, bye.attrib) == ("Bye", {})


def test_start_index_skips_earlier_steps() -> None:
    steps = script({"type": "say", "text": "one"}, {"type": "say", "text": "two"})
    assert [el.text for el in render(steps, 1)] == ["two"]


@pytest.mark.parametrize(
    ("last", "tag", "attrib", "text"),
    [
        ({"type": "hangup"}, "Hangup", {}, None),
        ({"type": "reject", "reason": "busy"}, "Reject", {"reason": "busy"}, None),
        ({"type": "reject"}, "Reject", {}, None),
        (
            {"type": "redirect", "url": "https://other.example.com/twiml"},
            "Redirect",
            {"method": "POST"},
            "https://other.example.com/twiml",
        ),
    ],
)
def test_verbs_that_leave_the_document_end_it(
    last: dict[str, Any], tag: str, attrib: dict[str, str], text: str | None
) -> None:
    root = render(
        script({"type": "say", "text": "hi"}, last, {"type": "say", "text": "unreachable"})
    )
    assert verbs(root) == ["Say", tag]
    assert (root[1].attrib, root[1].text) == (attrib, text)


def test_gather_ends_the_document_with_action_and_no_input_redirect() -> None:
    steps = script(
        {"type": "say", "text": "Welcome"},
        {
            "type": "gather",
            "prompt": "Press 1 to confirm",
            "num_digits": 1,
            "timeout": 5,
            "finish_on_key": "#",
        },
        {"type": "say", "text": "Thanks"},
        {"type": "hangup"},
    )
    root = render(steps, voice="Polly.Joanna", language="en-US")
    assert verbs(root) == ["Say", "Gather", "Redirect"]
    gather, redirect = root[1], root[2]
    assert gather.attrib == {
        "action": continue_url(2),
        "method": "POST",
        "numDigits": "1",
        "timeout": "5",
        "finishOnKey": "#",
    }
    assert [(el.tag, el.text, el.attrib) for el in gather] == [
        ("Say", "Press 1 to confirm", {"voice": "Polly.Joanna", "language": "en-US"})
    ]
    assert (redirect.text, redirect.attrib) == (continue_url(2), {"method": "POST"})
    assert step_of(gather.attrib["action"]) == 2

    rest = render(steps, 2)
    assert verbs(rest) == ["Say", "Hangup"]
    assert rest[0].text == "Thanks"


def test_gather_without_prompt_or_options() -> None:
    root = render(script({"type": "gather"}))
    assert verbs(root) == ["Gather", "Redirect"]
    assert root[0].attrib == {"action": continue_url(1), "method": "POST"}
    assert list(root[0]) == []


def test_gather_with_empty_finish_on_key_disables_the_key() -> None:
    root = render(script({"type": "gather", "finish_on_key": ""}))
    assert root[0].attrib["finishOnKey"] == ""


def test_record_posts_to_the_next_step_and_falls_back_to_it() -> None:
    steps = script(
        {"type": "record", "max_length": 30, "play_beep": True},
        {"type": "say", "text": "Got it"},
    )
    root = render(steps)
    assert verbs(root) == ["Record", "Redirect"]
    assert root[0].attrib == {
        "action": continue_url(1),
        "method": "POST",
        "maxLength": "30",
        "playBeep": "true",
    }
    assert root[1].text == continue_url(1)


def test_script_ending_with_a_gather_continues_to_an_empty_response() -> None:
    steps = script({"type": "say", "text": "Rate us"}, {"type": "gather", "num_digits": 1})
    assert step_of(render(steps)[1].attrib["action"]) == 2
    assert list(render(steps, 2)) == []


@pytest.mark.parametrize("start", [-1, 3])
def test_start_outside_the_script_is_an_error(start: int) -> None:
    steps = script({"type": "say", "text": "a"}, {"type": "say", "text": "b"})
    with pytest.raises(ValueError, match="cannot start at step"):
        render_script(steps, start, continue_url)


CALLER_SCRIPT = script(
    {"type": "say", "text": "s0"},
    {"type": "gather", "prompt": "p1", "num_digits": 1},
    {"type": "say", "text": "s2"},
    {"type": "record"},
    {"type": "say", "text": "s4"},
    {"type": "gather", "prompt": "p5"},
    {"type": "say", "text": "s6"},
)


def run_like_twilio(steps: list[ScriptStep], answers: list[bool]) -> list[str]:
    """Follow the rendered documents the way Twilio does; `answers` says, for each Gather/Record
    in turn, whether the callee answers (action request) or not (fall through to the next verb).
    Returns everything said, prompts included."""
    said: list[str] = []
    pending = list(answers)
    document = parse(render_script(steps, 0, continue_url))
    while True:
        for verb in document:
            if verb.tag == "Say":
                said.append(verb.text or "")
            elif verb.tag in {"Gather", "Record"}:
                said.extend(el.text or "" for el in verb if el.tag == "Say")
                if pending.pop(0):
                    next_url = verb.attrib["action"]
                    break
            elif verb.tag == "Redirect":
                next_url = verb.text or ""
                break
            elif verb.tag == "Hangup":
                return said
        else:
            return said
        document = parse(render_script(steps, step_of(next_url), continue_url))


@pytest.mark.parametrize(
    "answers",
    [
        [True, True, True],
        [False, False, False],
        [True, False, True],
        [False, True, False],
    ],
)
def test_every_step_runs_exactly_once_whether_or_not_the_callee_answers(
    answers: list[bool],
) -> None:
    assert run_like_twilio(CALLER_SCRIPT, answers) == ["s0", "p1", "s2", "s4", "p5", "s6"]


def test_say_defaults_apply_unless_the_step_names_its_own() -> None:
    steps = script(
        {"type": "say", "text": "default"},
        {"type": "say", "text": "own", "voice": "man", "language": "fr-FR"},
    )
    root = render(steps, voice="woman", language="en-US")
    assert [el.attrib for el in root] == [
        {"voice": "woman", "language": "en-US"},
        {"voice": "man", "language": "fr-FR"},
    ]


def test_markup_in_user_text_is_escaped_not_interpreted() -> None:
    text = 'Tom & Jerry <b>"hi"</b> ]]> <!-- x -->'
    xml = render_script(script({"type": "say", "text": text}), 0, continue_url)
    assert "&amp;" in xml
    assert "&lt;b&gt;" in xml
    root = parse(xml)
    assert verbs(root) == ["Say"]
    assert root[0].text == text


def test_xml_illegal_characters_are_stripped_from_text() -> None:
    text = "a\x00b\x08c\x0bd\x0ce\x1ff\ufffeg\uffffh\ti\nj 😀 é"
    root = render(script({"type": "say", "text": text}, {"type": "gather", "prompt": text}))
    expected = "abcdefgh\ti\nj 😀 é"
    assert root[0].text == expected
    assert root[1][0].text == expected


def test_lone_surrogates_are_stripped() -> None:
    # The contract refuses them, but a step built in code skips that check.
    steps: list[ScriptStep] = [SayStep.model_construct(type="say", text="a\ud800b\udfffc")]
    assert render(steps)[0].text == "abc"


def test_text_that_is_only_illegal_characters_says_nothing() -> None:
    root = render(script({"type": "say", "text": "\x00\x01"}, {"type": "hangup"}))
    assert verbs(root) == ["Hangup"]


def test_xml_illegal_characters_are_stripped_from_urls_and_attributes() -> None:
    steps = script(
        {"type": "say", "text": "hi", "voice": "al\x01ice"},
        {"type": "play", "url": "https://cdn.example.com/a\x00.mp3"},
    )
    root = render(steps)
    assert root[0].attrib == {"voice": "alice"}
    assert root[1].text == "https://cdn.example.com/a.mp3"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain", "plain"),
        ("\t\n\r", "\t\n\r"),
        ("".join(chr(c) for c in range(0x20)), "\t\n\r"),
        ("\ud83d", ""),
        ("\ue000\ufffd\U00010000\U0010ffff", "\ue000\ufffd\U00010000\U0010ffff"),
        ("x\ufffe\uffffy", "xy"),
        ("\x7f\x85\x9f", "\x7f\x85\x9f"),
    ],
)
def test_xml_safe(raw: str, clean: str) -> None:
    assert xml_safe(raw) == clean


def test_twimlet_messages_in_order_text_said_urls_played() -> None:
    pairs = [
        ("CallSid", "CA1"),
        ("Message[1]", "https://cdn.example.com/b.mp3"),
        ("Message[]", "appended"),
        ("Message[0]", "Hello & <goodbye>"),
        ("Message[10]", "ten"),
        ("Message[2]", "HTTP://CDN.EXAMPLE.COM/C.WAV"),
        ("Message", "first"),
    ]
    root = parse(render_message_twimlet(pairs))
    assert [(el.tag, el.text) for el in root] == [
        ("Say", "first"),
        ("Say", "Hello & <goodbye>"),
        ("Play", "https://cdn.example.com/b.mp3"),
        ("Play", "HTTP://CDN.EXAMPLE.COM/C.WAV"),
        ("Say", "ten"),
        ("Say", "appended"),
    ]
    assert all(el.attrib == {} for el in root if el.tag == "Say")


def test_twimlet_parameter_names_must_match_whole_not_up_to_a_newline() -> None:
    pairs = [("Message[0]\n", "ignored"), ("Message", "hello")]
    root = parse(render_message_twimlet(pairs))
    assert [(el.tag, el.text) for el in root] == [("Say", "hello")]


def test_twimlet_accepts_a_mapping_and_strips_illegal_characters() -> None:
    root = parse(render_message_twimlet({"Message": "see http://x.example\x00 now"}))
    assert [(el.tag, el.text) for el in root] == [("Say", "see http://x.example now")]


@pytest.mark.parametrize(
    "params",
    [{}, {"CallSid": "CA1"}, {"Message": "  "}, {"Message": "\x00"}, {"Message[x]": "nope"}],
)
def test_twimlet_without_messages_is_the_apology(params: dict[str, str]) -> None:
    assert render_message_twimlet(params) == render_unknown_request()


def test_unknown_request_apologises_and_hangs_up() -> None:
    root = parse(render_unknown_request())
    assert [(el.tag, el.text) for el in root] == [("Say", UNKNOWN_REQUEST_TEXT), ("Hangup", None)]
