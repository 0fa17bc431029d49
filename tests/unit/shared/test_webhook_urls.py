"""Webhook URLs: the status callback URL, the TwiML URL of a call and its steps, and Twilio's
connection overrides in the fragment."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from emulators.twilio_api.callbacks import ConnectionOverrides
from shared.webhook_urls import (
    STATUS_CALLBACK_OVERRIDES,
    STATUS_CALLBACK_PATH,
    TWIML_OVERRIDES,
    TWIML_VOICE_PATH,
    status_callback_url,
    twiml_voice_url,
    with_connection_overrides,
)

REPO = Path(__file__).resolve().parents[3]
BASE = "https://fn.example.net"


def test_status_callback_url_carries_rid_channel_and_overrides() -> None:
    url = status_callback_url("https://app.example.test", "order 1&x", "call")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://app.example.test/api/status_callback"
    )
    assert parts.query == "rid=order+1%26x&channel=call"
    assert parts.fragment == STATUS_CALLBACK_OVERRIDES


@pytest.mark.parametrize(
    ("base", "rid", "step", "expected"),
    [
        (BASE, "r1", None, f"{BASE}/api/twiml_voice?rid=r1"),
        (f"{BASE}/", "r1", 3, f"{BASE}/api/twiml_voice?rid=r1&step=3"),
        (
            "http://127.0.0.1:7071",
            "a:b.c",
            0,
            "http://127.0.0.1:7071/api/twiml_voice?rid=a%3Ab.c&step=0",
        ),
    ],
)
def test_twiml_voice_url(base: str, rid: str, step: int | None, expected: str) -> None:
    assert twiml_voice_url(base, rid, step) == expected


@pytest.mark.parametrize("base", [BASE, f"{BASE}/", "https://gw.example.com/twilio"])
def test_both_urls_sit_under_the_public_base_url(base: str) -> None:
    """The signature check rebuilds base + path + query: the URLs Twilio gets must match it."""
    prefix = base.rstrip("/")
    assert status_callback_url(base, "r1", "sms").startswith(f"{prefix}{STATUS_CALLBACK_PATH}?")
    assert twiml_voice_url(base, "r1").startswith(f"{prefix}{TWIML_VOICE_PATH}?")


@pytest.mark.parametrize(
    ("path", "folder"),
    [(STATUS_CALLBACK_PATH, "status_callback"), (TWIML_VOICE_PATH, "twiml_voice")],
)
def test_each_path_is_the_route_of_its_function(path: str, folder: str) -> None:
    """`/<routePrefix>/<folder>`: the route the Functions host gives an HTTP trigger that names
    no route of its own."""
    prefix = json.loads((REPO / "host.json").read_text())["extensions"]["http"]["routePrefix"]
    (trigger,) = [
        binding
        for binding in json.loads((REPO / folder / "function.json").read_text())["bindings"]
        if binding["type"] == "httpTrigger"
    ]
    assert "route" not in trigger
    assert path == f"/{prefix}/{folder}"


def test_overrides_replace_a_fragment_already_there() -> None:
    assert with_connection_overrides("https://h/p?q=1#rc=1", "rc=3") == "https://h/p?q=1#rc=3"


def test_overrides_are_added_to_a_url_without_a_fragment() -> None:
    url = with_connection_overrides(twiml_voice_url(BASE, "r1"), TWIML_OVERRIDES)
    assert url == f"{BASE}/api/twiml_voice?rid=r1#{TWIML_OVERRIDES}"


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
