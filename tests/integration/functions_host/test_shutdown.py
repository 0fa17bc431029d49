"""SIGINT/SIGTERM: polling stops, the in-flight invocation finishes, the host exits 0."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from emulators.azurite import Azurite

SLOW_SOURCE_BEFORE = (
    'open(os.path.join(os.environ["RECORD_DIR"], "started"), "w").close(); time.sleep(1.5)'
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_lets_the_in_flight_invocation_finish(
    signum: signal.Signals, tmp_path: Path, host_tools: Any, azurite: Azurite
) -> None:
    queue_name = host_tools.unique_queue("slow")
    # messageEncoding none: the plain text the test sends is the body the function gets.
    app = host_tools.write_app(
        tmp_path / "app", queues={"messageEncoding": "none"}, values={"SLOW_QUEUE": queue_name}
    )
    app.add_function(
        "slow",
        host_tools.queue_trigger_json("%SLOW_QUEUE%"),
        host_tools.queue_function("slow", before=SLOW_SOURCE_BEFORE),
    )
    host = host_tools.start_host(app, azurite)
    try:
        queue = host_tools.raw_queue(azurite, queue_name)
        sent = queue.send_message("plain text body")
        host_tools.wait_until(
            lambda: (app.record_dir / "started").exists(), "the slow invocation to start"
        )
        host.service.process.send_signal(signum)
        returncode = host.service.process.wait(30)
    finally:
        if host.service.process.poll() is None:
            host.service.stop()
    assert returncode == 0, host.service.tail()
    records = app.records("slow")
    assert [(r["id"], r["body"]) for r in records] == [(sent.id, "plain text body")]
    assert queue.get_queue_properties().approximate_message_count == 0
    # The output reader thread may still be catching up with the exited process.
    output = host_tools.wait_until(
        lambda: "Host stopped." in host.service.tail(100) and host.service.tail(100),
        "the host's last log lines",
    )
    assert "Executed 'Functions.slow' (Succeeded" in output
    assert output.index("Application is shutting down") < output.index("Executed 'Functions.slow'")


def test_host_exits_cleanly_when_idle(tmp_path: Path, host_tools: Any, azurite: Azurite) -> None:
    app = host_tools.write_app(tmp_path / "app")
    app.add_function(
        "echo", host_tools.http_trigger_json("anonymous"), host_tools.http_echo_function
    )
    host = host_tools.start_host(app, azurite)
    assert host.service.stop() == 0
    host_tools.wait_until(lambda: "Host stopped." in host.service.tail(), "'Host stopped.'")
