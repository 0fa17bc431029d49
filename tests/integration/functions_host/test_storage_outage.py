"""Storage down: start-up fails fast and names the setting, an outage is logged at once and its
end too, shutdown never waits on a hung storage, and a second signal exits at once."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError

from emulators.azurite import Azurite, connection_string, start_azurite

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def own_azurite() -> Iterator[Azurite]:
    """An Azurite only this test stops, pauses or restarts (the session's one is shared)."""
    azurite = start_azurite()
    yield azurite
    azurite.service.process.send_signal(signal.SIGCONT)  # in case the test left it paused
    azurite.stop()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_startup_against_unreachable_storage_fails_fast_naming_setting_and_endpoint(
    tmp_path: Path, host_tools: Any
) -> None:
    port = closed_port()
    app = host_tools.write_app(tmp_path / "app")
    app.add_function(
        "needs_storage",
        host_tools.queue_trigger_json("needs-storage"),
        host_tools.queue_function("needs_storage"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "emulators.functions_host", "--port", "0", "--app", str(app.root)],
        cwd=REPO_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "AzureWebJobsStorage": connection_string("127.0.0.1", port, port, port),
        },
        capture_output=True,
        text=True,
        timeout=30,  # the SDK's default retries took about 85 s
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cannot reach queue storage of connection 'AzureWebJobsStorage'" in result.stderr
    assert f"http://127.0.0.1:{port}/devstoreaccount1/needs-storage" in result.stderr
    assert "Host started" not in result.stdout


def test_outage_logged_at_once_and_recovery_logged(
    tmp_path: Path, host_tools: Any, own_azurite: Azurite
) -> None:
    queue_name = host_tools.unique_queue("outage")
    app = host_tools.write_app(tmp_path / "app", values={"OUTAGE_QUEUE": queue_name})
    app.add_function(
        "outage",
        host_tools.queue_trigger_json("%OUTAGE_QUEUE%"),
        host_tools.queue_function("outage"),
    )
    host = host_tools.start_host(app, own_azurite)
    try:
        ports = (own_azurite.blob_port, own_azurite.queue_port, own_azurite.table_port)
        own_azurite.stop()
        host_tools.wait_until(
            lambda: "failed to poll" in host.service.tail(50),
            "the first failed poll to be logged",
            timeout=20,  # before the fix the first line came about 80 s after the outage
        )
        # Back on the same ports (in memory, so the queue is created again).
        own_azurite.service = start_azurite(ports=ports).service
        with contextlib.suppress(ResourceExistsError):
            host_tools.raw_queue(own_azurite, queue_name).create_queue()
        host_tools.wait_until(
            lambda: f"Queue listener for '{queue_name}' polls again" in host.service.tail(50),
            "the recovery line",
        )
        sent = host_tools.base64_queue(own_azurite, queue_name).send_message('{"id": "back"}')
        host_tools.wait_until(
            lambda: [r for r in app.records("outage") if r["id"] == sent.id],
            "a message sent after the outage to be processed",
        )
    finally:
        returncode = host.service.stop()
    assert returncode == 0, host.service.tail()
    output = host.service.tail(200)
    assert output.count(f"Queue listener for '{queue_name}' failed to poll") == 1


def test_shutdown_does_not_wait_for_a_hung_storage(
    tmp_path: Path, host_tools: Any, own_azurite: Azurite
) -> None:
    app = host_tools.write_app(tmp_path / "app", values={"HUNG_QUEUE": "hung-storage"})
    app.add_function(
        "hung", host_tools.queue_trigger_json("%HUNG_QUEUE%"), host_tools.queue_function("hung")
    )
    host = host_tools.start_host(app, own_azurite)
    own_azurite.service.process.send_signal(signal.SIGSTOP)
    # Polls run at least every 0.2 s (host.json maxPollingInterval); from now on each one hangs.
    time.sleep(1)
    host.service.process.send_signal(signal.SIGINT)
    try:
        returncode = host.service.process.wait(15)  # before the fix: still running after 110 s
    finally:
        own_azurite.service.process.send_signal(signal.SIGCONT)
        if host.service.process.poll() is None:
            host.service.process.kill()
    assert returncode == 0, host.service.tail()


SLOW_BEFORE = 'open(os.path.join(os.environ["RECORD_DIR"], "started"), "w").close(); time.sleep(60)'


def test_second_signal_exits_at_once_abandoning_in_flight_work(
    tmp_path: Path, host_tools: Any, azurite: Azurite
) -> None:
    queue_name = host_tools.unique_queue("stuck")
    app = host_tools.write_app(tmp_path / "app", values={"STUCK_QUEUE": queue_name})
    app.add_function(
        "stuck",
        host_tools.queue_trigger_json("%STUCK_QUEUE%"),
        host_tools.queue_function("stuck", before=SLOW_BEFORE),
    )
    host = host_tools.start_host(app, azurite)
    process = host.service.process
    try:
        host_tools.base64_queue(azurite, queue_name).send_message('{"id": "stuck"}')
        host_tools.wait_until(
            lambda: (app.record_dir / "started").exists(), "the slow invocation to start"
        )
        process.send_signal(signal.SIGINT)
        host_tools.wait_until(
            lambda: "Application is shutting down" in host.service.tail(50), "the first SIGINT"
        )
        process.send_signal(signal.SIGINT)
        returncode = process.wait(15)  # the invocation would take another minute
    finally:
        if process.poll() is None:
            process.kill()
    assert returncode != 0
    output = host_tools.wait_until(
        lambda: "abandoned" in host.service.tail(50) and host.service.tail(50),
        "the forced-exit line",
    )
    assert "SIGINT again: exiting now. In-flight work was abandoned" in output
    assert "reappear on their queue when their visibility lease ends" in output
    assert "Host stopped." not in output
