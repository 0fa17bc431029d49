"""Detect Azurite freezes: time a cheap request to it every 100 ms from a process of its own.

Azurite 3.35 runs a queue clean-up about 60 s after activity; once thousands of messages were
deleted it can block its (single) event loop for seconds, and every request waits. The prober
sends an unauthenticated `GET /<account>?comp=list` (answered 403 at once, but only by a running
event loop) and prints one line per probe, `<start wall-clock> <seconds>`. A probe slower than the
threshold is a stall; a long gap between probes means the prober itself was starved.

    python -m bench.stall_prober --port QUEUE_PORT [--interval 0.1]

`find_stalls` and `attribute` turn the printed lines into stalls named by benchmark phase;
`answer_times_by_phase` gives Azurite's answer time per phase (how long any request waited).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import FrameType

from bench.figures import latency_summary
from emulators.azurite import DEV_ACCOUNT

READY_LINE = "probing"


@dataclass(frozen=True)
class Probe:
    """One timed request: when it started (wall clock) and how long it took."""

    start: float
    seconds: float


@dataclass(frozen=True)
class Stall:
    """A span during which Azurite did not answer within the threshold."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        """Length of the stall."""
        return self.end - self.start


@dataclass(frozen=True)
class Phase:
    """A named span of the benchmark (wall clock)."""

    name: str
    start: float
    end: float


def parse_probes(lines: Iterable[str]) -> list[Probe]:
    """The probes in the prober's output (other lines are skipped)."""
    probes = []
    for line in lines:
        parts = line.split()
        if len(parts) == 2:
            try:
                probes.append(Probe(float(parts[0]), float(parts[1])))
            except ValueError:
                continue
    return probes


def find_stalls(probes: list[Probe], threshold: float) -> list[Stall]:
    """Probes Azurite took longer than `threshold` seconds to answer."""
    return [Stall(p.start, p.start + p.seconds) for p in probes if p.seconds > threshold]


def find_gaps(probes: list[Probe], threshold: float) -> list[Stall]:
    """Spans over `threshold` between one probe's answer and the next probe's start: the prober
    itself was not scheduled (a starved machine), so Azurite was not watched then."""
    return [
        Stall(before.start + before.seconds, after.start)
        for before, after in itertools.pairwise(probes)
        if after.start - (before.start + before.seconds) > threshold
    ]


def attribute(stalls: list[Stall], phases: list[Phase]) -> list[dict[str, object]]:
    """Each stall with the phases it overlaps (seconds of overlap each)."""
    described = []
    for stall in stalls:
        overlaps = {
            phase.name: round(min(stall.end, phase.end) - max(stall.start, phase.start), 3)
            for phase in phases
            if min(stall.end, phase.end) > max(stall.start, phase.start)
        }
        described.append(
            {
                "start": round(stall.start, 3),
                "seconds": round(stall.seconds, 3),
                "phases": overlaps or {"between phases": round(stall.seconds, 3)},
            }
        )
    return described


def answer_times_by_phase(
    probes: list[Probe], phases: list[Phase]
) -> dict[str, dict[str, float | int]]:
    """Per phase, how long Azurite took to answer the probes started in it (count, p50, p99,
    max in ms): the wait any one storage request met then, before doing any work of its own."""
    return {
        phase.name: latency_summary(
            [p.seconds for p in probes if phase.start <= p.start < phase.end]
        )
        for phase in phases
    }


def probe_forever(port: int, interval: float, timeout: float) -> None:
    """Probe until SIGTERM/SIGINT; one output line per probe."""
    running = True

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    print(READY_LINE, flush=True)
    while running:
        start_wall, start = time.time(), time.perf_counter()
        try:
            connection.request("GET", f"/{DEV_ACCOUNT}?comp=list")
            connection.getresponse().read()
        except (OSError, http.client.HTTPException):
            connection.close()  # reconnects on the next request
        seconds = time.perf_counter() - start
        print(f"{start_wall:.3f} {seconds:.4f}", flush=True)
        time.sleep(max(0.0, interval - seconds))


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="an Azurite port")
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    probe_forever(args.port, args.interval, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
