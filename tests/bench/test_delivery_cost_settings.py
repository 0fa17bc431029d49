"""The settings `bench.delivery_cost` gives the app's hosts, read with the app's own parser."""

from __future__ import annotations

from pathlib import Path

from bench.delivery_cost import DeliveryCostBenchmark, drain_timeout
from shared.settings import load_settings


def test_the_sweeper_never_polls_a_delivery_whose_callbacks_the_run_holds(tmp_path: Path) -> None:
    # The probe requests are sent in the counted send phase and their held callbacks posted
    # minutes later, in the last topology's phases; a sweeper run after its first back-off step
    # (60 s by default) would record them from Twilio first, and the latency figures would time
    # repeats instead of first reports.
    n = 1000
    benchmark = DeliveryCostBenchmark(
        n, import_runs=1, work_dir=tmp_path, azurite_on_disk=False, quiet_wait=60
    )
    settings = load_settings(benchmark.settings)
    longest_run = 3600 + 3 * drain_timeout(n)  # far more than a full run ever takes
    assert settings.status_sweep_backoff_seconds[0] > longest_run
