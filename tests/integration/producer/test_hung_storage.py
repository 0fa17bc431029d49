"""Hung storage: a server that accepts connections and never answers. The CLI gives up after
its few short attempts and exits 1, instead of waiting out long timeouts and retries."""

from __future__ import annotations

import os
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.azurite import connection_string
from producer.storage_options import (
    ATTEMPTS,
    CONNECTION_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    RETRIES,
    RETRY_BACKOFF_SECONDS,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
# What docs/operations.md promises: an unreachable or hung account fails within ten seconds.
PROMISED_SECONDS = 10


class _SilentServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HoldRequest)
        self.request_lines: list[str] = []
        self.lock = threading.Lock()


class _HoldRequest(socketserver.BaseRequestHandler):
    """Records the request line, then holds the connection open until the client gives up."""

    def handle(self) -> None:
        server = self.server
        assert isinstance(server, _SilentServer)
        first = self.request.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
        with server.lock:
            server.request_lines.append(first)
        while self.request.recv(4096):
            pass


@pytest.fixture
def silent_server() -> Iterator[_SilentServer]:
    server = _SilentServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_worst_case_wait_is_within_the_documented_seconds() -> None:
    backoff = RETRIES * RETRY_BACKOFF_SECONDS
    assert ATTEMPTS * READ_TIMEOUT_SECONDS + backoff <= PROMISED_SECONDS
    assert ATTEMPTS * CONNECTION_TIMEOUT_SECONDS + backoff <= PROMISED_SECONDS


def test_queue_and_table_commands_give_up_after_the_configured_attempts(
    silent_server: _SilentServer, tmp_path: Path
) -> None:
    port = silent_server.server_address[1]
    hung = connection_string("127.0.0.1", port, port, port)
    env = os.environ | {
        "PYTHONPATH": str(REPO_ROOT),
        "SMS_QUEUE_NAME": "hung-sms",
        "DELIVERIES_TABLE_NAME": "hungdeliveries",
    }
    commands = {
        "hung-sms": ["sms", "--to", "+15005550006", "--body", "hi"],
        "hungdeliveries": ["status", "some-id"],
    }
    # Both at once: the test waits for the slower one, not for the sum.
    running = {
        resource: subprocess.Popen(
            [sys.executable, "-m", "producer", *argv, "--connection", hung],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for resource, argv in commands.items()
    }
    for resource, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 1, (resource, out, err)
        assert "Azure Storage" in err, err
        with silent_server.lock:
            seen = [line for line in silent_server.request_lines if resource in line]
        assert len(seen) == ATTEMPTS, seen
