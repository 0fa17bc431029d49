"""The delivery-cost results as text: the printed summary and the README's Markdown table."""

from __future__ import annotations

from typing import Any

# The phases whose Azurite answer times the report shows: the quiet host's latency probe, and
# the drain during which the callbacks under load are timed (the app as deployed).
QUIET_PHASE = "callbacks alone"
LOAD_PHASE = "app drain"
# The two ways the app's hosts are run (bench.delivery_cost.topologies).
DEPLOYED = "app"
ONE_HOST = "app_one_host"


# The throughput entries, in the order they are shown.
THROUGHPUTS = ("tutorial", "bare", DEPLOYED, ONE_HOST)


def summary(results: dict[str, Any]) -> str:
    """The headline figures as a few lines of text."""
    t = results["throughput"]
    s = results["storage_requests"]
    lat = results["callback_latency"][DEPLOYED]
    one = results["callback_latency"][ONE_HOST]
    machine = results["machine"]
    lines = [
        f"delivery cost, N={results['n']}, {machine['cores']} cores, load "
        f"{machine['load_average_before']} -> {machine['load_average_after']}",
        f"  SMS/s: tutorial {t['tutorial']['sms_per_s']}, bare {t['bare']['sms_per_s']}, "
        f"app {t[DEPLOYED]['sms_per_s']} (app/tutorial {t['ratios']['app_to_tutorial']}, "
        f"app/bare {t['ratios']['app_to_bare']}); on one host {t[ONE_HOST]['sms_per_s']} "
        f"(app/tutorial {t['ratios']['app_one_host_to_tutorial']})",
        "  other processes' CPU (cores) during tutorial/bare/app/app on one host: "
        + "/".join(str(t[k].get("others_cpu_cores")) for k in THROUGHPUTS),
        f"  storage requests per SMS: send path {s['send_path']['total_per_unit']}, per callback "
        f"{s['callback']['total_per_unit']}, repeated callback "
        f"{s['repeated_callback']['total_per_unit']}, whole life {s['whole_life_total_per_sms']}",
        f"  host CPU per SMS: {_cpu(t[DEPLOYED])}; on one host {_cpu(t[ONE_HOST])}",
        f"  hosts during the drain: {_hosts(t[DEPLOYED])}",
        f"  callback p50/p99: alone {_latency(lat['alone'])} ms, under load "
        f"{_latency(lat['under_load'])} ms; on one host {_latency(one['alone'])} ms, "
        f"{_latency(one['under_load'])} ms",
        f"  Azurite's answer to one request p50/p99: quiet {_answer(results, QUIET_PHASE)} ms, "
        f"during the app drain {_answer(results, LOAD_PHASE)} ms",
        "  import ms (median): "
        + ", ".join(f"{k} {v['median_ms']}" for k, v in results["import_ms"].items()),
        "  host start s: "
        + ", ".join(f"{k} {v['until_listening']}" for k, v in results["host_start_s"].items()),
        f"  Azurite stalls > {results['stalls']['threshold_s']} s: "
        + (
            ", ".join(
                f"{st['seconds']} s in {', '.join(st['phases'])}"
                for st in results["stalls"]["stalls"]
            )
            or "none"
        ),
    ]
    return "\n".join(lines)


def _cpu(throughput: dict[str, Any]) -> str:
    cpu = throughput["cpu_ms_per_sms"]
    return (
        f"{cpu.get('host')} ms (the stand-in's event loop threads {cpu.get('host_loop_thread')} "
        f"ms), Azurite {cpu.get('azurite')} ms"
    )


def _hosts(throughput: dict[str, Any]) -> str:
    """Each host's functions, CPU per SMS and the cores it kept busy during the drain."""
    return "; ".join(
        f"{'all functions' if host['functions'] == 'all' else ' + '.join(host['functions'])}: "
        f"{host['cpu_ms_per_sms']} ms, {host['cores']} cores busy"
        for host in throughput.get("hosts", [])
    )


def _latency(figures: dict[str, Any], between: str = "/") -> str:
    """`p50/p99` of a latency figure (`between` them: the table spaces it)."""
    return f"{figures.get('p50_ms')}{between}{figures.get('p99_ms')}"


def _answer(results: dict[str, Any], phase: str) -> str:
    """`p50/p99` of the prober's answer times in `phase`, or `-` when none was started in it."""
    figures = results["stalls"].get("answer_ms_by_phase", {}).get(phase, {})
    if not figures.get("count"):
        return "-"
    return _latency(figures)


def _ops(figures: dict[str, float], top: int = 7) -> str:
    shown = [f"{name.split(': ', 1)[1]} {value:g}" for name, value in list(figures.items())[:top]]
    rest = len(figures) - top
    return ", ".join(shown) + (f", {rest} more" if rest > 0 else "")


