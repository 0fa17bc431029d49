"""The arithmetic of the delivery-cost benchmark: percentiles, rates and request counts per unit."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from bench.storage_proxy import RequestKey


def percentile(samples: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (`share` 0.5 = p50, 0.99 = p99): the smallest sample with at
    least `share` of the samples at or below it. Raises ValueError when there are none."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int]:
    """Count, p50, p99 and max of latencies given in seconds, in milliseconds."""
    if not seconds:
        return {"count": 0}
    return {
        "count": len(seconds),
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 1),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }


def phase_counts(before: Counter[RequestKey], after: Counter[RequestKey]) -> Counter[RequestKey]:
    """The requests counted between two snapshots of a `RequestLog`."""
    return Counter({key: after[key] - before[key] for key in after if after[key] > before[key]})


def split_counts(
    counts: Counter[RequestKey], is_idle: Callable[[RequestKey], bool]
) -> tuple[Counter[RequestKey], Counter[RequestKey]]:
    """(attributed, idle): `is_idle` picks the requests that belong to no unit of work (e.g. the
    host's polls of a queue the phase does not use)."""
    attributed: Counter[RequestKey] = Counter()
    idle: Counter[RequestKey] = Counter()
    for key, count in counts.items():
        (idle if is_idle(key) else attributed)[key] = count
    return attributed, idle


def per_unit(counts: Counter[RequestKey], units: int) -> dict[str, float]:
    """Requests per unit of work by operation (resources summed), largest first, 3 decimals."""
    if units <= 0:
        raise ValueError("units must be positive")
    by_operation: Counter[str] = Counter()
    for (operation, _resource), count in counts.items():
        by_operation[operation] += count
    return {
        operation: round(count / units, 3)
        for operation, count in sorted(by_operation.items(), key=lambda kv: (-kv[1], kv[0]))
    }


def raw_counts(counts: Counter[RequestKey]) -> dict[str, int]:
    """Counts keyed `operation @ resource`, for the record."""
    return {
        f"{operation} @ {resource or '(account)'}": count
        for (operation, resource), count in sorted(counts.items())
    }


def combined(parts: Sequence[tuple[dict[str, float], float]]) -> dict[str, float]:
    """Sum of per-unit figures, each weighted (e.g. send path + 2 × callback = a whole life)."""
    total: dict[str, float] = {}
    for figures, weight in parts:
        for operation, value in figures.items():
            total[operation] = total.get(operation, 0.0) + value * weight
    return {
        operation: round(value, 3)
        for operation, value in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
    }


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator to 3 decimals, None when the denominator is 0."""
    return round(numerator / denominator, 3) if denominator else None
