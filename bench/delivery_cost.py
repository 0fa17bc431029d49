"""The cost of a delivery: the app side by side with the tutorial's loop and a bare loop.

One run, one Azurite, one Twilio emulator (both started here, as the tests start them):

1. import time of each function folder in a fresh interpreter;
2. the tutorial's loop and the bare loop (`bench.baseline_loops`) each drain N requests;
3. the counted app: a functions host whose storage goes through a counting proxy
   (`bench.storage_proxy`) and whose status callbacks are held back (`bench.callback_replay`)
   sends N (+ probe) SMS: storage requests of the send path; then the held callbacks are
   delivered to it: requests per callback; then the final callbacks once more: per repeat;
4. the throughput app, twice: its hosts as Flex Consumption runs them (the HTTP functions on a
   host of their own, the others on another), then one host; each time, storage direct and
   callbacks live, the hosts drain N pre-enqueued requests until every delivery is recorded as
   delivered: SMS/s, host and Azurite CPU per SMS, and status-callback latency under that load;
   then the same latency on the quiet hosts;
5. a prober times a cheap Azurite request every 100 ms throughout and reports stalls by phase.

    python -m bench.delivery_cost [--n 1000] [--out bench/results] [--import-runs 5]

Writes `delivery_cost.json` and `delivery_cost.png` to `--out`; docs/benchmarks.md explains
every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient
from azure.storage.queue.aio import QueueClient as AsyncQueueClient

from bench.app_host import (
    REPO_ROOT,
    RunningHost,
    copy_app,
    example_settings,
    free_port,
    function_folders,
    host_queue_options,
    http_functions,
    start_host,
)
from bench.baseline_loops import TwilioTarget, bare_loop, enqueue_sms, sms_requests, tutorial_loop
from bench.callback_replay import CallbackSink, CapturedCallback, post_callback, resigned
from bench.delivery_chart import draw
from bench.delivery_report import (
    DEPLOYED,
    LOAD_PHASE,
    ONE_HOST,
    QUIET_PHASE,
    THROUGHPUTS,
    markdown_table,
    summary,
)
from bench.figures import (
    combined,
    latency_summary,
    per_unit,
    phase_counts,
    ratio,
    raw_counts,
    split_counts,
)
from bench.import_times import measure_imports
from bench.process_cpu import (
    LoadReading,
    cpu_seconds,
    load_average,
    own_cpu_seconds,
    thread_cpu_seconds,
)
from bench.stall_prober import (
    READY_LINE,
    Phase,
    answer_times_by_phase,
    attribute,
    find_gaps,
    find_stalls,
    parse_probes,
)
from bench.storage_proxy import CountingProxy, RequestKey, RequestLog
from emulators.azurite import Azurite, connection_string, start_azurite
from emulators.launcher import Service, start_service
from emulators.twilio_api.process import EmulatorProcess, start_emulator
from producer.client import Producer
from producer.errors import ProducerError
from producer.settings import ProducerSettings
from shared.delivery_store import STATE_ROW
from shared.storage_connection import ConnectionString

DEFAULT_N = 1000
RESULTS_DIR = REPO_ROOT / "bench" / "results"
RESULTS_JSON = "delivery_cost.json"
RESULTS_PNG = "delivery_cost.png"
# The emulator's time scale: a message's life (queued → delivered) takes milliseconds.
EMULATOR_SPEED = 200.0
FINAL_STATUS = "delivered"
CALLBACK_STATUSES = ("sent", "delivered")
TABLE_NAME = "benchdeliveries"
STALL_THRESHOLD_SECONDS = 1.0
PROBE_INTERVAL_SECONDS = 0.1
# Held callbacks are delivered to the counted host by this many workers (one request's
# callbacks always in order, as Twilio sends them).
REPLAY_CONCURRENCY = 8
REPEATED_MAX = 200
QUIET_PAUSE_SECONDS = 2.0
COMPLETION_POLL_SECONDS = 0.5
# Before each throughput phase the run waits (up to --quiet-wait seconds) until other processes
# keep fewer than this many cores busy: the machine is shared.
QUIET_CORES = 0.5
BASELINE_TRIES = 3
EVENTS_EMPTIED_EVERY_SECONDS = 1.0
# The run holds callbacks back: the counted requests' until their phase replays them, the probe
# requests' until a latency figure posts them, minutes later. The status sweeper polls Twilio for
# a delivery quiet for its first back-off step (60 s by default) and would record those statuses
# first, so the held callbacks would be repeats, not first reports (and the sweep's work would
# land in a measured phase). Callbacks reach a deployed app within seconds; the sweeper still
# runs on its schedule here, it just finds nothing due within a run.
HELD_CALLBACK_SETTINGS = {"STATUS_SWEEP_BACKOFF_SECONDS": "86400"}


def probe_set_size(n: int) -> int:
    """Requests whose callbacks time the status callback (per latency figure)."""
    return max(5, min(50, n // 20))


def drain_timeout(count: int) -> float:
    """How long a drain of `count` requests may take before the run fails (generous)."""
    return 120.0 + 1.0 * count


@dataclass(frozen=True)
class Topology:
    """How the app's functions are spread over host processes for a throughput run."""

    key: str  # its entry in `throughput` and `callback_latency`
    tag: str  # its queues' and request ids' tag
    suffix: str  # added to its phases' names
    # Function names per host, the one serving the HTTP functions first; None: every function.
    groups: tuple[tuple[str, ...] | None, ...]

    def phase(self, name: str) -> str:
        """The name of this topology's phase `name`."""
        return name + self.suffix


