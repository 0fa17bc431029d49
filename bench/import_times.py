"""How long `import <function folder>` takes in a fresh interpreter (what a cold start pays).

Each run is a new `python -c` in the app copy that times the import alone (interpreter start-up
excluded); the copy is byte-compiled first, so no run pays for compiling the app's own modules.
One more run with `-X importtime` names the packages whose modules cost the most.
"""

from __future__ import annotations

import compileall
import statistics
import subprocess
import sys
from pathlib import Path

_TIMED_IMPORT = (
    "import time; started = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - started)"
)


def _run(app_dir: Path, module: str, *flags: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *flags, "-c", _TIMED_IMPORT.format(module=module)],
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{done.stderr[-2000:]}")
    return done


def package_of(module: str) -> str:
    """The distribution-level name of `module`: its first component (two for `azure.*`)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "azure" and len(parts) > 1 else parts[0]


def heaviest_packages(importtime_log: str, top: int) -> dict[str, float]:
    """Packages by the import time spent in their own modules (ms, `-X importtime` self
    times summed per `package_of`), the `top` most expensive."""
    costs: dict[str, float] = {}
    for line in importtime_log.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if (
            not line.startswith("import time:")
            or len(fields) != 3
            or not fields[0].strip().isdigit()
        ):
            continue
        package = package_of(fields[2].strip())
        costs[package] = costs.get(package, 0.0) + int(fields[0]) / 1000
    ranked = sorted(costs.items(), key=lambda item: item[1], reverse=True)[:top]
    return {name: round(ms, 1) for name, ms in ranked}


def measure_imports(app_dir: Path, folders: list[str], runs: int) -> dict[str, object]:
    """Median and every run (ms) per function folder, and the heaviest packages of each."""
    compileall.compile_dir(app_dir, quiet=1)
    results: dict[str, object] = {}
    for folder in folders:
        samples = [float(_run(app_dir, folder).stdout.strip()) * 1000 for _ in range(runs)]
        traced = _run(app_dir, folder, "-X", "importtime")
        results[folder] = {
            "median_ms": round(statistics.median(samples), 1),
            "runs_ms": [round(sample, 1) for sample in samples],
            "heaviest_packages_ms": heaviest_packages(traced.stderr, top=6),
        }
    return results
