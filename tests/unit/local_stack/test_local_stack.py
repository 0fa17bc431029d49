"""What `make run` starts, decided from local.settings.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulators.azurite import connection_string
from emulators.local_stack import AZURITE_DEFAULT_PORTS, azurite_ports, plan_stack

REPO_ROOT = Path(__file__).resolve().parents[3]


def write_settings(
    folder: Path, values: dict[str, str], host: dict[str, int] | None = None
) -> Path:
    document: dict[str, object] = {"IsEncrypted": False, "Values": values}
    if host is not None:
        document["Host"] = host
    (folder / "local.settings.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


def test_the_example_settings_start_everything_on_the_documented_ports(tmp_path: Path) -> None:
    example = json.loads((REPO_ROOT / "local.settings.example.json").read_text(encoding="utf-8"))
    (tmp_path / "local.settings.json").write_text(json.dumps(example), encoding="utf-8")
    plan = plan_stack(tmp_path)
    assert plan.azurite_ports == AZURITE_DEFAULT_PORTS
    assert plan.twilio_port == 8701
    assert plan.host_port == 7071


def test_real_twilio_and_remote_storage_start_only_the_host(tmp_path: Path) -> None:
    remote = (
        "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;"
        "EndpointSuffix=core.windows.net"
    )
    values = {"AzureWebJobsStorage": remote, "TWILIO_API_BASE_URL": ""}
    plan = plan_stack(write_settings(tmp_path, values, host={"LocalHttpPort": 7080}))
    assert (plan.azurite_ports, plan.twilio_port, plan.host_port) == (None, None, 7080)


@pytest.mark.parametrize(
    ("connection", "ports"),
    [
        ("UseDevelopmentStorage=true", AZURITE_DEFAULT_PORTS),
        ("UseDevelopmentStorage=true;", AZURITE_DEFAULT_PORTS),
        (connection_string("127.0.0.1", 20000, 20001, 20002), (20000, 20001, 20002)),
        (connection_string("storage.example.com", 1, 2, 3), None),
        ("", None),
    ],
)
def test_azurite_ports_follow_the_connection_string(
    connection: str, ports: tuple[int, int, int] | None
) -> None:
    assert azurite_ports(connection) == ports


def test_missing_settings_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"local\.settings\.example\.json"):
        plan_stack(tmp_path)
