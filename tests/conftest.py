"""Fixtures shared by every test tier: real Azurite and the real Twilio emulator, as processes."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from emulators.azurite import Azurite, start_azurite
from emulators.azurite_identity import ManagedIdentityEndpoint, TlsFiles, write_tls_files
from emulators.twilio_api.process import EmulatorProcess, start_emulator


def pytest_configure(config: pytest.Config) -> None:
    """Tests stop services with SIGINT (Ctrl-C), as a person would. A test run started as a
    background job of a non-interactive shell inherits SIGINT ignored, and so would every
    process it starts, which would then never stop: give the run Python's usual handler, which
    its children reset to the default on exec."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


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


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA and server certificate for 127.0.0.1."""
    return write_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def oauth_azurite(tls: TlsFiles) -> Iterator[Azurite]:
    """A second in-memory Azurite, on https, that accepts bearer tokens (`--oauth basic`), as a
    secretless account does."""
    running = start_azurite(tls=(tls.cert, tls.key), oauth=True)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def identity_endpoint() -> Iterator[ManagedIdentityEndpoint]:
    """Where azure-identity's ManagedIdentityCredential gets tokens (App Service protocol)."""
    endpoint = ManagedIdentityEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="session")
def identity_env(tls: TlsFiles, identity_endpoint: ManagedIdentityEndpoint) -> dict[str, str]:
    """What a process needs to use that managed identity and trust the test CA (requests reads
    REQUESTS_CA_BUNDLE, aiohttp's default SSL context SSL_CERT_FILE): no change to the code."""
    return {
        **identity_endpoint.environment(),
        "REQUESTS_CA_BUNDLE": str(tls.ca),
        "SSL_CERT_FILE": str(tls.ca),
    }
