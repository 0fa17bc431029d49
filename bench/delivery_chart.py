"""Draw the delivery-cost results: throughput bars with the ratios, storage requests stacked by
operation for the send path, one callback, a repeated callback and a whole life."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI

import matplotlib.pyplot as plt

from bench.delivery_report import THROUGHPUTS


def draw(results: dict[str, Any], path: Path) -> None:
    """Write the two-panel PNG for `results` (the JSON `bench.delivery_cost` writes) to `path`."""
    throughput = results["throughput"]
    storage = results["storage_requests"]
    figure, (speed, requests) = plt.subplots(1, 2, figsize=(14, 5.5), width_ratios=[1.2, 1.4])

    labels = [  # in THROUGHPUTS' order
        "tutorial's loop\n(new Client\nper SMS,\nsequential)",
        "bare loop\n(aiohttp,\nhost's\nconcurrency)",
        "this app\n(send + 2\ncallbacks, all\nrecorded; HTTP\nfunctions apart)",
        "this app\non one host",
    ]
    rates = [throughput[name]["sms_per_s"] for name in THROUGHPUTS]
    bars = speed.bar(labels, rates, color=["#8c8c8c", "#5b8fd9", "#e07b39", "#f0b27a"])
    ratios = throughput["ratios"]
    notes = [
        f"{rates[0]:.0f} SMS/s",
        f"{rates[1]:.0f} SMS/s\n{ratios['bare_to_tutorial']}× tutorial",
        f"{rates[2]:.1f} SMS/s\n{ratios['app_to_tutorial']}× tutorial\n"
        f"{ratios['app_to_bare']}× bare",
        f"{rates[3]:.1f} SMS/s\n{ratios['app_one_host_to_tutorial']}× tutorial",
    ]
    for bar, note in zip(bars, notes, strict=True):
        speed.annotate(
            note,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=9,
            xytext=(0, 3),
            textcoords="offset points",
        )
    speed.set_ylabel("SMS per second (one run, same Azurite and emulator)")
    speed.set_ylim(0, max(rates) * 1.3)
    speed.set_title(f"Throughput, N = {results['n']}")

    columns = {
        "send path\n(per SMS)": storage["send_path"]["per_sms"],
        "status callback\n(each)": storage["callback"]["per_sms"],
        "repeated\ncallback": storage["repeated_callback"]["per_sms"],
        "whole life\n(send + 2 callbacks)": storage["whole_life_per_sms"],
    }
    operations = sorted(
        {op for figures in columns.values() for op in figures},
        key=lambda op: -storage["whole_life_per_sms"].get(op, 0.0),
    )
    palette = plt.get_cmap("tab20")
    bottoms = [0.0] * len(columns)
    for index, operation in enumerate(operations):
        heights = [figures.get(operation, 0.0) for figures in columns.values()]
        requests.bar(
            list(columns), heights, bottom=bottoms, label=operation, color=palette(index % 20)
        )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    for x, total in enumerate(bottoms):
        requests.annotate(
            f"{total:.2f}",
            (x, total),
            ha="center",
            va="bottom",
            xytext=(0, 3),
            textcoords="offset points",
            fontsize=9,
        )
    requests.set_ylabel("storage requests (counted at a proxy in front of Azurite)")
    requests.set_ylim(0, max(bottoms) * 1.15 if max(bottoms) else 1)
    requests.set_title("Storage requests by operation")
    requests.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    machine = results["machine"]
    stalled = results["stalls"]["stalled_seconds_by_phase"]
    stalls = ", ".join(f"{s} s in {name}" for name, s in stalled.items()) or "none"
    figure.suptitle(
        f"The cost of a delivery ({results['started_at']}, {machine['cores']} cores, load "
        f"{machine['load_average_before'][0]} → {machine['load_average_after'][0]}, "
        f"Python {machine['python']}, Azurite {machine['azurite']}); Azurite stalls: {stalls}",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
