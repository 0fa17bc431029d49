"""Fixtures shared by the integration suites that talk to the Twilio emulator (`twilio_api/`,
`twilio_calls/`): the session emulator reset for each test, and twilio clients pointed at it."""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Protocol

import pytest
from twilio.rest import Client


class EmulatorLike(Protocol):
    """What the tests need from a running emulator (the session fixture's object fits)."""

    base_url: str
    account_sid: str
    auth_token: str


def make_client(
    emulator: EmulatorLike,
    username: str | None = None,
    password: str | None = None,
    account_sid: str | None = None,
) -> Client:
    """A twilio REST client pointed at `emulator` (account credentials unless told otherwise)."""
    client = Client(
        username or emulator.account_sid,
        password or emulator.auth_token,
        account_sid=account_sid or emulator.account_sid,
    )
    client.api.base_url = emulator.base_url
    return client


def reset_emulator(emulator: EmulatorLike) -> None:
    """`POST /_emulator/reset`: forget messages, calls, callee scripts, deliveries and faults."""
    request = urllib.request.Request(
        f"{emulator.base_url}/_emulator/reset",
        data=json.dumps({}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200, "could not reset the Twilio emulator"


@pytest.fixture
def emulator(twilio_emulator: Any) -> EmulatorLike:
    """The session emulator, with its state reset for this test."""
    reset_emulator(twilio_emulator)
    return twilio_emulator  # type: ignore[no-any-return]


@pytest.fixture
def client(emulator: EmulatorLike) -> Client:
    """A twilio client on the (freshly reset) session emulator, with the account's credentials."""
    return make_client(emulator)


@pytest.fixture
def twilio_tools() -> type[TwilioTools]:
    """The helpers above, for conftests and tests below (tests/ has no packages to import from)."""
    return TwilioTools


class TwilioTools:
    """Namespace handed out by the `twilio_tools` fixture."""

    make_client = staticmethod(make_client)
    reset_emulator = staticmethod(reset_emulator)
