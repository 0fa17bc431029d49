"""Azurite's connection string and endpoints, and the command line `start_azurite` runs (the
launcher replaced by a recorder: Azurite itself runs in the integration and e2e tests)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from azure.storage.queue import QueueServiceClient

from emulators import azurite
from emulators.azurite import DEV_ACCOUNT, Azurite, connection_string, start_azurite
from emulators.launcher import Service, ServiceStartError


def test_the_connection_string_names_the_development_account_and_each_port() -> None:
    text = connection_string("127.0.0.1", 1, 2, 3)
    parts = dict(part.split("=", 1) for part in text.rstrip(";").split(";"))
    assert parts == {
        "DefaultEndpointsProtocol": "http",
        "AccountName": DEV_ACCOUNT,
        "AccountKey": azurite.DEV_KEY,
        "BlobEndpoint": f"http://127.0.0.1:1/{DEV_ACCOUNT}",
        "QueueEndpoint": f"http://127.0.0.1:2/{DEV_ACCOUNT}",
        "TableEndpoint": f"http://127.0.0.1:3/{DEV_ACCOUNT}",
    }


def test_the_sdk_reads_the_connection_string() -> None:
    client = QueueServiceClient.from_connection_string(
        connection_string("localhost", 5, 6, 7, "https")
    )
    assert client.url == f"https://localhost:6/{DEV_ACCOUNT}/"
    assert client.account_name == DEV_ACCOUNT


def fake_service(lines: list[str], patterns: list[str]) -> Service:
    matches = [m for p in patterns for line in lines if (m := re.search(p, line))]
    return Service("azurite", None, matches)  # type: ignore[arg-type]


def test_an_azurite_knows_its_endpoints() -> None:
    running = Azurite(fake_service([], []), "127.0.0.1", 10, 11, 12, "https")
    assert running.blob_url == f"https://127.0.0.1:10/{DEV_ACCOUNT}"
    assert running.queue_url == f"https://127.0.0.1:11/{DEV_ACCOUNT}"
    assert running.table_url == f"https://127.0.0.1:12/{DEV_ACCOUNT}"
    assert running.connection_string == connection_string("127.0.0.1", 10, 11, 12, "https")


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Record what start_azurite would launch; answer with Azurite's ready lines."""
    calls: list[dict[str, Any]] = []
    binary = tmp_path / "azurite"
    binary.touch()
    monkeypatch.setattr(azurite, "AZURITE_BIN", binary)

    def start_service(name: str, argv: list[str], ready: list[str], *, echo: bool) -> Service:
        calls.append({"name": name, "argv": argv, "ready": ready, "echo": echo})
        scheme = "https" if "--cert" in argv else "http"
        lines = [
            f"Azurite Blob service is successfully listening at {scheme}://127.0.0.1:40001",
            f"Azurite Queue service is successfully listening at {scheme}://127.0.0.1:40002",
            f"Azurite Table service is successfully listening at {scheme}://127.0.0.1:40003",
        ]
        return fake_service(lines, ready)

    monkeypatch.setattr(azurite, "start_service", start_service)
    return calls


def test_the_default_start_is_in_memory_on_free_loopback_ports(
    launched: list[dict[str, Any]],
) -> None:
    running = start_azurite()
    ((call),) = launched
    assert call["name"] == "azurite"
    assert call["echo"] is False
    assert call["argv"][1:] == [
        "--silent",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        *("--blobHost", "127.0.0.1", "--blobPort", "0"),
        *("--queueHost", "127.0.0.1", "--queuePort", "0"),
        *("--tableHost", "127.0.0.1", "--tablePort", "0"),
        "--inMemoryPersistence",
    ]
    assert (running.blob_port, running.queue_port, running.table_port) == (40001, 40002, 40003)
    assert running.scheme == "http"


def test_a_location_tls_and_oauth_are_passed_on(
    launched: list[dict[str, Any]], tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    running = start_azurite(
        ports=(1, 2, 3), location=tmp_path / "data", echo=True, tls=(cert, key), oauth=True
    )
    argv = launched[0]["argv"]
    assert argv[argv.index("--blobPort") + 1] == "1"
    assert argv[argv.index("--tablePort") + 1] == "3"
    assert argv[-8:] == [
        "--location", str(tmp_path / "data"), "--cert", str(cert), "--key", str(key),
        "--oauth", "basic",
    ]  # fmt: skip
    assert "--inMemoryPersistence" not in argv
    assert all(pattern.count("https://") == 1 for pattern in launched[0]["ready"])
    assert running.scheme == "https"
    assert launched[0]["echo"] is True


def test_oauth_without_tls_is_refused(launched: list[dict[str, Any]]) -> None:
    with pytest.raises(ValueError, match="only over https"):
        start_azurite(oauth=True)
    assert launched == []


def test_a_missing_install_says_to_run_make_setup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(azurite, "AZURITE_BIN", tmp_path / "missing")
    with pytest.raises(ServiceStartError, match=r"run `make setup` \(npm ci\) first"):
        start_azurite()


def test_stop_stops_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    stopped: list[str] = []
    service = fake_service([], [])
    monkeypatch.setattr(service, "stop", lambda: stopped.append("stopped"))
    Azurite(service, "127.0.0.1", 1, 2, 3).stop()
    assert stopped == ["stopped"]
