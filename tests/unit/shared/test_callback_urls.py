"""Webhook URLs: the status callback URL and Twilio's connection overrides in the fragment."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from emulators.twilio_api.callbacks import ConnectionOverrides
from shared.callback_urls import (
    STATUS_CALLBACK_OVERRIDES,
    TWIML_OVERRIDES,
    status_callback_url,
    with_connection_overrides,
)


def test_status_callback_url_carries_rid_channel_and_overrides() -> None:
    url = status_callback_url("https://app.example.test", "order 1&x", "call")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://app.example.test/api/status_callback"
    )
    assert parts.query == "rid=order+1%26x&channel=call"
    assert parts.fragment == STATUS_CALLBACK_OVERRIDES


def test_overrides_replace_a_fragment_already_there() -> None:
    assert with_connection_overrides("https://h/p?q=1#rc=1", "rc=3") == "https://h/p?q=1#rc=3"


@pytest.mark.parametrize(
    ("overrides", "retries", "total_ms"),
    [(STATUS_CALLBACK_OVERRIDES, 3, 15000), (TWIML_OVERRIDES, 2, 10000)],
)
def test_overrides_are_within_twilios_ranges(overrides: str, retries: int, total_ms: int) -> None:
    """Read as the emulator reads them (clamped to Twilio's documented ranges): nothing is
    clamped, so Twilio gets exactly what the app chose."""
    read = ConnectionOverrides.from_fragment(overrides)
    assert read.retry_count == retries
    assert (read.connect_timeout_ms, read.read_timeout_ms) == (2000, 5000)
    assert read.total_time_ms == total_ms
    assert read.retry_policy == {"ct", "rt", "5xx"}
    assert not read.retries("4xx")  # a refused signature never improves with a retry
