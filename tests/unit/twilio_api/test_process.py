"""Starting the emulator as a child process: the command line and the address it reports. The
process itself is started by the integration tests; here `start_service` is a recording stand-in."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest

from emulators.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, process


class StartedService:
    """What `start_service` hands back: the ready lines' matches, and a stop to call."""

    def __init__(self, line: str, pattern: str) -> None:
        match = re.search(pattern, line)
        assert match is not None
        self.matches = [match]
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def start_service(name: str, argv: list[str], ready: list[str], **kwargs: Any) -> Any:
        seen.update(name=name, argv=argv, ready=ready, **kwargs)
        seen["service"] = StartedService("listening on http://127.0.0.1:40123", ready[0])
        return seen["service"]

    monkeypatch.setattr(process, "start_service", start_service)
    return seen


def test_the_command_line_runs_the_module_on_loopback(started: dict[str, Any]) -> None:
    emulator = process.start_emulator("--fault-429", "1:1", speed=50, port=0)
    argv = started["argv"]
    assert argv[:3] == [sys.executable, "-m", "emulators.twilio_api"]
    assert argv[3:] == ["--host", "127.0.0.1", "--port", "0", "--speed", "50", "--fault-429", "1:1"]
    assert started["cwd"] == process.REPO_ROOT
    assert (process.REPO_ROOT / "emulators" / "twilio_api" / "__main__.py").is_file()
    assert emulator.base_url == "http://127.0.0.1:40123"
    assert (emulator.account_sid, emulator.auth_token) == (DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)


def test_defaults_speed_200_and_a_free_port(started: dict[str, Any]) -> None:
    process.start_emulator()
    assert started["argv"][-4:] == ["--port", "0", "--speed", "200.0"]
    assert started["name"] == "twilio-emulator"


def test_the_ready_pattern_only_takes_a_loopback_address(started: dict[str, Any]) -> None:
    process.start_emulator()
    pattern = started["ready"][0]
    assert re.search(pattern, "listening on http://127.0.0.1:8701")
    assert not re.search(pattern, "listening on http://0.0.0.0:8701")


def test_stop_stops_the_service(started: dict[str, Any]) -> None:
    emulator = process.start_emulator()
    emulator.stop()
    assert started["service"].stopped
