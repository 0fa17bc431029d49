"""The secretless path end to end: a second Azurite that serves https and accepts only what Entra
ID-authenticated clients send (`--oauth basic`), the app and the functions host configured with
identity-based `AzureWebJobsStorage__*` settings (no connection string), their managed identity
served by an App Service-style token endpoint, and the producer with a token credential.

The same store, events, send, status callback and trigger code as the connection-string stack runs
here unchanged; tokens are proven to be used (the endpoint sees the app's client id, and a bad token
is refused)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from emulators.azurite import Azurite
from emulators.azurite_identity import (
    STORAGE_AUDIENCE,
    AzuriteTokenCredential,
    ManagedIdentityEndpoint,
)
from producer.cli import main
from producer.client import Producer
from producer.settings import ProducerSettings
from shared.storage_connection import IdentityConnection, queue_client, table_service_client
from tests.e2e.conftest import E2E_NAMES, Stack, Waiter, running_stack

# Fixtures from tests/conftest.py: `oauth_azurite`, `identity_endpoint`, `identity_env`.
pytestmark = pytest.mark.e2e
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def identity_stack(
    oauth_azurite: Azurite,
    identity_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The app and the host with identity-based storage settings only."""
    storage = {
        # The host's (the timers' schedule monitor); the app reads no blob.
        "AzureWebJobsStorage__blobServiceUri": oauth_azurite.blob_url,
        "AzureWebJobsStorage__queueServiceUri": oauth_azurite.queue_url,
        "AzureWebJobsStorage__tableServiceUri": oauth_azurite.table_url,
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": CLIENT_ID,
    }
    app: Path = tmp_path_factory.mktemp("identity-app")
    with (
        pytest.MonkeyPatch.context() as patch,
        running_stack(oauth_azurite, app, storage, env=identity_env) as running,
    ):
        for name, value in identity_env.items():
            patch.setenv(name, value)  # this process's producer and checks trust the CA too
        yield running


@pytest.fixture(scope="module")
def connection(oauth_azurite: Azurite) -> IdentityConnection:
    """The OAuth Azurite's endpoints, as the producer sees a deployed account."""
    return IdentityConnection(oauth_azurite.queue_url, oauth_azurite.table_url)


@pytest.fixture(scope="module")
def credential() -> AzuriteTokenCredential:
    """The producer's token credential (a developer's `az login` in real life)."""
    return AzuriteTokenCredential()


@pytest.fixture(scope="module")
def producer(
    identity_stack: Stack, connection: IdentityConnection, credential: AzuriteTokenCredential
) -> Producer:
    """The producer library on the identity connection, with an explicit token credential."""
    settings = ProducerSettings(
        storage=connection,
        sms_queue=E2E_NAMES["SMS_QUEUE_NAME"],
        call_queue=E2E_NAMES["CALL_QUEUE_NAME"],
        events_queue=E2E_NAMES["EVENTS_QUEUE_NAME"],
        deliveries_table=E2E_NAMES["DELIVERIES_TABLE_NAME"],
    )
    return Producer(settings, credential=credential)


@pytest.fixture
def wait(identity_stack: Stack, producer: Producer) -> Waiter:
    """Waits on the identity stack's delivery state."""
    return Waiter(identity_stack, producer)


@pytest.fixture(autouse=True)
def clean_twilio(identity_stack: Stack) -> None:
    """Replaces the connection-string stack's reset: this module runs only the identity stack."""
    identity_stack.twilio_control("reset")


def test_sms_is_sent_and_every_status_recorded_over_oauth(
    identity_stack: Stack,
    producer: Producer,
    wait: Waiter,
    identity_endpoint: ManagedIdentityEndpoint,
    credential: AzuriteTokenCredential,
) -> None:
    rid = f"oauth-sms-{uuid.uuid4().hex[:8]}"
    producer.send_sms({"id": rid, "to": "+15551239001", "body": "secretless"})
    record = wait.history_with(rid, {"queued", "sent", "delivered"})
    assert record.current is not None
    assert record.current["status"] == "delivered"
    sent = identity_stack.twilio_inspect("messages")["messages"]
    assert [m["to"] for m in sent].count("+15551239001") == 1
    # The host's trigger and the app's store/events asked for the user-assigned identity's
    # storage token; the producer used its own credential.
    assert (STORAGE_AUDIENCE, CLIENT_ID) in identity_endpoint.requests
    assert credential.issued >= 1
    events = [item.event for item in producer.events() if item.event is not None]
    assert "delivered" in {event.status for event in events if event.id == rid}


def test_smoke_passes_from_the_azd_environment_with_default_credential(
    identity_stack: Stack,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """What `make smoke` runs after `azd up`: everything from `.azure/<env>/.env`, and
    DefaultAzureCredential (here it finds the managed identity endpoint)."""
    outputs = {
        "AZURE_ENV_NAME": "ci",
        "AZURE_FUNCTION_APP_NAME": "func-ci",
        "PUBLIC_BASE_URL": identity_stack.host_url,
        "AZURE_STORAGE_QUEUE_ENDPOINT": identity_stack.settings[
            "AzureWebJobsStorage__queueServiceUri"
        ],
        "AZURE_STORAGE_TABLE_ENDPOINT": identity_stack.settings[
            "AzureWebJobsStorage__tableServiceUri"
        ],
        **E2E_NAMES,
    }
    (tmp_path / ".azure" / "ci").mkdir(parents=True)
    (tmp_path / ".azure" / "ci" / ".env").write_text(
        "".join(f'{name}="{value}"\n' for name, value in outputs.items()), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("AzureWebJobsStorage", *E2E_NAMES):
        monkeypatch.delenv(name, raising=False)
    assert main(["smoke", "--azd-env", "ci", "--timeout", "60"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert f"smoke test of {identity_stack.host_url} (function app func-ci)" in out
    assert "is recorded as rejected: status rejected" in out
    assert out.count("(403): HTTP 403") == 2


class _BadToken:
    """A credential whose token is not a JWT."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("not-a-jwt", 2**31)

    def close(self) -> None:
        """Nothing to release."""


def test_requests_with_a_bad_token_are_refused(
    identity_stack: Stack, connection: IdentityConnection
) -> None:
    with pytest.raises(ClientAuthenticationError):
        queue_client(connection, "e2e-sms-requests", _BadToken()).get_queue_properties()
    with pytest.raises(ClientAuthenticationError):
        list(table_service_client(connection, _BadToken()).list_tables())
