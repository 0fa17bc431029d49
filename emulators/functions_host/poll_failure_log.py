"""Poll failures of one queue listener, logged at once, then rate-limited, then the recovery."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from emulators.functions_host import invocation_log

# While storage stays down, one reminder per interval instead of one line per poll.
REPEAT_INTERVAL_SECONDS = 30.0


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


@dataclass
class PollFailureLog:
    """Reports the first failed poll at once, repeats at most every `repeat_interval` seconds,
    and says when polling works again."""

    queue_name: str
    repeat_interval: float = REPEAT_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    _last_logged: float = 0.0

    def failed(self, error: BaseException) -> None:
        """One poll failed."""
        self.failures += 1
        now = self.clock()
        if self.failures == 1:
            invocation_log.log(
                f"Queue listener for '{self.queue_name}' failed to poll: {_first_line(error)}"
            )
        elif now - self._last_logged >= self.repeat_interval:
            invocation_log.log(
                f"Queue listener for '{self.queue_name}' still failing to poll "
                f"({self.failures} failed polls so far): {_first_line(error)}"
            )
        else:
            return
        self._last_logged = now

    def succeeded(self) -> None:
        """One poll reached storage; ends an outage if there was one."""
        if self.failures:
            invocation_log.log(
                f"Queue listener for '{self.queue_name}' polls again "
                f"(after {self.failures} failed polls)."
            )
        self.failures = 0
