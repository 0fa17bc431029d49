"""Storage settings: a connection string or identity-based settings, checked by name; unresolved
Key Vault references fail naming the setting without showing it."""

from __future__ import annotations

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.settings import SettingsError, load_settings
from shared.storage_connection import (
    ConnectionString,
    IdentityConnection,
    StorageSettingError,
    load_storage_connection,
    queue_client,
    table_service_client,
    token_credential,
)

APP = {
    "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "PUBLIC_BASE_URL": "https://app.example.test",
}
QUEUE_URI = "https://acct.queue.core.windows.net"
TABLE_URI = "https://acct.table.core.windows.net/"
IDENTITY = {
    "AzureWebJobsStorage__queueServiceUri": QUEUE_URI,
    "AzureWebJobsStorage__tableServiceUri": TABLE_URI,
    "AzureWebJobsStorage__credential": "managedidentity",
    "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001",
}
REFERENCE = "@Microsoft.KeyVault(SecretUri=https://kv-secret.vault.azure.net/secrets/tok/)"


def test_a_connection_string_is_kept_as_it_is_and_not_shown_in_repr() -> None:
    connection = load_storage_connection({"AzureWebJobsStorage": " UseDevelopmentStorage=true "})
    assert connection == ConnectionString("UseDevelopmentStorage=true")
    assert "UseDevelopmentStorage" not in repr(connection)


def test_identity_settings_give_endpoints_and_the_user_assigned_identity() -> None:
    assert load_storage_connection(IDENTITY) == IdentityConnection(
        queue_service_uri=QUEUE_URI,
        table_service_uri=TABLE_URI.rstrip("/"),
        managed_identity=True,
        client_id="00000000-0000-0000-0000-000000000001",
    )


def test_the_credential_follows_the_settings() -> None:
    user_assigned = load_storage_connection(IDENTITY)
    assert isinstance(token_credential(user_assigned), ManagedIdentityCredential)
    developer = IdentityConnection(QUEUE_URI, TABLE_URI)
    assert isinstance(token_credential(developer), DefaultAzureCredential)
    # One credential per identity and process: its token cache is shared by every client.
    assert token_credential(user_assigned) is token_credential(load_storage_connection(IDENTITY))


def test_clients_of_an_identity_connection_use_its_endpoints() -> None:
    connection = load_storage_connection(IDENTITY)
    queue = queue_client(connection, "sms-requests")
    assert queue.url == f"{QUEUE_URI}/sms-requests"
    assert table_service_client(connection).url.startswith(TABLE_URI.rstrip("/"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "AzureWebJobsStorage is missing"),
        (
            {"AzureWebJobsStorage__queueServiceUri": QUEUE_URI},
            "AzureWebJobsStorage__tableServiceUri missing",
        ),
        (
            {"AzureWebJobsStorage__tableServiceUri": TABLE_URI},
            "AzureWebJobsStorage__queueServiceUri missing",
        ),
        (
            {"AzureWebJobsStorage__credential": "managedidentity"},
            "AzureWebJobsStorage__queueServiceUri and AzureWebJobsStorage__tableServiceUri",
        ),
        (
            {**IDENTITY, "AzureWebJobsStorage": "UseDevelopmentStorage=true"},
            "both set",
        ),
        (
            {**IDENTITY, "AzureWebJobsStorage__credential": "clientsecret"},
            "AzureWebJobsStorage__credential must be 'managedidentity'",
        ),
        (
            {
                "AzureWebJobsStorage__queueServiceUri": QUEUE_URI,
                "AzureWebJobsStorage__tableServiceUri": TABLE_URI,
                "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-000000000001",
            },
            "AzureWebJobsStorage__clientId needs AzureWebJobsStorage__credential",
        ),
        (
            {**IDENTITY, "AzureWebJobsStorage__queueServiceUri": "http://acct.queue.x"},
            "AzureWebJobsStorage__queueServiceUri must be the https URL",
        ),
    ],
)
def test_half_or_mixed_storage_settings_fail_naming_them(env: dict[str, str], message: str) -> None:
    with pytest.raises(StorageSettingError, match=message):
        load_storage_connection(env)
    with pytest.raises(SettingsError, match=message):
        load_settings({**APP, **env})


def test_a_service_uri_with_a_sas_is_refused_without_showing_it() -> None:
    sas = f"{QUEUE_URI}?sv=2024&sig=secret-signature"
    with pytest.raises(StorageSettingError) as caught:
        load_storage_connection({**IDENTITY, "AzureWebJobsStorage__queueServiceUri": sas})
    assert "secret-signature" not in str(caught.value)


def test_load_settings_accepts_identity_settings() -> None:
    settings = load_settings({**APP, **IDENTITY})
    assert isinstance(settings.storage, IdentityConnection)
    assert settings.storage.queue_service_uri == QUEUE_URI


@pytest.mark.parametrize(
    "name",
    [
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY_SECRET",
        "PUBLIC_BASE_URL",
        "SMS_QUEUE_NAME",
        "AzureWebJobsStorage",
        "AzureWebJobsStorage__clientId",
    ],
)
def test_an_unresolved_key_vault_reference_fails_naming_the_setting_not_its_value(
    name: str,
) -> None:
    env = {**APP, "AzureWebJobsStorage": "UseDevelopmentStorage=true", name: REFERENCE}
    with pytest.raises(SettingsError, match=f"setting {name} holds an unresolved Key Vault") as e:
        load_settings(env)
    assert "kv-secret" not in str(e.value)
    assert "SecretUri" not in str(e.value)
