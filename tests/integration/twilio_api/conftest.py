"""Fixtures for the Twilio emulator's integration tests: test helpers, a callback sink (a real
aiohttp server on 127.0.0.1) and a second emulator started with flags. The reset session emulator
and the twilio client come from `tests/integration/conftest.py`."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from aiohttp import web
from twilio.rest import Client

from emulators.twilio_api.process import EmulatorProcess, start_emulator

REPO_ROOT = Path(__file__).resolve().parents[3]
WAIT_SECONDS = 10.0


class EmulatorLike(Protocol):
    """What the tests need from a running emulator (the session fixture's object fits)."""

    base_url: str
    account_sid: str
    auth_token: str


def inspect(emulator: EmulatorLike, path: str) -> Any:
    """GET an inspection route and return its JSON."""
    with urllib.request.urlopen(f"{emulator.base_url}/_emulator/{path}", timeout=5) as answer:
        return json.load(answer)


def inspect_post(emulator: EmulatorLike, path: str, body: Any = None) -> tuple[int, Any]:
    """POST JSON to an inspection route; return (status, JSON body)."""
    request = urllib.request.Request(
        f"{emulator.base_url}/_emulator/{path}",
        data=json.dumps(body if body is not None else {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def wait_for[T](probe: Callable[[], T | None], what: str, timeout: float = WAIT_SECONDS) -> T:
    """Poll `probe` until it returns something truthy; fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


class Kit:
    """Helpers for tests (test modules cannot import conftest under importlib mode)."""

    def __init__(self, emulator: EmulatorLike, make_client: Callable[..., Client]) -> None:
        self.emulator = emulator
        self.make_client = make_client

    def inspect(self, path: str, emulator: EmulatorLike | None = None) -> Any:
        """GET `/_emulator/<path>` as JSON."""
        return inspect(emulator or self.emulator, path)

    def inspect_post(
        self, path: str, body: Any = None, emulator: EmulatorLike | None = None
    ) -> tuple[int, Any]:
        """POST JSON to `/_emulator/<path>`; (status, JSON)."""
        return inspect_post(emulator or self.emulator, path, body)

    def stored(self, sid: str) -> dict[str, Any]:
        """The emulator's inspection view of message `sid`."""
        found = [m for m in self.inspect("messages")["messages"] if m["sid"] == sid]
        assert found, f"{sid} is not in the emulator's store"
        return found[0]  # type: ignore[no-any-return]

    def deliveries(self, sid: str) -> list[dict[str, Any]]:
        """Every webhook attempt the emulator recorded for `sid`."""
        return self.inspect(f"callbacks?sid={sid}")["callbacks"]  # type: ignore[no-any-return]

    wait_for = staticmethod(wait_for)


@pytest.fixture
def kit(emulator: EmulatorLike, twilio_tools: Any) -> Kit:
    """Test helpers bound to the (freshly reset) session emulator."""
    return Kit(emulator, twilio_tools.make_client)


@dataclass
class Received:
    """One request the sink got."""

    method: str
    url: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class CallbackSink:
    """A real HTTP server recording every request. Paths choose its answer:
    `/ok` → 200, `/status/<code>` → that code, `/sleep/<ms>` → 200 after a pause, `/auth` → a
    401 Basic challenge unless the request has an Authorization header, then 200."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)

    def url(self, path: str = "/ok") -> str:
        """Absolute URL of `path` on the sink."""
        return self.base_url + path

    def for_sid(self, sid: str) -> list[Received]:
        """Requests carrying MessageSid/CallSid `sid`, in arrival order."""
        return [
            r
            for r in list(self.received)
            if sid in (r.form.get("MessageSid"), r.form.get("CallSid"))
        ]

    def statuses(self, sid: str) -> list[str]:
        """MessageStatus values received for `sid`, in arrival order."""
        return [r.form.get("MessageStatus", "") for r in self.for_sid(sid)]


SINK = web.AppKey("sink", CallbackSink)


async def _sink_handler(request: web.Request) -> web.StreamResponse:
    sink = request.app[SINK]
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    sink.received.append(
        Received(request.method, str(request.url), request.path, dict(request.headers), form)
    )
    parts = request.path.strip("/").split("/")
    if parts[0] == "auth" and "Authorization" not in request.headers:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="sink"'})
    if parts[0] == "status" and len(parts) > 1:
        return web.Response(status=int(parts[1]))
    if parts[0] == "sleep" and len(parts) > 1:
        await asyncio.sleep(int(parts[1]) / 1000)
    return web.Response(status=200, text="")


@pytest.fixture
def sink() -> Iterator[CallbackSink]:
    """A callback sink on 127.0.0.1 (free port), served from its own thread and event loop."""
    recorder = CallbackSink()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app[SINK] = recorder
        app.router.add_route("*", "/{tail:.*}", _sink_handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        recorder.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        runner_box.append(runner)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="callback-sink", daemon=True)
    thread.start()
    assert ready.wait(10), "callback sink did not start"
    yield recorder
    asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


API_KEY_SID = "SK" + "1" * 32
API_KEY_SECRET = "emulator-api-key-secret"


@pytest.fixture(scope="module")
def flagged_emulator() -> Iterator[EmulatorProcess]:
    """An emulator started with an API key and a start-up fault: the first create answers 429."""
    emulator = start_emulator(
        "--api-key", f"{API_KEY_SID}:{API_KEY_SECRET}", "--fault-429", "1:1", name="flags"
    )
    yield emulator
    emulator.stop()
