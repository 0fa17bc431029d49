"""Storage settings: a connection string or identity-based settings, checked by name; unresolved
Key Vault references fail naming the setting without showing it. And the clients built from
either: every one sends through the process's storage connection pools, with the proxies and CA
bundle the environment names read once, when the client is built. Recording pools in place of
the process's see what the SDKs hand to their transport; nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.settings import SettingsError, load_settings
from shared.storage_connection import (
    ConnectionString,
    IdentityConnection,
    StorageSettingError,
    load_storage_connection,
    queue_client,
    queue_service_client,
    read_setting,
    service_uri,
    table_service_client,
    token_credential,
)
from tests.http_recording import TIMEOUTS, recording

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
PROXY = "http://proxy.example.test:3128"
# Azurite's well-known development account: a connection string whose endpoints nothing serves
# in these tests (no request leaves the recording pools).
DEV_CONNECTION = ConnectionString(
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
    "K1SZFPTOtr/KBHBeksoGMGw==;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1"
)
SESSION_IDENTITY = IdentityConnection(
    queue_service_uri="https://acct.queue.core.windows.net",
    table_service_uri="https://acct.table.core.windows.net",
)


class StaticToken:
    """A token credential for clients whose requests never leave the process."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("test-token", 2**40)


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


@pytest.mark.parametrize(
    ("value", "expected"), [("  x  ", "x"), ("", None), ("   ", None), (None, None)]
)
def test_a_setting_is_read_stripped_and_empty_is_absent(
    value: str | None, expected: str | None
) -> None:
    env = {} if value is None else {"S": value}
    assert read_setting(env, "S") == expected


def test_a_service_uri_loses_its_trailing_slash_and_refuses_user_info() -> None:
    assert service_uri(TABLE_URI, "x") == TABLE_URI.rstrip("/")
    with pytest.raises(StorageSettingError, match="without user info") as caught:
        service_uri("https://me:pw@acct.queue.core.windows.net", "setting Q")
    assert "pw" not in str(caught.value)
    with pytest.raises(StorageSettingError, match="setting Q must be the https URL"):
        service_uri("https://", "setting Q")


def test_another_connection_name_reads_its_own_settings() -> None:
    env = {
        "Other__queueServiceUri": QUEUE_URI,
        "Other__tableServiceUri": TABLE_URI,
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    }
    assert load_storage_connection(env, "Other") == IdentityConnection(
        QUEUE_URI, TABLE_URI.rstrip("/")
    )
    with pytest.raises(StorageSettingError, match="setting Another is missing"):
        load_storage_connection(env, "Another")


def test_the_managed_identity_credential_setting_ignores_case() -> None:
    connection = load_storage_connection(
        {**IDENTITY, "AzureWebJobsStorage__credential": "ManagedIdentity"}
    )
    assert isinstance(connection, IdentityConnection)
    assert connection.managed_identity is True


def test_identity_clients_send_through_the_process_pools_with_the_callers_timeouts(
    plain_env: pytest.MonkeyPatch,
) -> None:
    pools = recording(plain_env, forward=False)
    options: dict[str, Any] = {"retry_total": 0, **TIMEOUTS}
    with pytest.raises(Exception, match="not sent"):
        queue_client(SESSION_IDENTITY, "q", StaticToken(), **options).get_queue_properties()
    with pytest.raises(Exception, match="not sent"):
        queue_service_client(SESSION_IDENTITY, StaticToken(), **options).get_service_properties()
    with pytest.raises(Exception, match="not sent"):
        table_service_client(SESSION_IDENTITY, StaticToken(), **options).create_table("t")
    assert [sent.url.split("/")[2] for sent in pools.sent] == [
        "acct.queue.core.windows.net",
        "acct.queue.core.windows.net",
        "acct.table.core.windows.net",
    ]
    assert {(sent.timeout, sent.verify) for sent in pools.sent} == {((4, 17), True)}


def test_proxies_and_ca_bundle_are_read_once_for_the_clients_endpoint(
    plain_env: pytest.MonkeyPatch,
) -> None:
    plain_env.setenv("HTTPS_PROXY", PROXY)
    plain_env.setenv("NO_PROXY", "acct.table.core.windows.net")
    plain_env.setenv("REQUESTS_CA_BUNDLE", "/etc/app/ca.pem")
    pools = recording(plain_env, forward=False)
    queue = queue_client(SESSION_IDENTITY, "q", StaticToken(), retry_total=0, **TIMEOUTS)
    table = table_service_client(SESSION_IDENTITY, StaticToken(), retry_total=0, **TIMEOUTS)
    # Read at creation: later changes are not seen by these clients.
    plain_env.setenv("HTTPS_PROXY", "http://other.example.test:1")
    plain_env.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(Exception, match="not sent"):
        queue.get_queue_properties()
    with pytest.raises(Exception, match="not sent"):
        table.create_table("t")
    queue_sent, table_sent = pools.sent
    assert queue_sent.proxy == PROXY
    assert table_sent.proxy is None  # NO_PROXY names the table endpoint
    assert queue_sent.verify == table_sent.verify == "/etc/app/ca.pem"


def test_a_connection_string_client_gets_the_proxy_for_its_endpoint(
    plain_env: pytest.MonkeyPatch,
) -> None:
    plain_env.setenv("HTTP_PROXY", PROXY)
    pools = recording(plain_env, forward=False)
    queue = queue_client(DEV_CONNECTION, "q", retry_total=0, **TIMEOUTS)
    with pytest.raises(Exception, match="not sent"):
        queue.get_queue_properties()
    assert pools.sent[0].url.startswith("http://127.0.0.1:10001/devstoreaccount1/q")
    assert pools.sent[0].proxy == PROXY


def test_the_callers_proxies_and_ca_bundle_win_over_the_environment(
    plain_env: pytest.MonkeyPatch,
) -> None:
    plain_env.setenv("HTTP_PROXY", PROXY)
    plain_env.setenv("REQUESTS_CA_BUNDLE", "/etc/app/ca.pem")
    pools = recording(plain_env, forward=False)
    table = table_service_client(
        DEV_CONNECTION, retry_total=0, proxies={}, connection_verify=False, **TIMEOUTS
    )
    with pytest.raises(Exception, match="not sent"):
        table.create_table("t")
    (sent,) = pools.sent
    assert sent.url.startswith("http://127.0.0.1:10002/devstoreaccount1/Tables")
    assert sent.proxy is None
    assert sent.verify is False
