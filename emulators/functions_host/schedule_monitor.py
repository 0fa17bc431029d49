"""The timer trigger's schedule monitor (`useMonitor`): each timer's last and next occurrence kept
in a blob, so a restarted host knows it missed one and runs it at once with `IsPastDue`.

As the host's `StorageScheduleMonitor`: blob `timers/<host id>/Host.Functions.<name>/status` in
the `azure-webjobs-hosts` container of `AzureWebJobsStorage`, JSON `{"Last","Next","LastUpdated"}`
(Newtonsoft ISO dates); the past-due check is `ScheduleMonitor.CheckPastDueAsync`.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient

from emulators.functions_host import invocation_log
from emulators.functions_host.settings_loader import SettingsError
from emulators.functions_host.storage_clients import (
    CONNECTION_TIMEOUT,
    QUEUE_API_VERSION,
    READ_TIMEOUT,
    RETRY_TOTAL,
    async_credential,
)
from emulators.functions_host.timer_schedule import TimerSchedule
from shared.storage_connection import ConnectionString, StorageConnection

# The host's blob endpoint of an identity-based connection (the app itself reads no blob).
BLOB_SERVICE_URI = "__blobServiceUri"
HOSTS_CONTAINER = "azure-webjobs-hosts"
HOST_ID_SETTING = "AzureFunctionsWebHost__hostid"
MAX_HOST_ID_LENGTH = 32
# .NET's default(DateTime): "never" in a status.
NEVER = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ScheduleStatus:
    """The host's ScheduleStatus: last run, expected next run, when `next` was computed."""

    last: datetime
    next: datetime
    last_updated: datetime

    def to_json(self) -> dict[str, str]:
        """The status as the host serialises it (blob and trigger payload alike)."""
        return {
            "Last": format_dotnet_date(self.last),
            "Next": format_dotnet_date(self.next),
            "LastUpdated": format_dotnet_date(self.last_updated),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> ScheduleStatus:
        """Read a status blob; a missing or unreadable date counts as never."""
        return cls(
            last=_parse_date(document.get("Last")),
            next=_parse_date(document.get("Next")),
            last_updated=_parse_date(document.get("LastUpdated")),
        )


def format_dotnet_date(moment: datetime) -> str:
    """Newtonsoft's ISO form of a local DateTime on a UTC host: seven-digit fraction with
    trailing zeros dropped, offset `+00:00`."""
    moment = moment.astimezone(UTC)
    # %Y does not pad years below 1000 on every platform (year 1 is .NET's "never").
    text = f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}0".rstrip("0")
    return text + "+00:00"


def _parse_date(value: object) -> datetime:
    if not isinstance(value, str):
        return NEVER
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return NEVER
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _stable_hash(text: str) -> int:
    """The host's `Utility.GetStableHash`: 23, then hash * 31 + char, in 32-bit arithmetic."""
    value = 23
    for char in text:
        value = (value * 31 + ord(char)) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def host_id(settings: Mapping[str, str], app_dir: Path) -> str:
    """`AzureFunctionsWebHost__hostid`, else the host's local default: machine name (letters and
    digits) + '-' + |stable hash of the script path|, cut to 32 characters, lower case."""
    configured = settings.get(HOST_ID_SETTING)
    if configured:
        return configured
    machine = "".join(c for c in (platform.node() or os.environ.get("HOSTNAME", "")) if c.isalnum())
    generated = f"{machine}-{abs(_stable_hash(str(app_dir)))}"[:MAX_HOST_ID_LENGTH]
    return generated.lower().rstrip("-")


