"""batchSize and newBatchThreshold bound how many messages one function processes at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulators.azurite import Azurite

SLOW_BEFORE = 'time.sleep(0.4); seen["ended"] = time.time()'


def most_overlapping(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals that are open at the same moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = peak = 0
    for _, change in events:
        open_now += change
        peak = max(peak, open_now)
    return peak


def test_batch_of_two_runs_in_parallel_and_no_more(
    tmp_path: Path, host_tools: Any, azurite: Azurite
) -> None:
    queue_name = host_tools.unique_queue("batch")
    app = host_tools.write_app(
        tmp_path / "app",
        queues={"batchSize": 2, "newBatchThreshold": 0},
        values={"BATCH_QUEUE": queue_name},
    )
    app.add_function(
        "batched",
        host_tools.queue_trigger_json("%BATCH_QUEUE%"),
        host_tools.queue_function("batched", before=SLOW_BEFORE),
    )
    producer = host_tools.base64_queue(azurite, queue_name)
    producer.create_queue()
    for index in range(4):
        producer.send_message(f'{{"n": {index}}}')  # queued before the host starts polling

    host = host_tools.start_host(app, azurite)
    try:
        records = host_tools.wait_until(
            lambda: len(app.records("batched")) == 4 and app.records("batched"),
            "all four messages to be processed",
        )
    finally:
        host.service.stop()
    intervals = [(float(r["at"]), float(r["ended"])) for r in records]
    # Two at a time: the first batch of two runs together, the next waits for it to drain.
    assert most_overlapping(intervals) == 2
