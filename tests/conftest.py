"""Fixtures shared by every test tier: real Azurite and the real Twilio emulator, as processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulators.azurite import Azurite, start_azurite
from emulators.launcher import Service, start_service
from emulators.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One in-memory Azurite for the session, on free loopback ports."""
    running = start_azurite()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def storage_connection_string(azurite: Azurite) -> str:
    """Connection string of the session's Azurite."""
    return azurite.connection_string


@dataclass
class TwilioEmulator:
    """A running Twilio emulator process and its credentials."""

    service: Service
    base_url: str
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN


def start_twilio_emulator(speed: float = 200.0, *extra: str) -> TwilioEmulator:
    """Start `python -m emulators.twilio_api --port 0` and wait for its `listening on` line."""
    service = start_service(
        "twilio-emulator",
        [
            sys.executable,
            "-m",
            "emulators.twilio_api",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--speed",
            str(speed),
            *extra,
        ],
        [r"listening on (http://127\.0\.0\.1:\d+)"],
        cwd=REPO_ROOT,
        timeout=30,
    )
    return TwilioEmulator(service=service, base_url=service.matches[0].group(1))


@pytest.fixture(scope="session")
def twilio_emulator() -> Iterator[TwilioEmulator]:
    """One Twilio emulator process for the session; time runs 200x faster than real time."""
    emulator = start_twilio_emulator()
    yield emulator
    emulator.service.stop()