def markdown_table(results: dict[str, Any]) -> str:
    """The current figures beside issue 8's goals, as the README shows them."""
    t = results["throughput"]
    s = results["storage_requests"]
    lat = results["callback_latency"][DEPLOYED]
    one = results["callback_latency"][ONE_HOST]
    machine = results["machine"]
    imports = results["import_ms"]
    starts = [entry["until_listening"] for entry in results["host_start_s"].values()]
    stalls = results["stalls"]["stalled_seconds_by_phase"]
    cpu, one_cpu = t[DEPLOYED]["cpu_ms_per_sms"], t[ONE_HOST]["cpu_ms_per_sms"]
    repeated = s["repeated_callback"]
    rows = [
        (
            "tutorial's loop (new Client per SMS, sequential)",
            f"{t['tutorial']['sms_per_s']} SMS/s",
            "",
        ),
        ("bare loop (aiohttp at the host's concurrency)", f"{t['bare']['sms_per_s']} SMS/s", ""),
        (
            "this app (send + 2 status callbacks, all recorded), hosts as Flex Consumption runs "
            "them (HTTP functions apart)",
            f"{t[DEPLOYED]['sms_per_s']} SMS/s: {t['ratios']['app_to_tutorial']}× tutorial, "
            f"{t['ratios']['app_to_bare']}× bare",
            "≥ 1.0× tutorial, ≥ 0.3× bare",
        ),
        (
            "the same on one host (`func start`, `make run`)",
            f"{t[ONE_HOST]['sms_per_s']} SMS/s: {t['ratios']['app_one_host_to_tutorial']}× "
            f"tutorial, {t['ratios']['app_one_host_to_bare']}× bare",
            "",
        ),
        (
            "storage requests per SMS, send path",
            f"{s['send_path']['total_per_unit']} ({_ops(s['send_path']['per_sms'])})",
            "≤ 5",
        ),
        (
            "storage requests per status callback",
            f"{s['callback']['total_per_unit']} ({_ops(s['callback']['per_sms'])})",
            "≤ 3",
        ),
        (
            "storage requests per repeated callback",
            f"{repeated['total_per_unit']} ({_ops(repeated['per_sms'])})",
            "≤ 1",
        ),
        ("storage requests per SMS, whole life", f"{s['whole_life_total_per_sms']}", ""),
        (
            "host CPU per SMS: all threads, the functions' threads (Azurite's); both hosts",
            f"{cpu.get('host')} ms, {_functions_threads(cpu)} ms ({cpu.get('azurite')} ms); "
            f"{_hosts(t[DEPLOYED])}",
            "≤ 20 ms",
        ),
        (
            "the same on one host",
            f"{one_cpu.get('host')} ms, {_functions_threads(one_cpu)} ms "
            f"({one_cpu.get('azurite')} ms)",
            "",
        ),
        (
            "import of a function folder, fresh process (median)",
            ", ".join(f"`{name}` {entry['median_ms']:.0f} ms" for name, entry in imports.items()),
            "≤ 300 ms",
        ),
        (
            "status callback p50 / p99, quiet host",
            f"{_latency(lat['alone'], ' / ')} ms",
            "",
        ),
        (
            f"status callback p50 / p99 while {results['n']} SMS are sent",
            f"{_latency(lat['under_load'], ' / ')} ms",
            "p99 ≤ 50 ms",
        ),
        (
            "the same on one host: quiet, while the SMS are sent",
            f"{_latency(one['alone'], ' / ')} ms, {_latency(one['under_load'], ' / ')} ms",
            "",
        ),
        (
            f"Azurite's answer to one trivial request p50 / p99, quiet / while {results['n']} "
            "SMS are sent",
            f"{_answer(results, QUIET_PHASE)} ms / {_answer(results, LOAD_PHASE)} ms",
            "",
        ),
        ("host start (process start → listening)", " / ".join(f"{x:.2f} s" for x in starts), ""),
        (
            "Azurite stalls > 1 s",
            ", ".join(f"{v} s in {k}" for k, v in stalls.items()) or "none",
            "",
        ),
    ]
    head = (
        f"N = {results['n']}, {results['started_at']}, {machine['cores']} cores, load average "
        f"{machine['load_average_before'][0]} before / {machine['load_average_after'][0]} after, "
        f"Python {machine['python']}, "
        f"Azurite {machine['azurite']} ({machine['azurite_persistence']})"
    )
    others = ", ".join(f"{name} {t[name].get('others_cpu_cores')}" for name in THROUGHPUTS)
    head += f"; cores other processes kept busy during each throughput phase: {others}"
    lines = [head, "", "| | now | issue 8 goal |", "|---|---|---|"]
    lines += [f"| {name} | {now} | {goal} |" for name, now, goal in rows]
    return "\n".join(lines)


def _functions_threads(cpu: dict[str, float]) -> float | None:
    """Host CPU outside the stand-in's event loop thread: the functions' own threads."""
    if "host" not in cpu or "host_loop_thread" not in cpu:
        return None
    return round(cpu["host"] - cpu["host_loop_thread"], 2)
