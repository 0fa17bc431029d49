"""Start the emulator as a child process: one way for the tests, the benchmark and `make run`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from emulators.launcher import Service, start_service
from emulators.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class EmulatorProcess:
    """A running `python -m emulators.twilio_api` and the credentials it accepts."""

    service: Service
    base_url: str
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN

    def stop(self) -> None:
        """Stop the emulator (SIGINT, then SIGKILL if it lingers)."""
        self.service.stop()


def start_emulator(
    *flags: str,
    speed: float = 200.0,
    port: int = 0,
    name: str = "twilio-emulator",
    env: dict[str, str] | None = None,
    echo: bool = False,
) -> EmulatorProcess:
    """Start the emulator on 127.0.0.1 (`port` 0: a free one) with extra CLI `flags`; return
    once it prints its `listening on` line. `speed` 200 runs a message's life in milliseconds."""
    argv = [sys.executable, "-m", "emulators.twilio_api", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--speed", str(speed), *flags]
    service = start_service(
        name,
        argv,
        [r"listening on (http://127\.0\.0\.1:\d+)"],
        cwd=REPO_ROOT,
        env=env,
        echo=echo,
        timeout=30,
    )
    return EmulatorProcess(service, service.matches[0].group(1))