class ScheduleMonitor:
    """Status blobs for the timers of one host (one container client, reused)."""

    def __init__(
        self,
        connection: StorageConnection,
        host: str,
        settings: Mapping[str, str],
        connection_name: str,
    ) -> None:
        options: dict[str, Any] = {
            # The version the queue clients use, which Azurite 3.35 accepts without flags.
            "api_version": QUEUE_API_VERSION,
            "connection_timeout": CONNECTION_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "retry_total": RETRY_TOTAL,
        }
        if isinstance(connection, ConnectionString):
            self._container = ContainerClient.from_connection_string(
                connection.value, HOSTS_CONTAINER, **options
            )
            self._credential = None
        else:
            blob_setting = connection_name + BLOB_SERVICE_URI
            blob_uri = (settings.get(blob_setting) or "").strip()
            if not blob_uri:
                raise SettingsError(
                    f"setting {blob_setting} is missing: a timer with useMonitor keeps its "
                    "schedule status in blob storage"
                )
            self._credential = async_credential(connection)
            self._container = ContainerClient(
                blob_uri.rstrip("/"), HOSTS_CONTAINER, credential=self._credential, **options
            )
        self._host = host

    @property
    def container_url(self) -> str:
        """Where the status blobs live."""
        return str(self._container.url)

    def blob_name(self, function: str) -> str:
        """Where a function's status lives (the host's timer name is `Host.Functions.<name>`)."""
        return f"timers/{self._host}/Host.Functions.{function}/status"

    async def get_status(self, function: str) -> ScheduleStatus | None:
        """The recorded status, or None when the timer has none yet."""
        try:
            download = await self._container.download_blob(self.blob_name(function))
            document = json.loads(await download.readall())
        except ResourceNotFoundError:
            return None
        if not isinstance(document, dict):
            return None
        return ScheduleStatus.from_json(document)

    async def update_status(self, function: str, status: ScheduleStatus) -> None:
        """Write the status; best effort, as on the host (a failure is logged)."""
        body = json.dumps(status.to_json(), separators=(",", ":"))
        try:
            try:
                await self._container.upload_blob(self.blob_name(function), body, overwrite=True)
            except ResourceNotFoundError:
                await self._container.create_container()
                await self._container.upload_blob(self.blob_name(function), body, overwrite=True)
        except AzureError as error:
            invocation_log.log(
                f"Function '{function}' failed to update the timer trigger status: {error}"
            )

    async def check_past_due(
        self,
        function: str,
        now: datetime,
        schedule: TimerSchedule,
        last_status: ScheduleStatus | None,
    ) -> tuple[timedelta, ScheduleStatus]:
        """`ScheduleMonitor.CheckPastDueAsync`: how late the recorded next occurrence is (zero
        when not past due) and the status now in force, written back when it changed."""
        status = reconcile_status(now, schedule, last_status)
        if status != last_status:
            await self.update_status(function, status)
        late = now - status.next
        return (late if late > timedelta(0) else timedelta(0)), status

    async def close(self) -> None:
        """Close the container client (and the identity's credential)."""
        await self._container.close()
        if self._credential is not None:
            await self._credential.close()


def reconcile_status(
    now: datetime, schedule: TimerSchedule, last_status: ScheduleStatus | None
) -> ScheduleStatus:
    """The status the host keeps at start-up: a new one for a timer without one; the recorded
    one when its `Next` still follows from its `Last` (or `LastUpdated`); else (the schedule
    changed) one re-based on `now` when the expected next occurrence has already passed, so a
    schedule change is not reported as past due."""
    if last_status is None:
        return ScheduleStatus(NEVER, _next(schedule, now), now)
    if last_status.last != NEVER:
        base = last_status.last
    elif last_status.last_updated != NEVER:
        base = last_status.last_updated
    else:
        base = now
    expected = _next(schedule, base)
    if last_status.next == expected:
        return last_status
    if now > expected:
        expected, base = _next(schedule, now), now
    return ScheduleStatus(NEVER, expected, base)


def _next(schedule: TimerSchedule, moment: datetime) -> datetime:
    # A schedule that never fires keeps the largest date there is (the host's DateTime.MaxValue).
    return schedule.next_after(moment) or datetime.max.replace(tzinfo=UTC)
