"""Connection pools for `StorageTransport` that record every request, then send it on, answer it
with a canned response, or fail it (tests/unit/shared/test_storage_transport.py, and through
tests/http_recording.py the storage connection tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

from shared.storage_transport import StoragePools


@dataclass
class Sent:
    """One request as the pools received it."""

    method: str
    url: str
    body: bytes | str | None
    headers: dict[str, str]
    timeout: tuple[Any, Any]  # (connect, read)
    proxy: str | None
    verify: Any
    cert: Any


class RecordingPools(StoragePools):
    """Records each request (`sent`), then raises `error` when given, else sends it for real
    (`forward`), else answers `status` with `body` (JSON, an ETag)."""

    def __init__(
        self,
        *,
        forward: bool = False,
        status: int = 200,
        body: bytes = b"",
        error: Exception | None = None,
    ) -> None:
        super().__init__()
        self.forward, self.status, self.body, self.error = forward, status, body, error
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
        self.sent.append(
            Sent(
                method,
                url,
                body,
                dict(headers),
                (timeout.connect_timeout, timeout.read_timeout),
                proxy,
                verify,
                cert,
            )
        )
        if self.error is not None:
            raise self.error
        if self.forward:
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
        return urllib3.HTTPResponse(
            body=self.body,
            status=self.status,
            reason="Reason",
            headers={"Content-Type": "application/json", "ETag": 'W/"1"'},
            preload_content=True,
        )
