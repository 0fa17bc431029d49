"""CPU time of processes and of the whole machine from /proc, without psutil."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int, tid: int | None = None) -> list[str] | None:
    """Fields of /proc/<pid>/stat (of its thread `tid`, given: /proc/<pid>/task/<tid>/stat)
    after the command name (field 3 onwards), or None if gone."""
    path = PROC / str(pid) if tid is None else PROC / str(pid) / "task" / str(tid)
    try:
        text = (path / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    return text[text.rindex(")") + 2 :].split()


def _used_seconds(fields: list[str]) -> float:
    """utime + stime (fields 14 and 15 of stat(5), i.e. 11 and 12 of `_stat_fields`)."""
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children(pid: int) -> list[int]:
    children = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                children.append(int(entry.name))
    return children


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by `pid` and its live descendants (0 if gone)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        fields = _stat_fields(current)
        if fields is None:
            continue
        total += _used_seconds(fields)
        pending.extend(_children(current))
    return total


def thread_cpu_seconds(pid: int, tid: int) -> float:
    """User + system CPU seconds used so far by thread `tid` of process `pid` (0 if gone)."""
    fields = _stat_fields(pid, tid)
    return _used_seconds(fields) if fields is not None else 0.0


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads)."""
    times = os.times()
    return times.user + times.system


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(value, 2) for value in os.getloadavg()]


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS


def own_tree_cpu_seconds() -> float:
    """CPU seconds of this process, its live descendants and its exited, waited-for children."""
    fields = _stat_fields(os.getpid())
    waited = (int(fields[13]) + int(fields[14])) / _TICKS if fields is not None else 0.0
    return cpu_seconds(os.getpid()) + waited


@dataclass(frozen=True)
class LoadReading:
    """The machine's busy CPU time and this run's own, at one moment."""

    wall: float
    machine: float
    own: float

    @classmethod
    def now(cls) -> LoadReading:
        """A reading taken now."""
        return cls(time.monotonic(), machine_busy_seconds(), own_tree_cpu_seconds())

    def foreign_cores(self, later: LoadReading) -> float:
        """Cores other processes kept busy on average between this reading and `later`."""
        elapsed = later.wall - self.wall
        if elapsed <= 0:
            return 0.0
        return max(0.0, (later.machine - self.machine) - (later.own - self.own)) / elapsed
