"""SMS segment counting: GSM-7 160/153 septets, UCS-2 70/67 units, extension chars cost two."""

from __future__ import annotations

import pytest

from emulators.twilio_api.segments import count_segments, is_gsm7


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension table: two septets each, 160 in all
        ("€" * 81, 2),
        ("a" * 159 + "^", 2),  # 161 septets
        ("é" * 160, 1),  # é is in the GSM-7 basic table
        ("ç" * 70, 1),  # ç is not (only Ç is): UCS-2
        ("ç" * 71, 2),
        ("ç" * 134, 2),
        ("ç" * 135, 3),
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_segment_count(text: str, segments: int) -> None:
    assert count_segments(text) == segments


def test_gsm7_covers_basic_and_extension_tables_only() -> None:
    assert is_gsm7("Hello @£$ {}[]~|\\€^\n")
    assert not is_gsm7("Привет")
    assert not is_gsm7("a`b")  # the backtick is in neither table
