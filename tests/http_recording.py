"""What the app's storage clients hand to their transport: recording connection pools put in
place of the process's (tests/unit/shared/test_storage_connection.py and
tests/integration/app/test_http_sessions.py)."""

from __future__ import annotations

import pytest
from urllib3.exceptions import NewConnectionError

from shared import storage_transport
from tests.fakes.storage_pools import RecordingPools

# The callers' timeouts, as the app passes them to every storage client.
TIMEOUTS = {"connection_timeout": 4, "read_timeout": 17}


def recording(monkeypatch: pytest.MonkeyPatch, forward: bool) -> RecordingPools:
    """Recording pools used by every storage transport built while `monkeypatch` lasts: they
    send each request (`forward`) or fail it as a refused connection."""
    refused = None if forward else NewConnectionError(None, "not sent (test)")  # type: ignore[arg-type]
    pools = RecordingPools(forward=forward, error=refused)
    monkeypatch.setattr(storage_transport, "storage_pools", lambda: pools)
    return pools
