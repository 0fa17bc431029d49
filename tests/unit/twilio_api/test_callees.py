"""Callee scripts: strict JSON reading with named errors, round trip, and the book by number."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.twilio_api.callees import CalleeBook, CalleeScript


def test_a_full_script_round_trips() -> None:
    data = {
        "number": "+15551230000",
        "outcome": "answered",
        "answered_by": "machine",
        "digits": ["12#", None, ""],
        "ring_seconds": 2,
        "talk_seconds": 4.5,
        "record_seconds": 3,
    }
    script = CalleeScript.from_json(data)
    assert script.digits == ("12#", None, "")
    assert script.ring_seconds == 2.0
    assert isinstance(script.ring_seconds, float)
    assert script.record_seconds == 3
    assert script.to_json() == {**data, "ring_seconds": 2.0}


def test_a_number_alone_leaves_everything_to_the_defaults() -> None:
    script = CalleeScript.from_json({"number": "+1555"})
    assert script == CalleeScript(number="+1555")
    assert script.to_json()["digits"] == []


def test_record_seconds_are_whole_seconds() -> None:
    assert CalleeScript.from_json({"number": "+1", "record_seconds": 2.9}).record_seconds == 2


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ([], "JSON object"),
        ({"number": "+1", "color": "red"}, "color"),
        ({}, "number"),
        ({"number": ""}, "number"),
        ({"number": 15551230000}, "number"),
        ({"number": "+1", "outcome": "hung-up"}, "outcome"),
        ({"number": "+1", "answered_by": "robot"}, "answered_by"),
        ({"number": "+1", "digits": "12"}, "digits"),
        ({"number": "+1", "digits": [1]}, "digits"),
        ({"number": "+1", "ring_seconds": -1}, "ring_seconds"),
        ({"number": "+1", "talk_seconds": "5"}, "talk_seconds"),
        ({"number": "+1", "talk_seconds": True}, "talk_seconds"),
        ({"number": "+1", "record_seconds": -2}, "record_seconds"),
    ],
)
def test_bad_scripts_name_what_is_wrong(data: Any, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        CalleeScript.from_json(data)


def test_the_book_replaces_by_number_and_keeps_order() -> None:
    book = CalleeBook()
    book.put(CalleeScript("+1", outcome="busy"))
    book.put(CalleeScript("+2"))
    book.put(CalleeScript("+1", outcome="failed"))
    assert [s.number for s in book.all()] == ["+1", "+2"]
    first = book.get("+1")
    assert first is not None
    assert first.outcome == "failed"
    assert book.get("+3") is None
    book.clear()
    assert book.all() == []
