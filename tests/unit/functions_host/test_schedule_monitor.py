"""The timer schedule monitor: status documents, host id, start-up reconciliation, and the
status blob over a fake container client (either kind of storage connection)."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError

from emulators.functions_host.schedule_monitor import (
    NEVER,
    ScheduleMonitor,
    ScheduleStatus,
    _stable_hash,
    format_dotnet_date,
    host_id,
    reconcile_status,
)
from emulators.functions_host.settings_loader import SettingsError
from emulators.functions_host.storage_clients import DEVELOPMENT_STORAGE
from emulators.functions_host.timer_schedule import ConstantSchedule
from shared.storage_connection import ConnectionString, IdentityConnection

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


# The status document, the host id and the start-up reconciliation (pure), then the blob calls
# over a fake container client.

EVERY_5_MIN = ConstantSchedule("00:05:00", timedelta(minutes=5))
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_dates_are_written_as_newtonsoft_writes_them() -> None:
    assert format_dotnet_date(NEVER) == "0001-01-01T00:00:00+00:00"
    assert format_dotnet_date(T0.replace(microsecond=120000)) == "2026-12-01T08:00:00.12+00:00"
    # Seven digits (.NET ticks) with trailing zeros dropped: a whole microsecond ends in 0.
    assert format_dotnet_date(T0.replace(microsecond=1)) == "2026-12-01T08:00:00.000001+00:00"
    assert format_dotnet_date(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00+00:00"
    east = timezone(timedelta(hours=2))
    assert format_dotnet_date(datetime(2026, 12, 1, 10, 0, tzinfo=east)) == (
        "2026-12-01T08:00:00+00:00"
    )


def test_a_status_round_trips_through_its_json() -> None:
    status = ScheduleStatus(T0, T0 + timedelta(minutes=5), T0.replace(microsecond=5))
    assert status.to_json() == {
        "Last": "2026-12-01T08:00:00+00:00",
        "Next": "2026-12-01T08:05:00+00:00",
        "LastUpdated": "2026-12-01T08:00:00.000005+00:00",
    }
    assert ScheduleStatus.from_json(status.to_json()) == status


def test_unreadable_dates_count_as_never_and_naive_ones_as_utc() -> None:
    document = {"Last": "garbage", "Next": "2026-12-01T08:05:00", "LastUpdated": 5}
    assert ScheduleStatus.from_json(document) == ScheduleStatus(
        NEVER, T0 + timedelta(minutes=5), NEVER
    )
    assert ScheduleStatus.from_json({}) == ScheduleStatus(NEVER, NEVER, NEVER)
    shifted = ScheduleStatus.from_json({"Next": "2026-12-01T10:05:00+02:00"})
    assert shifted.next == T0 + timedelta(minutes=5)
    assert shifted.next.tzinfo == UTC


def test_the_stable_hash_is_the_hosts_32_bit_one() -> None:
    assert _stable_hash("") == 23
    assert _stable_hash("a") == 23 * 31 + ord("a")
    # Wraps to a signed 32-bit value, as C# int arithmetic does.
    long = _stable_hash("/home/someone/projects/twilio-azure-functions")
    assert -(2**31) <= long < 2**31
    assert long == _reference_hash("/home/someone/projects/twilio-azure-functions")


def _reference_hash(text: str) -> int:
    """The same hash written another way: unbounded ints wrapped to int32 at every step."""
    value = 23
    for char in text:
        value = value * 31 + ord(char)
        value = (value + 2**31) % 2**32 - 2**31
    return value


def test_a_configured_host_id_wins(tmp_path: Path) -> None:
    assert host_id({"AzureFunctionsWebHost__hostid": "my-host"}, tmp_path) == "my-host"


def test_the_default_host_id_is_machine_and_path_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(platform, "node", lambda: "Build-Box_7.local")
    app = Path("/srv/app")
    assert host_id({}, app) == f"buildbox7local-{abs(_stable_hash('/srv/app'))}"
    monkeypatch.setattr(platform, "node", lambda: "M" * 40)
    assert host_id({}, app) == "m" * 32  # cut to 32 characters, no trailing hyphen
    monkeypatch.setattr(platform, "node", lambda: "M" * 31)
    assert host_id({}, app) == "m" * 31


def test_a_timer_without_status_gets_a_new_one() -> None:
    assert reconcile_status(T0, EVERY_5_MIN, None) == ScheduleStatus(
        NEVER, T0 + timedelta(minutes=5), T0
    )


def test_a_status_that_follows_from_its_last_run_is_kept() -> None:
    kept = ScheduleStatus(T0, T0 + timedelta(minutes=5), T0)
    assert reconcile_status(T0 + timedelta(hours=1), EVERY_5_MIN, kept) is kept
    # Without a last run, `LastUpdated` is the base.
    fresh = ScheduleStatus(NEVER, T0 + timedelta(minutes=5), T0)
    assert reconcile_status(T0 + timedelta(hours=1), EVERY_5_MIN, fresh) is fresh


def test_a_changed_schedule_is_rebased_on_now_when_its_next_has_passed() -> None:
    hourly = ScheduleStatus(T0, T0 + timedelta(hours=1), T0)
    now = T0 + timedelta(minutes=7)
    assert reconcile_status(now, EVERY_5_MIN, hourly) == ScheduleStatus(
        NEVER, now + timedelta(minutes=5), now
    )


def test_a_changed_schedule_keeps_its_base_when_its_next_is_still_ahead() -> None:
    hourly = ScheduleStatus(T0, T0 + timedelta(hours=1), T0)
    now = T0 + timedelta(minutes=2)
    assert reconcile_status(now, EVERY_5_MIN, hourly) == ScheduleStatus(
        NEVER, T0 + timedelta(minutes=5), T0
    )


def test_a_status_with_no_dates_is_based_on_now() -> None:
    blank = ScheduleStatus(NEVER, NEVER, NEVER)
    assert reconcile_status(T0, EVERY_5_MIN, blank) == ScheduleStatus(
        NEVER, T0 + timedelta(minutes=5), T0
    )


@dataclass
class NeverSchedule:
    expression: str = "never"

    def next_after(self, moment: datetime) -> datetime | None:
        return None


def test_a_schedule_that_never_fires_waits_for_the_largest_date() -> None:
    status = reconcile_status(T0, NeverSchedule(), None)  # type: ignore[arg-type]
    assert status.next == datetime.max.replace(tzinfo=UTC)


class FakeDownload:
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def readall(self) -> bytes:
        return self.body


class FakeContainer:
    """The ContainerClient calls the monitor makes, over a dict of blobs."""

    def __init__(self, exists: bool = True, failure: Exception | None = None) -> None:
        self.blobs: dict[str, str] = {}
        self.exists = exists
        self.failure = failure
        self.url = "http://fake/azure-webjobs-hosts"

    async def download_blob(self, name: str) -> FakeDownload:
        if name not in self.blobs:
            raise ResourceNotFoundError("BlobNotFound")
        return FakeDownload(self.blobs[name].encode())

    async def upload_blob(self, name: str, body: str, overwrite: bool) -> None:
        if self.failure is not None:
            raise self.failure
        if not self.exists:
            raise ResourceNotFoundError("ContainerNotFound")
        assert overwrite
        self.blobs[name] = body

    async def create_container(self) -> None:
        self.exists = True

    async def close(self) -> None:
        pass


@pytest.fixture
async def monitor() -> ScheduleMonitor:
    real = ScheduleMonitor(ConnectionString(DEVELOPMENT_STORAGE), "host-1", {}, "x")
    assert real.container_url == "http://127.0.0.1:10000/devstoreaccount1/azure-webjobs-hosts"
    await real.close()
    real._container = FakeContainer()  # type: ignore[assignment]
    return real


def container(monitor: ScheduleMonitor) -> FakeContainer:
    fake = monitor._container
    assert isinstance(fake, FakeContainer)
    return fake


STATUS_BLOB = "timers/host-1/Host.Functions.tick/status"


def test_the_status_blob_is_named_after_host_and_function(monitor: ScheduleMonitor) -> None:
    assert monitor.blob_name("tick") == STATUS_BLOB


async def test_no_status_blob_is_no_status(monitor: ScheduleMonitor) -> None:
    assert await monitor.get_status("tick") is None


async def test_a_written_status_is_read_back(monitor: ScheduleMonitor) -> None:
    status = ScheduleStatus(T0, T0 + timedelta(minutes=5), T0)
    await monitor.update_status("tick", status)
    assert json.loads(container(monitor).blobs[STATUS_BLOB]) == status.to_json()
    assert await monitor.get_status("tick") == status


async def test_a_blob_that_is_no_object_is_no_status(monitor: ScheduleMonitor) -> None:
    container(monitor).blobs[STATUS_BLOB] = "[1, 2]"
    assert await monitor.get_status("tick") is None


async def test_a_missing_container_is_created_on_write(monitor: ScheduleMonitor) -> None:
    container(monitor).exists = False
    await monitor.update_status("tick", ScheduleStatus(T0, T0, T0))
    assert STATUS_BLOB in container(monitor).blobs


async def test_a_failed_write_is_logged_not_raised(
    monitor: ScheduleMonitor, capsys: pytest.CaptureFixture[str]
) -> None:
    container(monitor).failure = ServiceRequestError("storage down")
    await monitor.update_status("tick", ScheduleStatus(T0, T0, T0))
    assert "Function 'tick' failed to update the timer trigger status: storage down" in (
        capsys.readouterr().out
    )


async def test_a_missed_occurrence_is_past_due_by_how_late_it_is(
    monitor: ScheduleMonitor,
) -> None:
    recorded = ScheduleStatus(T0, T0 + timedelta(minutes=5), T0)
    now = T0 + timedelta(minutes=8)
    late, status = await monitor.check_past_due("tick", now, EVERY_5_MIN, recorded)
    assert (late, status) == (timedelta(minutes=3), recorded)
    assert container(monitor).blobs == {}  # unchanged status: nothing written


async def test_a_first_start_is_not_past_due_and_writes_its_status(
    monitor: ScheduleMonitor,
) -> None:
    late, status = await monitor.check_past_due("tick", T0, EVERY_5_MIN, None)
    assert late == timedelta(0)
    assert status == ScheduleStatus(NEVER, T0 + timedelta(minutes=5), T0)
    assert ScheduleStatus.from_json(json.loads(container(monitor).blobs[STATUS_BLOB])) == status
