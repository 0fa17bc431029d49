"""When the status sweeper looks at an unfinished delivery: its back-off between polls.

The first look is due `STATUS_SWEEP_BACKOFF_SECONDS[0]` after the delivery was opened (claimed);
after poll n the next is due `backoff[n]` later, the last step repeating (default 1 min, 5 min,
30 min, 2 h, then every 6 h). A delivery whose callbacks arrive is closed long before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def first_due(opened_at: datetime, backoff: Sequence[float]) -> datetime:
    """When a delivery opened at `opened_at` is first looked at."""
    return opened_at + timedelta(seconds=backoff[0])


def next_due(now: datetime, polls: int, backoff: Sequence[float]) -> datetime:
    """When a delivery polled `polls` times (the last one at `now`) is looked at again."""
    return now + timedelta(seconds=backoff[min(polls, len(backoff) - 1)])
