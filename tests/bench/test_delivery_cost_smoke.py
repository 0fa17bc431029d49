"""A small run of `make bench` (`python -m bench.delivery_cost --n 20`) on its own Azurite and
emulator: every section of the results is there, counted and consistent. No timing thresholds:
speed is the benchmark's to report, not a test's to assert."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bench.app_host import function_folders
from bench.delivery_cost import RESULTS_JSON, RESULTS_PNG, probe_set_size
from bench.delivery_report import markdown_table
from bench.delivery_report import summary as printed_summary

REPO_ROOT = Path(__file__).resolve().parents[2]
N = 20

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON of one smoke run (the PNG is beside it)."""
    out = tmp_path_factory.mktemp("bench")
    argv = [sys.executable, "-m", "bench.delivery_cost", "--n", str(N)]
    argv += ["--import-runs", "1", "--quiet-wait", "0", "--out", str(out)]
    run = subprocess.run(
        argv,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, f"benchmark failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert (out / RESULTS_PNG).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    document: dict[str, Any] = json.loads((out / RESULTS_JSON).read_text(encoding="utf-8"))
    document["_stdout"] = run.stdout
    return document


def test_run_facts(results: dict[str, Any]) -> None:
    machine = results["machine"]
    assert results["n"] == N
    assert results["events_queue_emptied_every_s"] > 0
    assert machine["cores"] >= 1
    assert len(machine["load_average_before"]) == len(machine["load_average_after"]) == 3
    assert machine["python"].startswith("3.13")
    assert datetime.fromisoformat(results["finished_at"]) >= datetime.fromisoformat(
        results["started_at"]
    )
    assert "SMS/s: tutorial" in results["_stdout"]
    assert "| | now | issue 8 goal |" in results["_stdout"]


def test_four_throughputs_and_their_ratios(results: dict[str, Any]) -> None:
    throughput = results["throughput"]
    for name in ("tutorial", "bare", "app", "app_one_host"):
        entry = throughput[name]
        assert entry["sms"] == N
        assert entry["seconds"] > 0
        assert entry["others_cpu_cores"] >= 0
        # Both figures are rounded (seconds to 1 ms, SMS/s to 0.1), so the rate must lie in
        # the interval the rounded seconds allow; a tutorial run of 20 SMS takes about 50 ms.
        fastest, slowest = entry["seconds"] - 0.0005, entry["seconds"] + 0.0005
        assert N / slowest - 0.05 <= entry["sms_per_s"] <= N / fastest + 0.05
    ratios = throughput["ratios"]
    app, tutorial, bare = (throughput[k]["sms_per_s"] for k in ("app", "tutorial", "bare"))
    assert ratios["app_to_tutorial"] == round(app / tutorial, 3)
    assert ratios["app_to_bare"] == round(app / bare, 3)
    one_host = throughput["app_one_host"]["sms_per_s"]
    assert ratios["app_one_host_to_tutorial"] == round(one_host / tutorial, 3)
    assert ratios["app_one_host_to_bare"] == round(one_host / bare, 3)
    assert ratios["app_to_app_one_host"] == round(app / one_host, 3)
    # As Flex Consumption runs the app: the HTTP functions on a host of their own.
    assert [host["functions"] for host in throughput["app"]["hosts"]] == [
        ["status_callback", "twiml_voice"],
        ["send_call", "send_sms", "status_sweeper"],
    ]
    assert [host["functions"] for host in throughput["app_one_host"]["hosts"]] == ["all"]
    for name in ("app", "app_one_host"):
        hosts = throughput[name]["hosts"]
        assert sum(host["cpu_ms_per_sms"] for host in hosts) == pytest.approx(
            throughput[name]["cpu_ms_per_sms"]["host"], abs=0.01 * len(hosts)
        )
        assert all(host["cores"] > 0 for host in hosts)
    for name in ("app", "app_one_host"):
        entry = throughput[name]
        assert entry["recorded"] == {"requests": N, "failures": 0, "not_fully_recorded": []}
        # The stand-in's loop threads are part of the hosts' CPU (ticks of 10 ms: may be 0).
        cpu = entry["cpu_ms_per_sms"]
        assert 0 <= cpu["host_loop_thread"] <= cpu["host"]
        assert cpu["host"] > 0
        assert cpu["azurite"] > 0


def test_storage_requests_per_phase(results: dict[str, Any]) -> None:
    storage = results["storage_requests"]
    send, callback, repeated = (storage[k] for k in ("send_path", "callback", "repeated_callback"))
    assert storage["recorded"]["failures"] == 0
    # N, then two probe sets (under load, alone) for each of the two ways hosts are run.
    assert send["units"] == N + 4 * probe_set_size(N)
    assert callback["units"] == 2 * N
    assert repeated["units"] == N
    # Each request message is deleted exactly once, all on the send path.
    assert send["per_sms"]["queue: delete message"] == 1.0
    assert "queue: delete message" not in callback["per_sms"]
    # Every status (the send path's own and each callback's) is published on the events queue.
    assert send["per_sms"]["queue: put message"] >= 1.0
    assert callback["per_sms"]["queue: put message"] >= 1.0
    assert sum(callback["answers"].values()) == 2 * N
    assert sum(repeated["answers"].values()) == N
    assert all(status.startswith("2") for status in [*callback["answers"], *repeated["answers"]])
    for phase in (send, callback, repeated):
        assert phase["total_per_unit"] > 0
        assert all(value > 0 for value in phase["per_sms"].values())
        assert sum(phase["requests"].values()) == round(phase["total_per_unit"] * phase["units"])
    assert storage["whole_life_total_per_sms"] == pytest.approx(
        send["total_per_unit"] + 2 * callback["total_per_unit"], abs=0.002
    )


def test_latency_imports_start_and_stalls(results: dict[str, Any]) -> None:
    for name in ("app", "app_one_host"):
        alone = results["callback_latency"][name]["alone"]
        under_load = results["callback_latency"][name]["under_load"]
        assert alone["count"] == 2 * probe_set_size(N)
        assert all(status.startswith("2") for status in alone["answers"])
        assert under_load["count"] >= 1
        for summary in (alone, under_load):
            assert 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    assert set(results["import_ms"]) == set(function_folders())
    assert all(entry["median_ms"] > 0 for entry in results["import_ms"].values())
    starts = results["host_start_s"]
    assert starts["counted_host"]["until_listening"] > 0
    assert starts["throughput_app"]["until_listening"] > 0
    assert starts["throughput_app_one_host"]["until_listening"] > 0
    stalls = results["stalls"]
    assert stalls["probes"] > 0
    assert isinstance(stalls["stalls"], list)
    # Azurite's answer times in the quiet callback phase and while the app drained. The drain
    # takes several probe intervals (100 ms); the quiet phase's 2L callbacks at N = 20 take about
    # one, so a fast or busy machine (a late prober) may start no probe in it: the report says "-".
    by_phase = stalls["answer_ms_by_phase"]
    quiet, drain = by_phase["callbacks alone"], by_phase["app drain"]
    assert drain["count"] >= 1
    shown = []
    for answers in (quiet, drain):
        if answers["count"]:
            assert 0 < answers["p50_ms"] <= answers["p99_ms"] <= answers["max_ms"]
        shown.append(f"{answers['p50_ms']}/{answers['p99_ms']}" if answers["count"] else "-")
    assert f"quiet {shown[0]} ms, during the app drain {shown[1]} ms" in printed_summary(results)
    assert f"{shown[0]} ms / {shown[1]} ms" in markdown_table(results)
    no_quiet_probe = {**results, "stalls": {**stalls, "answer_ms_by_phase": {**by_phase}}}
    no_quiet_probe["stalls"]["answer_ms_by_phase"]["callbacks alone"] = {"count": 0}
    assert f"quiet - ms, during the app drain {shown[1]} ms" in printed_summary(no_quiet_probe)
    assert f"- ms / {shown[1]} ms" in markdown_table(no_quiet_probe)
    assert {"app drain", "app drain (one host)", "send path (counted)", "tutorial loop"} <= {
        phase["name"] for phase in results["phases"]
    }


def test_each_topology_drain_starts_where_its_host_start_ends(results: dict[str, Any]) -> None:
    # The drain (its seconds, CPU and others' cores) starts when the last host listens; the host
    # start phase, with the HTTP host's warm-up when it is a host of its own, ends there. On one
    # host the warm-up falls in the drain, whose CPU then counts it.
    phases = {phase["name"]: phase for phase in results["phases"]}
    for suffix in ("", " (one host)"):
        starting, drain = phases[f"throughput host start{suffix}"], phases[f"app drain{suffix}"]
        # 3-decimal rounding of start and seconds: 2 ms.
        assert starting["start"] + starting["seconds"] <= drain["start"] + 0.002
