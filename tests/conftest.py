"""Fixtures shared by every test tier: real Azurite and the real Twilio emulator, as processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.azurite import Azurite, start_azurite
from emulators.twilio_api.process import EmulatorProcess, start_emulator


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


@pytest.fixture(scope="session")
def twilio_emulator() -> Iterator[EmulatorProcess]:
    """One Twilio emulator process for the session; time runs 200x faster than real time."""
    emulator = start_emulator()
    yield emulator
    emulator.stop()
