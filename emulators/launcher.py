"""Start a local service as a child process and wait until it says it is ready.

Shared by the test fixtures, `make run` and `make demo`, so every caller starts the local stack
the same way.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


class ServiceStartError(RuntimeError):
    """A service exited or stayed silent before printing its ready line."""


@dataclass
class Service:
    """A running child process, the regex matches it printed while starting, and its output."""

    name: str
    process: subprocess.Popen[str]
    matches: list[re.Match[str]]
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def stop(self, timeout: float = 10.0) -> int:
        """Stop the process: SIGINT first (clean shutdown), then SIGKILL after `timeout`.

        Returns once its last output lines are in `output` too."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self._drain()
        return self.process.returncode

    def exit_code(self) -> int | None:
        """The process's exit code once it has exited (negative: the signal that ended it);
        None while it runs."""
        return self.process.poll()

    def kill(self) -> None:
        """Stop the process at once (SIGKILL), for a forced stop."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._drain()

    def _drain(self) -> None:
        # The process has exited, but its output thread may still be reading the last lines.
        if self.reader is not None and self.reader is not threading.current_thread():
            self.reader.join(5)

    def tail(self, lines: int = 40) -> str:
        """The last lines the process printed (stdout and stderr together)."""
        return "".join(self.output[-lines:])


def start_service(
    name: str,
    argv: Sequence[str],
    ready: Sequence[str],
    *,
    timeout: float = 60.0,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    echo: bool = False,
) -> Service:
    """Start `argv` and wait until each regex in `ready` has matched a line of its output.

    Output keeps being read in a background thread so the child never blocks on a full pipe;
    with `echo` each line is also printed, prefixed with the service name. The child runs in its
    own session, so a Ctrl-C in the terminal reaches only the caller, which then stops its
    services in the order it chooses. With no `ready` patterns it returns once started.
    """
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    service = Service(name=name, process=process, matches=[])
    pending = [re.compile(pattern) for pattern in ready]
    all_ready = threading.Event()
    lock = threading.Lock()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            service.output.append(line)
            if echo:
                print(f"[{name}] {line}", end="", flush=True)
            with lock:
                for pattern in list(pending):
                    match = pattern.search(line)
                    if match:
                        service.matches.append(match)
                        pending.remove(pattern)
                if not pending:
                    all_ready.set()
        all_ready.set()

    service.reader = threading.Thread(target=pump, name=f"{name}-output", daemon=True)
    service.reader.start()
    if not pending:
        return service
    all_ready.wait(timeout)
    with lock:
        missing = [p.pattern for p in pending]
    if missing:
        exited = process.poll()
        service.stop()
        reason = (
            f"exited with {exited}" if exited is not None else f"not ready after {timeout:.0f}s"
        )
        raise ServiceStartError(
            f"{name} {reason} (waiting for {missing}; command {' '.join(argv)}):\n{service.tail()}"
        )
    return service
