"""The benchmark's arithmetic and its stall detector, on made-up inputs."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.figures import (
    combined,
    latency_summary,
    per_unit,
    percentile,
    phase_counts,
    split_counts,
)
from bench.stall_prober import (
    Phase,
    Probe,
    answer_times_by_phase,
    attribute,
    find_gaps,
    find_stalls,
    parse_probes,
)
from bench.storage_proxy import RequestKey


def test_percentile_is_nearest_rank() -> None:
    samples = [float(value) for value in range(1, 101)]
    assert percentile(samples, 0.5) == 50.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile([3.0, 1.0], 0.99) == 3.0
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)


def test_latency_summary_in_milliseconds() -> None:
    assert latency_summary([0.010, 0.020, 0.030]) == {
        "count": 3,
        "p50_ms": 20.0,
        "p99_ms": 30.0,
        "max_ms": 30.0,
    }
    assert latency_summary([]) == {"count": 0}


def test_counts_per_phase_and_per_unit() -> None:
    before: Counter[RequestKey] = Counter({("table: merge", "t"): 2})
    after: Counter[RequestKey] = Counter(
        {
            ("table: merge", "t"): 6,
            ("queue: get messages", "calls"): 3,
            ("queue: put message", "e"): 4,
        }
    )
    counted = phase_counts(before, after)
    attributed, idle = split_counts(counted, lambda key: key[1] == "calls")
    assert idle == Counter({("queue: get messages", "calls"): 3})
    assert per_unit(attributed, 4) == {"queue: put message": 1.0, "table: merge": 1.0}
    assert combined([({"a": 1.0}, 1.0), ({"a": 0.5, "b": 1.0}, 2.0)]) == {"a": 2.0, "b": 2.0}


def test_stalls_are_slow_probes_and_named_by_phase() -> None:
    probes = parse_probes(["probing", "100.0 0.002", "100.1 2.5", "102.7 0.002", "106.0 0.001"])
    assert len(probes) == 4
    stalls = find_stalls(probes, threshold=1.0)
    assert [(s.start, s.seconds) for s in stalls] == [(100.1, 2.5)]
    phases = [Phase("bare loop", 99.0, 101.0), Phase("app drain", 101.0, 110.0)]
    assert attribute(stalls, phases) == [
        {"start": 100.1, "seconds": 2.5, "phases": {"bare loop": 0.9, "app drain": 1.6}}
    ]
    # 102.702 → 106.0: the prober itself did not run (a starved machine), not an Azurite stall.
    gaps = find_gaps(probes, threshold=1.0)
    assert len(gaps) == 1
    assert gaps[0].start == pytest.approx(102.702)
    assert attribute(gaps, []) == [
        {"start": 102.702, "seconds": 3.298, "phases": {"between phases": 3.298}}
    ]
    assert find_stalls([Probe(1.0, 0.5)], threshold=1.0) == []


def test_azurite_answer_times_are_summed_up_by_the_phase_each_probe_started_in() -> None:
    probes = [Probe(10.0, 0.002), Probe(10.1, 0.004), Probe(11.0, 0.050), Probe(11.1, 0.010)]
    phases = [Phase("quiet", 10.0, 11.0), Phase("drain", 11.0, 12.0), Phase("later", 12.0, 13.0)]
    assert answer_times_by_phase(probes, phases) == {
        "quiet": {"count": 2, "p50_ms": 2.0, "p99_ms": 4.0, "max_ms": 4.0},
        "drain": {"count": 2, "p50_ms": 10.0, "p99_ms": 50.0, "max_ms": 50.0},
        "later": {"count": 0},
    }
