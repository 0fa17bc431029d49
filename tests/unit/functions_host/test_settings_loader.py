"""Settings as `func start` assembles them: local.settings.json Values under the environment."""

from __future__ import annotations

import pytest

from emulators.functions_host.settings_loader import (
    SettingsError,
    export_settings,
    is_function_disabled,
    merge_settings,
    parse_local_settings,
    resolve_setting_references,
)
from emulators.functions_host.storage_clients import (
    DEVELOPMENT_STORAGE,
    expand_development_storage,
    resolve_connection,
)
from shared.storage_connection import ConnectionString, IdentityConnection


def test_environment_wins_over_local_values_unless_empty() -> None:
    merged, skipped = merge_settings(
        {"A": "local-a", "B": "local-b", "C": "local-c"},
        {"A": "env-a", "B": "", "OTHER": "x"},
    )
    assert merged == {"A": "env-a", "B": "local-b", "C": "local-c", "OTHER": "x"}
    assert skipped == ["A"]


def test_export_writes_only_what_the_environment_lacks() -> None:
    environ = {"A": "env-a"}
    assert export_settings({"A": "local-a", "B": "local-b"}, environ) == ["A"]
    assert environ == {"A": "env-a", "B": "local-b"}


def test_local_settings_values_and_keys() -> None:
    settings = parse_local_settings(
        {
            "IsEncrypted": False,
            "Values": {"S": "text", "N": 5, "T": True, "Z": None},
            "Host": {
                "LocalHttpPort": 7072,
                "FunctionKeys": {"default": "hk", "echo": "fk"},
                "MasterKey": "mk",
            },
        }
    )
    assert settings.values == {"S": "text", "N": "5", "T": "true", "Z": ""}
    assert settings.function_keys == {"default": "hk", "echo": "fk"}
    assert settings.master_key == "mk"
    assert settings.local_http_port == 7072


@pytest.mark.parametrize(
    "document",
    [[], {"IsEncrypted": True}, {"Values": []}, {"Host": {"LocalHttpPort": "7071"}}],
)
def test_bad_local_settings_are_rejected(document: object) -> None:
    with pytest.raises(SettingsError):
        parse_local_settings(document)


def test_setting_references_resolve() -> None:
    settings = {"SMS_QUEUE_NAME": "sms-requests", "ENV": "dev"}
    assert resolve_setting_references("%SMS_QUEUE_NAME%", settings) == "sms-requests"
    assert resolve_setting_references("q-%ENV%-x", settings) == "q-dev-x"
    assert resolve_setting_references("plain", settings) == "plain"
    with pytest.raises(SettingsError, match="%MISSING%"):
        resolve_setting_references("%MISSING%", settings)


def test_disabled_setting() -> None:
    assert is_function_disabled("f", {"AzureWebJobs.f.Disabled": "true"})
    assert is_function_disabled("f", {"AzureWebJobs.f.Disabled": "1"})
    assert not is_function_disabled("f", {"AzureWebJobs.f.Disabled": "false"})
    assert not is_function_disabled("f", {})


def test_development_storage_maps_to_azurite_default_ports() -> None:
    expanded = expand_development_storage("UseDevelopmentStorage=true")
    assert expanded == DEVELOPMENT_STORAGE
    assert "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1" in expanded
    assert "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1" in expanded
    assert "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1" in expanded
    explicit = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;"
    assert expand_development_storage(explicit) == explicit


def test_connection_lookup_defaults_and_prefix() -> None:
    settings = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "AzureWebJobsOther": "o=1"}
    assert resolve_connection(None, settings) == ConnectionString(DEVELOPMENT_STORAGE)
    assert resolve_connection("Other", settings) == ConnectionString("o=1")
    with pytest.raises(SettingsError, match="'Missing' does not exist"):
        resolve_connection("Missing", settings)


def test_identity_based_connections_resolve_like_the_host() -> None:
    settings = {
        "AzureWebJobsStorage__queueServiceUri": "https://a.queue.core.windows.net",
        "AzureWebJobsStorage__tableServiceUri": "https://a.table.core.windows.net",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "client-1",
    }
    assert resolve_connection(None, settings) == IdentityConnection(
        "https://a.queue.core.windows.net", "https://a.table.core.windows.net", True, "client-1"
    )
    # `connection: Storage` finds `AzureWebJobsStorage__*`, as the host does.
    assert resolve_connection("Storage", settings) == resolve_connection(None, settings)
    half = {"AzureWebJobsStorage__queueServiceUri": "https://a.queue.core.windows.net"}
    with pytest.raises(SettingsError, match="AzureWebJobsStorage__tableServiceUri missing"):
        resolve_connection(None, half)
