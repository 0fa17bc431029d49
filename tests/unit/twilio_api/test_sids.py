"""Resource SIDs: the prefix asked for and 32 lowercase hex digits, fresh every time."""

from __future__ import annotations

import re

import pytest

from emulators.twilio_api.sids import new_sid


@pytest.mark.parametrize("prefix", ["SM", "MM", "CA", "RE"])
def test_a_sid_is_its_prefix_and_32_lowercase_hex_digits(prefix: str) -> None:
    assert re.fullmatch(prefix + r"[0-9a-f]{32}", new_sid(prefix))


def test_sids_do_not_repeat() -> None:
    assert len({new_sid("SM") for _ in range(1000)}) == 1000