def topologies(app_dir: Path) -> tuple[Topology, Topology]:
    """The app as Flex Consumption runs it (per-function scaling: the HTTP functions share
    instances of their own; the others run on theirs, here together on one second host), and as
    one host runs it (`func start`, `make run`, a Premium or Dedicated instance)."""
    http = tuple(http_functions(app_dir))
    others = tuple(name for name in function_folders(app_dir) if name not in http)
    return (
        Topology(DEPLOYED, "b", "", (http, others)),
        Topology(ONE_HOST, "c", " (one host)", (None,)),
    )


@dataclass(frozen=True)
class HostNames:
    """The queues one host of the run uses (each host its own; the table is shared)."""

    sms: str
    call: str
    events: str

    @classmethod
    def for_host(cls, tag: str) -> HostNames:
        """Names `bench-<tag>-sms`, `bench-<tag>-calls`, `bench-<tag>-events`."""
        return cls(f"bench-{tag}-sms", f"bench-{tag}-calls", f"bench-{tag}-events")


def key_range(prefix: str) -> tuple[str, str]:
    """(low, high) bounds of the keys starting with `prefix` (high excluded)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def final_states(table: TableClient, prefix: str) -> tuple[int, float | None]:
    """How many requests with ids starting `prefix` have their final status recorded, and the
    latest server time one of those state rows was written (wall clock seconds)."""
    low, high = key_range(prefix)
    rows = table.query_entities(
        "PartitionKey ge @low and PartitionKey lt @high and RowKey eq @row and status eq @final",
        parameters={"low": low, "high": high, "row": STATE_ROW, "final": FINAL_STATUS},
        select=["PartitionKey", "Timestamp"],
    )
    count, latest = 0, None
    for row in rows:
        count += 1
        written = row.metadata.get("timestamp")
        if isinstance(written, datetime):
            latest = max(latest or 0.0, written.timestamp())
    return count, latest


def unrecorded(producer: Producer, request_ids: Sequence[str]) -> list[str]:
    """The requests whose delivery is not fully recorded: final status `delivered` and a
    history row for each callback status. Read with the producer's public status reader."""

    def missing(request_id: str) -> str | None:
        for attempt in range(3):
            try:
                record = producer.status(request_id)
            except ProducerError as error:
                if attempt == 2:
                    return f"{request_id}: {error}"
                time.sleep(1)
                continue
            statuses = {row.get("status") for row in record.history}
            current = (record.current or {}).get("status")
            if current != FINAL_STATUS or not set(CALLBACK_STATUSES) <= statuses:
                return f"{request_id}: status {current}, history {sorted(map(str, statuses))}"
            return None
        return request_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [problem for problem in pool.map(missing, request_ids) if problem]


