"""What the app's storage clients hand to `requests`: a recording adapter mounted on the
process's storage session (tests/unit/shared/test_storage_connection.py and
tests/integration/app/test_http_sessions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from shared.storage_connection import storage_session

# The callers' timeouts, as the app passes them to every storage client.
TIMEOUTS = {"connection_timeout": 4, "read_timeout": 17}


@dataclass
class Sent:
    """One request as the session's adapter received it."""

    url: str
    timeout: Any
    verify: Any
    proxies: Mapping[str, str]


class RecordingAdapter(HTTPAdapter):
    """Records each request, then sends it (`forward`) or fails it as a refused connection."""

    def __init__(self, forward: bool) -> None:
        super().__init__()
        self.forward = forward
        self.sent: list[Sent] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(
            Sent(str(request.url), kwargs["timeout"], kwargs["verify"], kwargs["proxies"] or {})
        )
        if not self.forward:
            raise requests.exceptions.ConnectionError("not sent (test)")
        return super().send(request, **kwargs)


def recording(forward: bool) -> RecordingAdapter:
    """A recording adapter mounted on the process's storage session."""
    adapter = RecordingAdapter(forward)
    for prefix in ("http://", "https://"):
        storage_session().mount(prefix, adapter)
    return adapter
