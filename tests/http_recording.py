"""What the app's storage clients hand to their transport: recording connection pools put in
place of the process's (tests/unit/shared/test_storage_connection.py and
tests/integration/app/test_http_sessions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import urllib3
from urllib3.exceptions import NewConnectionError

from shared import storage_transport
from shared.storage_transport import StoragePools

# The callers' timeouts, as the app passes them to every storage client.
TIMEOUTS = {"connection_timeout": 4, "read_timeout": 17}


@dataclass
class Sent:
    """One request as the pools received it."""

    url: str
    timeout: tuple[Any, Any]  # (connect, read)
    verify: Any
    proxy: str | None


class RecordingPools(StoragePools):
    """Records each request, then sends it (`forward`) or fails it as a refused connection."""

    def __init__(self, forward: bool) -> None:
        super().__init__()
        self.forward = forward
        self.sent: list[Sent] = []

    def urlopen(
        self,
        method: str,
        url: str,
        *,
        body: bytes | str | None,
        headers: Mapping[str, str],
        timeout: urllib3.Timeout,
        proxy: str | None,
        verify: bool | str,
        cert: Any,
    ) -> urllib3.BaseHTTPResponse:
        self.sent.append(Sent(url, (timeout.connect_timeout, timeout.read_timeout), verify, proxy))
        if not self.forward:
            raise NewConnectionError(None, "not sent (test)")  # type: ignore[arg-type]
        return super().urlopen(
            method,
            url,
            body=body,
            headers=headers,
            timeout=timeout,
            proxy=proxy,
            verify=verify,
            cert=cert,
        )


def recording(monkeypatch: pytest.MonkeyPatch, forward: bool) -> RecordingPools:
    """Recording pools used by every storage transport built while `monkeypatch` lasts."""
    pools = RecordingPools(forward)
    monkeypatch.setattr(storage_transport, "storage_pools", lambda: pools)
    return pools
