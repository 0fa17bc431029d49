"""Console output in the style of `func start`: `[timestamp] message`, flushed per line."""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime

_lock = threading.Lock()


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def log(message: str) -> None:
    """Print one host log line (thread-safe, flushed so a parent process sees it at once)."""
    with _lock:
        for line in message.splitlines() or [""]:
            sys.stdout.write(f"[{_timestamp()}] {line}\n")
        sys.stdout.flush()


def executing(function: str, reason: str, invocation_id: str) -> None:
    """The line the host prints when an invocation starts."""
    log(f"Executing 'Functions.{function}' (Reason='{reason}', Id={invocation_id})")


def executed(
    function: str, invocation_id: str, duration_ms: float, error: str | None, stack: str = ""
) -> None:
    """The line the host prints when an invocation ends, plus the exception on failure."""
    outcome = "Succeeded" if error is None else "Failed"
    log(
        f"Executed 'Functions.{function}' ({outcome}, Id={invocation_id}, "
        f"Duration={duration_ms:.0f}ms)"
    )
    if error is not None:
        log(
            f"Exception while executing function: Functions.{function}. Result: Failure\n"
            f"Exception: {error}\nStack: {stack.rstrip()}"
        )


class _HostLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            log(self.format(record))
        except Exception:
            self.handleError(record)


def route_python_logging() -> None:
    """Send the functions' `logging` output to the console like the host relays worker logs.

    The runtime's own `azure.functions` chatter stays at WARNING, as the host hides it too.
    """
    root = logging.getLogger()
    root.handlers[:] = [_HostLogHandler()]
    root.setLevel(logging.INFO)
    logging.getLogger("azure.functions").setLevel(logging.WARNING)
    logging.getLogger("azure.core").setLevel(logging.WARNING)
    logging.getLogger("azure.storage").setLevel(logging.WARNING)
