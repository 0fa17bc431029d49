"""Fixtures shared by every test tier: real Azurite and the real Twilio emulator, as processes,
and the function app's settings set per test.

Settings are environment variables set per test with monkeypatch; the per-process caches
(settings, Twilio client, storage clients) are cleared with
`shared.process_state.reset_process_state()` before and after each test.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from emulators.azurite import Azurite, start_azurite
from emulators.azurite_identity import ManagedIdentityEndpoint, TlsFiles, write_tls_files
from emulators.twilio_api.process import EmulatorProcess, start_emulator
from shared.process_state import reset_process_state
from shared.settings import SETTING_NAMES

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "unit-test-auth-token"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


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


@dataclass
class AppEnv:
    """The settings a test runs with."""

    values: dict[str, str]

    @property
    def table_name(self) -> str:
        return self.values["DELIVERIES_TABLE_NAME"]

    @property
    def events_queue(self) -> str:
        return self.values["EVENTS_QUEUE_NAME"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No app setting (and no TWILIO_REGION/EDGE) in the environment; caches reset."""
    for name in (*sorted(SETTING_NAMES), "TWILIO_REGION", "TWILIO_EDGE"):
        monkeypatch.delenv(name, raising=False)
    reset_process_state()
    yield monkeypatch
    reset_process_state()


def base_values(storage: str) -> dict[str, str]:
    """A complete, valid set of settings with a fresh table and events queue."""
    suffix = uuid.uuid4().hex[:12]
    return {
        "AzureWebJobsStorage": storage,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        # Nothing listens here: a test that reaches Twilio by mistake fails at once.
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "TWILIO_HTTP_TIMEOUT_SECONDS": "2",
        "PUBLIC_BASE_URL": "https://app.example.test",
        "EVENTS_QUEUE_NAME": f"events-{suffix}",
        "DELIVERIES_TABLE_NAME": f"deliveries{suffix}",
    }


Configure = Callable[..., AppEnv]


@pytest.fixture
def configure(clean_env: pytest.MonkeyPatch) -> Configure:
    """`configure(storage, **overrides)`: set valid settings (plus overrides) for this test;
    storage defaults to a connection string no test reaches (Azurite's tests pass theirs)."""

    def apply(storage: str = "UseDevelopmentStorage=true", **overrides: str) -> AppEnv:
        values = {**base_values(storage), **overrides}
        for name, value in values.items():
            clean_env.setenv(name, value)
        reset_process_state()
        return AppEnv(values)

    return apply


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No proxy or CA bundle variables (either case), and fresh process caches."""
    for name in (*PROXY_VARIABLES, *CA_VARIABLES):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    reset_process_state()
    yield monkeypatch
    reset_process_state()
