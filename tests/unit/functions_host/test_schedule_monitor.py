"""The schedule monitor's blob container, for either kind of storage connection."""

from __future__ import annotations

import pytest

from emulators.functions_host.schedule_monitor import ScheduleMonitor
from emulators.functions_host.settings_loader import SettingsError
from shared.storage_connection import IdentityConnection

IDENTITY = IdentityConnection("https://acct.queue.example", "https://acct.table.example")


def test_an_identity_connection_without_a_blob_endpoint_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="AzureWebJobsStorage__blobServiceUri is missing"):
        ScheduleMonitor(IDENTITY, "host", {}, "AzureWebJobsStorage")


async def test_an_identity_connection_uses_the_blob_endpoint_setting() -> None:
    settings = {"AzureWebJobsStorage__blobServiceUri": "https://acct.blob.example/"}
    monitor = ScheduleMonitor(IDENTITY, "host", settings, "AzureWebJobsStorage")
    try:
        assert monitor.container_url == "https://acct.blob.example/azure-webjobs-hosts"
    finally:
        await monitor.close()
