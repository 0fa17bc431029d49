"""Against an Azurite that checks API versions (its Docker and VS Code defaults), the producer's
queue and table clients work, as the functions host's do: they pin versions Azurite knows."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueServiceClient

from emulators.functions_host.storage_clients import QUEUE_API_VERSION as HOST_QUEUE_API_VERSION
from producer.cli import main
from producer.storage_options import QUEUE_API_VERSION

if TYPE_CHECKING:  # the fixture's type only; conftest modules are not imported by tests
    from .conftest import Names


def test_the_producer_pins_the_version_the_functions_host_pins() -> None:
    assert QUEUE_API_VERSION == HOST_QUEUE_API_VERSION


def test_every_command_works_against_an_azurite_that_checks_api_versions(
    strict_storage_connection_string: str,
    names: Names,
    capsys: pytest.CaptureFixture[str],
) -> None:
    connection = ["--connection", strict_storage_connection_string]
    sms = ["sms", "--to", "+15005550006", "--body", "hi", "--id", "strict-1"]
    assert main([*sms, *connection]) == 0
    request_id = capsys.readouterr().out.strip()
    assert request_id == "strict-1"

    with QueueServiceClient.from_connection_string(
        strict_storage_connection_string, api_version=QUEUE_API_VERSION
    ) as queues:
        poison = queues.create_queue(f"{names.sms}-poison")
        poison.send_message("not base64")
    assert main(["poison", "list", names.sms, "--json", *connection]) == 0
    assert json.loads(capsys.readouterr().out)["approximate_count"] == 1
    assert main(["events", "--peek", *connection]) == 0

    with TableServiceClient.from_connection_string(strict_storage_connection_string) as tables:
        table = tables.create_table(names.table)
        table.create_entity({"PartitionKey": request_id, "RowKey": "state", "status": "sent"})
    assert main(["status", request_id, "--json", *connection]) == 0
    assert json.loads(capsys.readouterr().out)["current"]["status"] == "sent"
