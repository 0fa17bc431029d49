"""Where the producer's connection string and names come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from producer.errors import InvalidInputError
from producer.settings import DEVELOPMENT_STORAGE, load_settings
from shared.storage_connection import ConnectionString, IdentityConnection

QUEUE = "https://acct.queue.core.windows.net"
TABLE = "https://acct.table.core.windows.net"


def _write_local_settings(directory: Path, values: dict[str, str]) -> None:
    (directory / "local.settings.json").write_text(json.dumps({"Values": values}))


def test_option_beats_environment_beats_local_settings(tmp_path: Path) -> None:
    _write_local_settings(tmp_path, {"AzureWebJobsStorage": "from-file"})
    env = {"AzureWebJobsStorage": "from-env"}
    assert load_settings("from-option", environ=env, directory=tmp_path).storage == (
        ConnectionString("from-option")
    )
    assert load_settings(None, environ=env, directory=tmp_path).storage == ConnectionString(
        "from-env"
    )
    assert load_settings(None, environ={}, directory=tmp_path).storage == ConnectionString(
        "from-file"
    )


def test_azurite_default_without_any_setting(tmp_path: Path) -> None:
    settings = load_settings(None, environ={}, directory=tmp_path)
    assert settings.storage == ConnectionString(DEVELOPMENT_STORAGE)
    assert (settings.sms_queue, settings.call_queue) == ("sms-requests", "call-requests")
    assert (settings.events_queue, settings.deliveries_table) == ("delivery-events", "deliveries")


def test_names_from_environment_then_local_settings(tmp_path: Path) -> None:
    _write_local_settings(tmp_path, {"SMS_QUEUE_NAME": "file-sms", "CALL_QUEUE_NAME": "file-call"})
    settings = load_settings(None, environ={"SMS_QUEUE_NAME": "env-sms"}, directory=tmp_path)
    assert (settings.sms_queue, settings.call_queue) == ("env-sms", "file-call")


def test_broken_local_settings_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text("{")
    with pytest.raises(InvalidInputError, match=r"local\.settings\.json"):
        load_settings(None, environ={}, directory=tmp_path)


def test_endpoints_give_an_identity_connection_with_default_credential(tmp_path: Path) -> None:
    settings = load_settings(queue_url=QUEUE, table_url=TABLE, environ={}, directory=tmp_path)
    assert settings.storage == IdentityConnection(QUEUE, TABLE, managed_identity=False)
    with pytest.raises(InvalidInputError, match="--queue-url and --table-url"):
        load_settings(queue_url=QUEUE, environ={}, directory=tmp_path)
    with pytest.raises(InvalidInputError, match="must be the https URL"):
        load_settings(queue_url="http://x", table_url=TABLE, environ={}, directory=tmp_path)


def test_identity_settings_in_the_environment_are_used(tmp_path: Path) -> None:
    env = {
        "AzureWebJobsStorage__queueServiceUri": QUEUE,
        "AzureWebJobsStorage__tableServiceUri": TABLE,
    }
    assert load_settings(environ=env, directory=tmp_path).storage == IdentityConnection(
        QUEUE, TABLE
    )
    with pytest.raises(InvalidInputError, match="AzureWebJobsStorage__tableServiceUri missing"):
        load_settings(environ={"AzureWebJobsStorage__queueServiceUri": QUEUE}, directory=tmp_path)


def _write_azd_env(directory: Path, name: str, lines: list[str]) -> None:
    (directory / ".azure" / name).mkdir(parents=True)
    (directory / ".azure" / name / ".env").write_text("\n".join(lines) + "\n")


def test_azd_environment_outputs_name_the_endpoints(tmp_path: Path) -> None:
    _write_azd_env(
        tmp_path,
        "prod",
        [
            'AZURE_ENV_NAME="prod"',
            f'AZURE_STORAGE_QUEUE_ENDPOINT="{QUEUE}/"',
            f"AZURE_STORAGE_TABLE_ENDPOINT={TABLE}",
        ],
    )
    expected = IdentityConnection(QUEUE, TABLE)
    assert load_settings(azd_env="prod", environ={}, directory=tmp_path).storage == expected
    # No name: AZURE_ENV_NAME, then azd's default environment.
    picked = {"AZURE_ENV_NAME": "prod"}
    assert load_settings(azd_env="", environ=picked, directory=tmp_path).storage == expected
    with pytest.raises(InvalidInputError, match="pass --azd-env NAME or set AZURE_ENV_NAME"):
        load_settings(azd_env="", environ={}, directory=tmp_path)
    (tmp_path / ".azure" / "config.json").write_text('{"version": 1, "defaultEnvironment": "prod"}')
    assert load_settings(azd_env="", environ={}, directory=tmp_path).storage == expected
    with pytest.raises(InvalidInputError, match="cannot read azd environment 'dev'"):
        load_settings(azd_env="dev", environ={}, directory=tmp_path)
    _write_azd_env(tmp_path, "empty", ['AZURE_ENV_NAME="empty"'])
    with pytest.raises(InvalidInputError, match="no AZURE_STORAGE_QUEUE_ENDPOINT"):
        load_settings(azd_env="empty", environ={}, directory=tmp_path)


def test_an_account_name_gives_the_public_cloud_endpoints(tmp_path: Path) -> None:
    settings = load_settings(account_name="mystore1", environ={}, directory=tmp_path)
    assert settings.storage == IdentityConnection(
        "https://mystore1.queue.core.windows.net", "https://mystore1.table.core.windows.net"
    )
    with pytest.raises(InvalidInputError, match="not a storage account name"):
        load_settings(account_name="My_Store", environ={}, directory=tmp_path)
    with pytest.raises(InvalidInputError, match="not both"):
        load_settings(account_name="mystore1", queue_url=QUEUE, environ={}, directory=tmp_path)


def test_azd_outputs_may_name_the_queues(tmp_path: Path) -> None:
    _write_azd_env(
        tmp_path,
        "prod",
        [
            f"AZURE_STORAGE_QUEUE_ENDPOINT={QUEUE}",
            f"AZURE_STORAGE_TABLE_ENDPOINT={TABLE}",
            "SMS_QUEUE_NAME=prod-sms",
        ],
    )
    settings = load_settings(azd_env="prod", environ={}, directory=tmp_path)
    assert (settings.sms_queue, settings.call_queue) == ("prod-sms", "call-requests")


@pytest.mark.parametrize(
    "url",
    [
        "https://mystore1.blob.core.windows.net",
        "https://mystore1.queue.core.windows.net/",
        "https://mystore1.table.core.windows.net",
    ],
)
def test_an_account_url_gives_the_queue_and_table_endpoints(url: str, tmp_path: Path) -> None:
    settings = load_settings(account_url=url, environ={}, directory=tmp_path)
    assert settings.storage == IdentityConnection(
        "https://mystore1.queue.core.windows.net", "https://mystore1.table.core.windows.net"
    )


def test_an_account_url_keeps_its_cloud(tmp_path: Path) -> None:
    url = "https://mystore1.blob.core.chinacloudapi.cn"
    settings = load_settings(account_url=url, environ={}, directory=tmp_path)
    assert settings.storage == IdentityConnection(
        "https://mystore1.queue.core.chinacloudapi.cn",
        "https://mystore1.table.core.chinacloudapi.cn",
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://mystore1.blob.core.windows.net",
        "https://127.0.0.1:10000/devstoreaccount1",
        "https://mystore1.web.core.windows.net",
        "https://mystore1.blob.core.windows.net/container",
    ],
)
def test_an_account_url_that_is_not_an_account_endpoint_is_refused(
    url: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="--account-url"):
        load_settings(account_url=url, environ={}, directory=tmp_path)


def test_an_account_url_with_other_endpoint_options_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="one of --account-url"):
        load_settings(
            account_url="https://a1b.blob.core.windows.net", account_name="a1b", environ={}
        )
