"""The store's codec: None dropped, JSON split and joined, plain text cut, cleared values."""

from __future__ import annotations

import json

from shared.table_properties import (
    CLEARED,
    MAX_PROPERTY_UNITS,
    joined_property,
    json_property,
    present,
    split_utf16,
    to_properties,
)


def test_none_is_dropped_and_json_is_compact_text() -> None:
    assert to_properties({"a": None, "b": {"x": [1, "é"]}, "c": 3}) == {
        "b": '{"x":[1,"é"]}',
        "c": 3,
    }


def test_a_merge_writes_the_part_count_of_every_json_value() -> None:
    assert to_properties({"b": {"x": 1}}, merge=True) == {"b": '{"x":1}', "b_parts": 1}


def test_long_json_is_split_and_joined_again_without_loss() -> None:
    value = {"text": "\U0001f600" * MAX_PROPERTY_UNITS}  # two UTF-16 units each
    properties = to_properties({"detail": value})
    assert properties["detail_parts"] == 3
    assert all(
        len(p.encode("utf-16-le")) <= 2 * MAX_PROPERTY_UNITS
        for p in properties.values()
        if isinstance(p, str)
    )
    assert json.loads(joined_property(properties, "detail")) == value
    assert json_property(properties, "detail") == value


def test_plain_text_is_cut_to_one_property() -> None:
    (text,) = to_properties({"error_message": "x" * (MAX_PROPERTY_UNITS + 10)}).values()
    assert len(text) == MAX_PROPERTY_UNITS


def test_a_split_never_cuts_a_surrogate_pair() -> None:
    pieces = split_utf16("a" + "\U0001f600" * 3, 2)
    assert pieces == ["a", "\U0001f600", "\U0001f600", "\U0001f600"]
    assert split_utf16("short", 10) == ["short"]


def test_cleared_reads_as_none() -> None:
    assert (present(CLEARED), present(0), present("x")) == (None, 0, "x")
    assert json_property({"m": CLEARED}, "m") is None
    assert json_property({}, "m") is None