class DeliveryCostBenchmark:
    """One run: start the stack, measure each phase, return the results as a JSON-ready dict."""

    def __init__(
        self, n: int, import_runs: int, work_dir: Path, azurite_on_disk: bool, quiet_wait: float
    ) -> None:
        if n < 1:
            raise ValueError("n must be at least 1")
        self.n = n
        self.quiet_wait = quiet_wait
        # Per phase: cores other processes kept busy meanwhile; seconds waited for quiet first.
        self.foreign_cores: dict[str, float] = {}
        self.quiet_waited: dict[str, float] = {}
        self.azurite_on_disk = azurite_on_disk
        self.import_runs = import_runs
        self.work_dir = work_dir
        self.run_id = os.urandom(3).hex()
        self.probes = probe_set_size(n)
        self.phases: list[Phase] = []
        self.results: dict[str, Any] = {}
        self.app_dir = copy_app(work_dir / "app")
        self.settings = {**example_settings(), **HELD_CALLBACK_SETTINGS}
        self.azurite: Azurite
        self.emulator: EmulatorProcess
        self.azurite_pid = 0
        self.http: aiohttp.ClientSession
        self.held: dict[str, list[CapturedCallback]] = {}
        self.topologies = topologies(self.app_dir)
        # Requests of the counted run: N measured, then per topology the two probe sets of its
        # latency figures (under load, alone).
        self.counted_ids = [
            f"{self.request_id_prefix('a')}{index:05d}"
            for index in range(n + 2 * len(self.topologies) * self.probes)
        ]

    # -- helpers -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Record the wall-clock span of `name` (for stall attribution)."""
        start, reading = time.time(), LoadReading.now()
        try:
            yield
        finally:
            self.phases.append(Phase(name, start, time.time()))
            self.foreign_cores[name] = round(reading.foreign_cores(LoadReading.now()), 2)

    async def wait_for_quiet(self, phase: str) -> None:
        """Wait (at most `quiet_wait` s) for a second in which other processes keep fewer than
        `QUIET_CORES` cores busy; record how long it took."""
        started = time.monotonic()
        while time.monotonic() - started < self.quiet_wait:
            before = LoadReading.now()
            await asyncio.sleep(1.0)
            if before.foreign_cores(LoadReading.now()) < QUIET_CORES:
                break
        self.quiet_waited[phase] = round(time.monotonic() - started, 1)

    def request_id_prefix(self, tag: str) -> str:
        """Ids of one part of the run: `bench-<run>-<tag>-`."""
        return f"bench-{self.run_id}-{tag}-"

    @property
    def direct_storage(self) -> str:
        """Connection string straight to Azurite."""
        return self.azurite.connection_string

    @property
    def twilio(self) -> TwilioTarget:
        """The emulator as the loops see it."""
        return TwilioTarget(
            self.emulator.base_url,
            self.settings["TWILIO_ACCOUNT_SID"],
            self.settings["TWILIO_AUTH_TOKEN"],
            self.settings["TWILIO_FROM_NUMBER"],
        )

    def host_settings(self, storage: str, public_base_url: str, names: HostNames) -> dict[str, str]:
        """The app's settings for one host of the run."""
        return {
            **self.settings,
            "AzureWebJobsStorage": storage,
            "TWILIO_API_BASE_URL": self.emulator.base_url,
            "PUBLIC_BASE_URL": public_base_url,
            "SMS_QUEUE_NAME": names.sms,
            "CALL_QUEUE_NAME": names.call,
            "EVENTS_QUEUE_NAME": names.events,
            "DELIVERIES_TABLE_NAME": TABLE_NAME,
        }

    def cpu(self, host_pids: Sequence[int] = (), each_host: bool = False) -> dict[str, float]:
        """CPU seconds so far of Azurite, the emulator, this process and (given) the hosts,
        summed over the hosts; with `each_host`, also each host's own as `host <index>`."""
        reading = {
            "azurite": cpu_seconds(self.azurite_pid),
            "emulator": cpu_seconds(self.emulator.service.process.pid),
            "bench": own_cpu_seconds(),
        }
        if host_pids:
            each = [cpu_seconds(pid) for pid in host_pids]
            if each_host:
                reading.update({f"host {index}": seconds for index, seconds in enumerate(each)})
            reading["host"] = sum(each)
            # The stand-in's event loop runs on the main thread (queue polling, its HTTP server,
            # the worker protocol: the .NET host's work in Azure); the functions run on others.
            reading["host_loop_thread"] = sum(thread_cpu_seconds(pid, pid) for pid in host_pids)
        return reading

    @staticmethod
    def cpu_ms_per(
        before: dict[str, float], after: dict[str, float], units: int
    ) -> dict[str, float]:
        """CPU milliseconds per unit of each process between two `cpu` readings."""
        return {
            name: round((after[name] - before[name]) * 1000 / units, 2)
            for name in before
            if name in after
        }

    @contextlib.asynccontextmanager
    async def events_emptied(self, queue_name: str) -> AsyncIterator[None]:
        """Empty the app's events queue every `EVENTS_EMPTIED_EVERY_SECONDS` while the block
        runs, straight to Azurite (never through the counting proxy), as a consumer would keep
        it short: Azurite 3.35 slows down every queue request with the number of messages it
        holds in any queue (docs/benchmarks.md), which Azure Storage does not."""
        stop = asyncio.Event()

        async def empty() -> None:
            async with AsyncQueueClient.from_connection_string(
                self.direct_storage, queue_name
            ) as queue:
                while not stop.is_set():
                    with contextlib.suppress(ResourceNotFoundError):
                        await queue.clear_messages()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), EVENTS_EMPTIED_EVERY_SECONDS)

        task = asyncio.create_task(empty())
        try:
            yield
        finally:
            stop.set()
            await task

    # -- the phases ----------------------------------------------------------------------------

    def measure_imports(self) -> None:
        """Import time of every function folder, before anything else runs."""
        with self.phase("imports"):
            self.results["import_ms"] = measure_imports(
                self.app_dir, function_folders(), self.import_runs
            )

    async def baseline(self, name: str, run: Callable[[str], Any]) -> dict[str, Any]:
        """Enqueue N requests on a queue of their own, then time `run(queue)` draining them.

        A loop takes seconds, so a burst of other work on the shared machine can land on it
        alone: when other processes kept `QUIET_CORES` or more busy meanwhile, it is run again
        (at most `BASELINE_TRIES` in all) and the least disturbed try counts; every try is kept
        in `tries`."""
        tries: list[dict[str, Any]] = []
        for attempt in range(1, BASELINE_TRIES + 1):
            phase = f"{name} loop" if attempt == 1 else f"{name} loop (try {attempt})"
            queue = f"bench-{name}-{attempt}"
            prefix = self.request_id_prefix(f"{name}{attempt}")
            await enqueue_sms(self.direct_storage, queue, sms_requests(prefix, self.n))
            await self.wait_for_quiet(phase)
            before = self.cpu()
            with self.phase(phase):
                seconds = await run(queue)
            after = self.cpu()
            tries.append(
                {
                    "phase": phase,
                    "sms": self.n,
                    "seconds": round(seconds, 3),
                    "sms_per_s": round(self.n / seconds, 1),
                    "cpu_ms_per_sms": self.cpu_ms_per(before, after, self.n),
                    "others_cpu_cores": self.foreign_cores[phase],
                    "waited_for_quiet_s": self.quiet_waited[phase],
                }
            )
            if self.foreign_cores[phase] < QUIET_CORES:
                break
        chosen = min(tries, key=lambda entry: entry["others_cpu_cores"])
        return {**chosen, "tries": [(t["sms_per_s"], t["others_cpu_cores"]) for t in tries]}

    async def baselines(self) -> None:
        """The tutorial's loop, then the bare loop."""
        batch_size, threshold = host_queue_options(self.app_dir)
        twilio = self.twilio
        tutorial = await self.baseline(
            "tutorial",
            lambda queue: asyncio.to_thread(
                tutorial_loop, self.direct_storage, queue, self.n, twilio
            ),
        )
        bare = await self.baseline(
            "bare",
            lambda queue: bare_loop(
                self.direct_storage, queue, self.n, twilio, batch_size, threshold
            ),
        )
        bare["concurrency"] = {"batchSize": batch_size, "newBatchThreshold": threshold}
        self.results["throughput"] = {"tutorial": tutorial, "bare": bare}

    async def replay(self, host_url: str, sequences: Sequence[list[CapturedCallback]]) -> list[int]:
        """Deliver each request's held callbacks in order, requests spread over a few workers;
        return every answer's status."""
        statuses: list[int] = []
        pending = iter(sequences)

        async def worker() -> None:
            for callbacks in pending:
                for callback in callbacks:
                    status, _ = await post_callback(self.http, host_url, callback)
                    statuses.append(status)

        await asyncio.gather(*(worker() for _ in range(REPLAY_CONCURRENCY)))
        return statuses

    async def counted_app(self) -> None:
        """Send path, callbacks and repeated callbacks of the app, counted at the proxy."""
        log = RequestLog()
        queue_proxy = CountingProxy("queue", self.azurite.queue_port, log)
        table_proxy = CountingProxy("table", self.azurite.table_port, log)
        sink = CallbackSink()
        names = HostNames.for_host(f"{self.run_id}-a")
        prefix = self.request_id_prefix("a")
        total = len(self.counted_ids)
        async with AsyncExitStack() as stack:
            stack.push_async_callback(queue_proxy.stop)
            stack.push_async_callback(table_proxy.stop)
            stack.push_async_callback(sink.stop)
            await stack.enter_async_context(self.events_emptied(names.events))
            proxied = connection_string(
                "127.0.0.1",
                self.azurite.blob_port,
                await queue_proxy.start(),
                await table_proxy.start(),
            )
            sink_url = await sink.start()
            port = free_port()
            with self.phase("counted host start"):
                host = await asyncio.to_thread(
                    start_host,
                    self.app_dir,
                    self.host_settings(proxied, sink_url, names),
                    port,
                    "host-counted",
                )
            stack.callback(host.stop)
            first_poll = ("queue: get messages", names.sms)
            await log.wait_for(first_poll, 1, within=60)
            self.results.setdefault("host_start_s", {})["counted_host"] = {
                "until_listening": round(host.start_seconds, 3),
                "until_first_queue_poll": round(log.first_seen[first_poll] - host.spawned_at, 3),
            }

            def idle_in_send(key: RequestKey) -> bool:
                return key[1] == names.call

            def idle_in_callbacks(key: RequestKey) -> bool:
                return key[1] in (names.sms, names.call)

            texts = sms_requests(prefix, total)
            before, cpu_before = log.snapshot(), self.cpu([host.pid])
            with self.phase("send path (counted)"):
                started = time.time()
                await enqueue_sms(self.direct_storage, names.sms, texts)
                await log.wait_for(
                    ("queue: delete message", names.sms), total, drain_timeout(total)
                )
                send_seconds = time.time() - started
            send = self.counted_phase(before, log.snapshot(), total, idle_in_send)
            send["cpu_ms_per_sms"] = self.cpu_ms_per(cpu_before, self.cpu([host.pid]), total)
            send["seconds"] = round(send_seconds, 3)
            await sink.wait_for(2 * total, within=120)
            self.held = sink.by_request()
            ids = self.counted_ids
            self.check_held(ids)

            main = [self.held[request_id] for request_id in ids[: self.n]]
            before, cpu_before = log.snapshot(), self.cpu([host.pid])
            with self.phase("callbacks (counted)"):
                statuses = await self.replay(host.url, main)
            callbacks = self.counted_phase(before, log.snapshot(), len(statuses), idle_in_callbacks)
            callbacks["cpu_ms_per_callback"] = self.cpu_ms_per(
                cpu_before, self.cpu([host.pid]), len(statuses)
            )
            callbacks["answers"] = dict(Counter(str(s) for s in statuses))

            repeats = [sequence[-1:] for sequence in main[:REPEATED_MAX]]
            before, cpu_before = log.snapshot(), self.cpu([host.pid])
            with self.phase("repeated callbacks (counted)"):
                statuses = await self.replay(host.url, repeats)
            repeated = self.counted_phase(before, log.snapshot(), len(statuses), idle_in_callbacks)
            repeated["cpu_ms_per_callback"] = self.cpu_ms_per(
                cpu_before, self.cpu([host.pid]), len(statuses)
            )
            repeated["answers"] = dict(Counter(str(s) for s in statuses))

        producer = self.producer(names)
        problems = await asyncio.to_thread(unrecorded, producer, ids[: self.n])
        send_figures = send["per_sms"]
        callback_figures = callbacks["per_sms"]
        self.results["storage_requests"] = {
            "send_path": send,
            "callback": callbacks,
            "repeated_callback": repeated,
            "whole_life_per_sms": combined([(send_figures, 1.0), (callback_figures, 2.0)]),
            "whole_life_total_per_sms": round(
                send["total_per_unit"] + 2 * callbacks["total_per_unit"], 3
            ),
            "recorded": {
                "requests": self.n,
                "not_fully_recorded": problems[:20],
                "failures": len(problems),
            },
        }

    @staticmethod
    def counted_phase(
        before: Counter[RequestKey],
        after: Counter[RequestKey],
        units: int,
        is_idle: Callable[[RequestKey], bool],
    ) -> dict[str, Any]:
        """The storage requests of one counted phase, per unit and raw."""
        attributed, idle = split_counts(phase_counts(before, after), is_idle)
        figures = per_unit(attributed, units)
        return {
            "units": units,
            "per_sms": figures,
            "total_per_unit": round(sum(attributed.values()) / units, 3),
            "requests": raw_counts(attributed),
            "idle_polling": raw_counts(idle),
        }

    def check_held(self, request_ids: Sequence[str]) -> None:
        """Every request of the counted run got one `sent` and one `delivered` callback."""
        for request_id in request_ids:
            statuses = [c.params.get("MessageStatus") for c in self.held.get(request_id, [])]
            if statuses != list(CALLBACK_STATUSES):
                raise RuntimeError(
                    f"{request_id}: held callbacks {statuses}, expected sent, delivered"
                )

    def producer(self, names: HostNames) -> Producer:
        """The producer library on the run's storage, for reading delivery records."""
        return Producer(
            ProducerSettings(
                storage=ConnectionString(self.direct_storage),
                sms_queue=names.sms,
                call_queue=names.call,
                events_queue=names.events,
                deliveries_table=TABLE_NAME,
            )
        )

    async def time_callbacks(
        self, host: RunningHost, request_ids: Sequence[str], stop: asyncio.Event | None = None
    ) -> dict[str, Any]:
        """Sequential signed status callbacks (held ones, signed for `host`) until done or
        `stop` is set; their latency and answers."""
        seconds: list[float] = []
        answers: Counter[str] = Counter()
        token = self.settings["TWILIO_AUTH_TOKEN"]
        for request_id in request_ids:
            for callback in self.held[request_id]:
                if stop is not None and stop.is_set():
                    break
                signature = resigned(callback, token, host.url)
                status, elapsed = await post_callback(self.http, host.url, callback, signature)
                answers[str(status)] += 1
                seconds.append(elapsed)
        return {**latency_summary(seconds), "answers": dict(answers)}

    async def throughput_app(
        self, topology: Topology, load_ids: list[str], alone: list[str]
    ) -> None:
        """The app, its hosts as `topology` groups the functions, draining N pre-enqueued
        requests with callbacks live; callback latency under that load and then alone.

        The host serving the HTTP functions starts first and gets one probe request's callbacks
        (not timed: the first invocations of a process build its clients, as an always-ready
        instance has done before traffic arrives), before any send starts when it is a host of
        its own, at the start of the drain on one host."""
        names = HostNames.for_host(f"{self.run_id}-{topology.tag}")
        prefix = self.request_id_prefix(topology.tag)
        await enqueue_sms(self.direct_storage, names.sms, sms_requests(prefix, self.n))
        drain, quiet = topology.phase(LOAD_PHASE), topology.phase(QUIET_PHASE)
        await self.wait_for_quiet(drain)
        ports = [free_port() for _ in topology.groups]
        http_host_url = f"http://127.0.0.1:{ports[0]}"
        settings = self.host_settings(self.direct_storage, http_host_url, names)
        hosts: list[RunningHost] = []
        async with self.events_emptied(names.events):
            try:
                # The drain starts when the last host (the queue functions') listens: the host
                # start phase ends there and the drain's CPU and load readings start there. On
                # one host the queue listeners start with the host, so its warm-up can only run
                # in the drain (counted there, as the latency probe's callbacks are).
                starting, began = topology.phase("throughput host start"), time.time()
                start_reading = LoadReading.now()
                for index, (port, functions) in enumerate(zip(ports, topology.groups, strict=True)):
                    hosts.append(
                        await asyncio.to_thread(
                            start_host,
                            self.app_dir,
                            settings,
                            port,
                            f"host-{topology.tag}{index}",
                            functions,
                        )
                    )
                    if index == 0 and len(topology.groups) > 1:
                        await self.time_callbacks(hosts[0], load_ids[:1])
                http_host, drain_start = hosts[0], hosts[-1].ready_at
                pids = [host.pid for host in hosts]
                cpu_before, reading = self.cpu(pids, each_host=True), LoadReading.now()
                self.phases.append(Phase(starting, began, drain_start))
                self.foreign_cores[starting] = round(start_reading.foreign_cores(reading), 2)
                self.results.setdefault("host_start_s", {})[f"throughput_{topology.key}"] = {
                    "until_listening": round(max(host.start_seconds for host in hosts), 3)
                }
                if len(hosts) == 1:
                    await self.time_callbacks(http_host, load_ids[:1])
                table = TableClient.from_connection_string(self.direct_storage, TABLE_NAME)
                drained = asyncio.Event()
                under_load = asyncio.create_task(
                    self.time_callbacks(http_host, load_ids[1:], drained)
                )
                deadline = time.monotonic() + drain_timeout(self.n)
                while True:
                    count, latest = await asyncio.to_thread(final_states, table, prefix)
                    if count >= self.n:
                        detected = time.time()
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"{drain}: {count} of {self.n} delivered before the deadline"
                        )
                    await asyncio.sleep(COMPLETION_POLL_SECONDS)
                drained.set()
                cpu_after, later = self.cpu(pids, each_host=True), LoadReading.now()
                self.foreign_cores[drain] = round(reading.foreign_cores(later), 2)
                # The CPU readings span the drain and the poll that saw it end.
                cpu_window = later.wall - reading.wall
                end = latest if latest is not None else detected
                self.phases.append(Phase(drain, drain_start, end))
                latency_load = await under_load
                seconds = end - drain_start
                problems = await asyncio.to_thread(
                    unrecorded, self.producer(names), [f"{prefix}{i:05d}" for i in range(self.n)]
                )
                await asyncio.sleep(QUIET_PAUSE_SECONDS)
                with self.phase(quiet):
                    latency_alone = await self.time_callbacks(http_host, alone)
            finally:
                for host in hosts:
                    await asyncio.to_thread(host.stop)
        cpu = self.cpu_ms_per(cpu_before, cpu_after, self.n)
        host_figures = [
            {
                "functions": list(functions) if functions else "all",
                "cpu_ms_per_sms": cpu.pop(f"host {index}"),
                # Cores it kept busy on average between the CPU readings.
                "cores": round(
                    (cpu_after[f"host {index}"] - cpu_before[f"host {index}"]) / cpu_window, 2
                ),
            }
            for index, functions in enumerate(topology.groups)
        ]
        self.results["throughput"][topology.key] = {
            "sms": self.n,
            "seconds": round(seconds, 3),
            "sms_per_s": round(self.n / seconds, 1),
            "hosts": host_figures,
            "phase": drain,
            "cpu_ms_per_sms": cpu,
            "recorded": {
                "requests": self.n,
                "failures": len(problems),
                "not_fully_recorded": problems[:20],
            },
            "callbacks_timed_during_drain": latency_load.get("count", 0),
        }
        self.results.setdefault("callback_latency", {})[topology.key] = {
            "alone": latency_alone,
            "under_load": latency_load,
        }

    # -- the run -------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Every phase, in order; the stack is stopped whatever happens."""
        load_before = load_average()
        started_at = datetime.now(UTC)
        self.measure_imports()
        async with AsyncExitStack() as stack:
            location = self.work_dir / "azurite" if self.azurite_on_disk else None
            if location is not None:
                location.mkdir()
            self.azurite = start_azurite(location=location)
            stack.callback(self.azurite.stop)
            self.azurite_pid = self.azurite.service.process.pid
            prober = start_service(
                "stall-prober",
                [
                    sys.executable,
                    "-m",
                    "bench.stall_prober",
                    "--port",
                    str(self.azurite.queue_port),
                    "--interval",
                    str(PROBE_INTERVAL_SECONDS),
                ],
                [READY_LINE],
                cwd=REPO_ROOT,
                timeout=30,
            )
            stack.callback(prober.stop)
            env = {
                "TWILIO_EMULATOR_ACCOUNT_SID": self.settings["TWILIO_ACCOUNT_SID"],
                "TWILIO_EMULATOR_AUTH_TOKEN": self.settings["TWILIO_AUTH_TOKEN"],
            }
            self.emulator = start_emulator(speed=EMULATOR_SPEED, env=env)
            stack.callback(self.emulator.stop)
            self.http = await stack.enter_async_context(
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
            )
            await self.baselines()
            await self.counted_app()
            probes = self.counted_ids[self.n :]
            sets = [probes[i : i + self.probes] for i in range(0, len(probes), self.probes)]
            for index, topology in enumerate(self.topologies):
                await self.throughput_app(topology, sets[2 * index], sets[2 * index + 1])
            prober.stop()
            self.results["stalls"] = self.stalls(prober)
        self.finish(started_at, load_before)
        return self.results

    def stalls(self, prober: Service) -> dict[str, Any]:
        """Azurite stalls seen by the prober, by phase, and the phases they touched."""
        probes = parse_probes(prober.output)
        stalls = attribute(find_stalls(probes, STALL_THRESHOLD_SECONDS), self.phases)
        gaps = attribute(find_gaps(probes, STALL_THRESHOLD_SECONDS), self.phases)
        touched: dict[str, float] = {}
        for stall in stalls:
            for name, seconds in stall["phases"].items():  # type: ignore[attr-defined]
                touched[name] = round(touched.get(name, 0.0) + seconds, 3)
        return {
            "threshold_s": STALL_THRESHOLD_SECONDS,
            "probe_interval_s": PROBE_INTERVAL_SECONDS,
            "probes": len(probes),
            "probe_median_ms": round(statistics.median(p.seconds for p in probes) * 1000, 2)
            if probes
            else None,
            "stalls": stalls,
            "stalled_seconds_by_phase": touched,
            "prober_starved": gaps,
            "answer_ms_by_phase": answer_times_by_phase(probes, self.phases),
        }

    def finish(self, started_at: datetime, load_before: list[float]) -> None:
        """Ratios, the machine and the run's own facts."""
        throughput = self.results["throughput"]
        app, one_host, tutorial, bare = (
            throughput[k]["sms_per_s"] for k in (DEPLOYED, ONE_HOST, "tutorial", "bare")
        )
        throughput["ratios"] = {
            "app_to_tutorial": ratio(app, tutorial),
            "app_to_bare": ratio(app, bare),
            "bare_to_tutorial": ratio(bare, tutorial),
            "app_one_host_to_tutorial": ratio(one_host, tutorial),
            "app_one_host_to_bare": ratio(one_host, bare),
            "app_to_app_one_host": ratio(app, one_host),
        }
        stalled = self.results["stalls"]["stalled_seconds_by_phase"]
        for name in THROUGHPUTS:
            phase = throughput[name]["phase"]
            throughput[name]["stalled_seconds"] = stalled.get(phase, 0.0)
            throughput[name]["others_cpu_cores"] = self.foreign_cores.get(phase)
            throughput[name]["waited_for_quiet_s"] = self.quiet_waited.get(phase)
        self.results = {
            "benchmark": "delivery cost (issue 8)",
            "n": self.n,
            "probe_requests_per_latency_figure": self.probes,
            "events_queue_emptied_every_s": EVENTS_EMPTIED_EVERY_SECONDS,
            "started_at": started_at.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cores": os.cpu_count(),
                "load_average_before": load_before,
                "load_average_after": load_average(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "azurite": azurite_version(),
                "azurite_persistence": "disk" if self.azurite_on_disk else "memory",
                "emulator_speed": EMULATOR_SPEED,
            },
            **self.results,
            "phases": [
                {
                    "name": p.name,
                    "start": round(p.start, 3),
                    "seconds": round(p.end - p.start, 3),
                    "others_cpu_cores": self.foreign_cores.get(p.name),
                }
                for p in self.phases
            ],
        }


def azurite_version() -> str:
    """The installed Azurite's version (node_modules), or `unknown`."""
    try:
        manifest = REPO_ROOT / "node_modules" / "azurite" / "package.json"
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, KeyError, ValueError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.delivery_cost", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="SMS per throughput run")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument(
        "--import-runs", type=int, default=5, help="fresh-process imports per function folder"
    )
    parser.add_argument(
        "--azurite",
        choices=["disk", "memory"],
        default="disk",
        help="Azurite persistence: disk (as `make run` has it) or memory (see docs/benchmarks.md)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each throughput phase, wait up to this many seconds for the machine to be "
        f"quiet (other processes below {QUIET_CORES} cores); 0 = do not wait",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-delivery-cost-") as work:
        benchmark = DeliveryCostBenchmark(
            args.n,
            args.import_runs,
            Path(work),
            azurite_on_disk=args.azurite == "disk",
            quiet_wait=args.quiet_wait,
        )
        results = asyncio.run(benchmark.run())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / RESULTS_JSON).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    draw(results, args.out / RESULTS_PNG)
    print(summary(results), flush=True)
    print("\n" + markdown_table(results), flush=True)
    print(f"wrote {args.out / RESULTS_JSON} and {args.out / RESULTS_PNG}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
