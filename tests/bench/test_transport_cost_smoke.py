"""A small run of `bench.transport_cost`: both transports do every round's requests on real
Azurite and the figures are consistent; no timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

from bench.transport_cost import RESULTS_JSON, main


def test_both_transports_run_every_round_and_the_ratio_is_theirs(tmp_path: Path) -> None:
    assert main(["--rounds", "20", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / RESULTS_JSON).read_text(encoding="utf-8"))
    cpu = results["cpu_ms_per_request"]
    assert set(cpu) == {"requests", "storage_transport"}
    assert all(value > 0 for value in cpu.values())
    assert results["rounds_per_transport"] == 20
    by_block = results["cpu_ms_per_request_by_block"]
    assert len(by_block["requests"]) == len(by_block["storage_transport"]) == 10
    ratio = results["ratio_storage_transport_to_requests"]
    assert abs(ratio - cpu["storage_transport"] / cpu["requests"]) < 0.01
