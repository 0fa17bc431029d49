"""Twilio emulator throughput: message creates per second with status callbacks on.

Starts `python -m emulators.twilio_api --port 0` as its own process, runs a callback sink in this
process, posts N creates over keep-alive connections with a fixed concurrency and prints creates/s
(201 answers per second of wall time) and how many callbacks arrived.

    python -m bench.emulator_throughput [--messages 5000] [--concurrency 64]
"""

import argparse
import asyncio
import base64
import contextlib
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from emulators.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from emulators.twilio_api.process import start_emulator

REPO_ROOT = Path(__file__).resolve().parent.parent


class Sink:
    """Counts status callbacks."""

    def __init__(self) -> None:
        self.count = 0
        self.expected: int | None = None
        self.all_arrived = asyncio.Event()

    def expect(self, total: int) -> None:
        """Set how many callbacks make the run complete."""
        self.expected = total
        self._check()

    def _check(self) -> None:
        if self.expected is not None and self.count >= self.expected:
            self.all_arrived.set()

    async def handle(self, request: web.Request) -> web.Response:
        """Answer 200 and count the callback."""
        await request.read()
        self.count += 1
        self._check()
        return web.Response()


async def run(messages: int, concurrency: int, speed: float) -> None:
    """Run the benchmark and print the figures."""
    sink = Sink()
    app = web.Application()
    app.router.add_post("/cb", sink.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    callback_url = f"http://127.0.0.1:{runner.addresses[0][1]}/cb"

    emulator = start_emulator(speed=speed)
    base_url = emulator.base_url
    url = f"{base_url}/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json"
    token = base64.b64encode(f"{DEFAULT_ACCOUNT_SID}:{DEFAULT_AUTH_TOKEN}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=concurrency)
    failures = 0
    try:
        async with aiohttp.ClientSession(
            headers=headers, timeout=timeout, connector=connector
        ) as http:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for index in range(messages):
                queue.put_nowait(index)

            async def worker() -> None:
                nonlocal failures
                while not queue.empty():
                    index = queue.get_nowait()
                    form = {
                        # +1777… avoids the emulator's behaviour numbers (all +1555…/+1500…).
                        "To": f"+1777{index % 10_000_000:07d}",
                        "From": "+15550009999",
                        "Body": f"bench {index}",
                        "StatusCallback": callback_url,
                    }
                    async with http.post(url, data=form) as answer:
                        await answer.read()
                        failures += answer.status != 201

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        # Each message reports sent and delivered; wait (bounded) for the callbacks to land.
        expected = 2 * (messages - failures)
        sink.expect(expected)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sink.all_arrived.wait(), timeout=60)
        drained = time.perf_counter() - started
    finally:
        emulator.stop()
        await runner.cleanup()
    print(
        f"emulator throughput: {messages / elapsed:.0f} creates/s "
        f"({messages} creates, concurrency {concurrency}, {failures} non-201); "
        f"callbacks received {sink.count}/{expected} "
        f"in {drained:.1f}s from the first create",
        flush=True,
    )


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--speed", type=float, default=1000.0)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.concurrency, args.speed))


if __name__ == "__main__":
    main()
