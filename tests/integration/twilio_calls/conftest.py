"""Fixtures for the Calls API tests: a real aiohttp web server on 127.0.0.1 that serves TwiML and
records every request (TwiML fetches, Gather/Record/Dial actions, status callbacks), test helpers,
and a second emulator with a slow CPS for the dial-queue tests. The reset session emulator and the
twilio client come from `tests/integration/conftest.py`."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from emulators.twilio_api.process import EmulatorProcess, start_emulator

REPO_ROOT = Path(__file__).resolve().parents[3]
WAIT_SECONDS = 10.0
ENDED = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})

type Page = str | VoiceResponse | Callable[[dict[str, str]], str | VoiceResponse]


class EmulatorLike(Protocol):
    """What the tests need from a running emulator (the session fixture's object fits)."""

    base_url: str
    account_sid: str
    auth_token: str


@dataclass(frozen=True)
class Hit:
    """One request the web server received."""

    method: str
    url: str
    path: str
    params: dict[str, str]
    signature: str
    idempotency_token: str


class WebServer:
    """Serves TwiML pages the test sets and records every request, on its own thread and loop."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def start(self) -> None:
        """Start serving on a free loopback port."""
        ready = threading.Event()

        async def boot() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(boot())
            self._loop.run_forever()

        threading.Thread(target=run, name="twiml-server", daemon=True).start()
        assert ready.wait(10), "the TwiML test server did not start"

    def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _handle(self, request: web.Request) -> web.Response:
        params = dict(await request.post()) if request.method == "POST" else {}
        hit = Hit(
            method=request.method,
            # The URL exactly as requested (raw query): what Twilio signed.
            url=f"{request.scheme}://{request.host}{request.raw_path}",
            path=request.path,
            params={k: str(v) for k, v in params.items()},
            signature=request.headers.get("X-Twilio-Signature", ""),
            idempotency_token=request.headers.get("I-Twilio-Idempotency-Token", ""),
        )
        with self._lock:
            self.hits.append(hit)
            page = self.pages.get(request.path)
        if request.path.startswith("/status"):
            return web.Response(status=204)
        if page is None:
            return web.Response(status=404, text="no such page")
        all_params = {**dict(request.query), **hit.params}
        body = page(all_params) if callable(page) else page
        return web.Response(text=str(body), content_type="text/xml")

    def reset(self) -> None:
        """Forget pages and recorded requests."""
        with self._lock:
            self.pages.clear()
            self.hits.clear()

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this server."""
        return self.base_url + path

    def page(self, path: str, body: Page) -> str:
        """Serve `body` (TwiML, or a function of the request params) at `path`; return its URL."""
        with self._lock:
            self.pages[path] = body
        return self.url(path)

    def requests(self, path: str) -> list[Hit]:
        """Requests received for `path` so far."""
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]


class Kit:
    """Helpers for the tests (test modules cannot import conftest under importlib mode)."""

    def __init__(self, emulator: EmulatorLike, server: WebServer) -> None:
        self.emulator = emulator
        self.server = server
        self.validator = RequestValidator(emulator.auth_token)

    def get(self, path: str) -> Any:
        """GET `/_emulator/<path>` as JSON."""
        url = f"{self.emulator.base_url}/_emulator/{path}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        """POST JSON to `/_emulator/<path>`; (status, JSON)."""
        request = urllib.request.Request(
            f"{self.emulator.base_url}/_emulator/{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def callee(self, **script: Any) -> None:
        """Set a callee script through `POST /_emulator/callees`."""
        status, body = self.post("callees", script)
        assert status == 200, body

    def view(self, sid: str) -> dict[str, Any]:
        """The emulator's inspection view of call `sid` (transcript, digits, callbacks)."""
        return self.get(f"calls/{sid}")  # type: ignore[no-any-return]

    def wait_ended(self, sid: str) -> dict[str, Any]:
        """Wait until call `sid` has a final status; return its inspection view."""
        return wait_for(
            lambda: (view := self.view(sid))["status"] in ENDED and view, f"call {sid} to end"
        )

    def wait_status(self, sid: str, status: str) -> dict[str, Any]:
        """Wait until call `sid` has `status`."""
        return wait_for(
            lambda: (view := self.view(sid))["status"] == status and view,
            f"call {sid} to be {status}",
        )

    def callbacks(self, path: str, count: int) -> list[Hit]:
        """Wait for `count` requests to `path` on the web server; return them by SequenceNumber."""
        hits = wait_for(
            lambda: len(found := self.server.requests(path)) >= count and found,
            f"{count} callbacks on {path}",
        )
        return sorted(hits, key=lambda hit: int(hit.params.get("SequenceNumber", "0")))

    def signed(self, hit: Hit) -> bool:
        """Whether `hit` carries a valid X-Twilio-Signature for the emulator's auth token."""
        return bool(self.validator.validate(hit.url, hit.params, hit.signature))


def wait_for[T](probe: Callable[[], T | bool | None], what: str) -> T:
    """Poll `probe` until it returns something truthy; fail saying `what` never happened."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = probe()
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(scope="module")
def web_server() -> Iterator[WebServer]:
    """One TwiML/callback server for the module."""
    server = WebServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(web_server: WebServer) -> WebServer:
    """The module's web server with no pages and no recorded requests."""
    web_server.reset()
    return web_server


@pytest.fixture
def kit(emulator: EmulatorLike, server: WebServer) -> Kit:
    """Helpers bound to the session emulator and the web server."""
    return Kit(emulator, server)


@pytest.fixture(scope="module")
def slow_cps_emulator() -> Iterator[EmulatorProcess]:
    """An emulator dialling one call every 100 emulated seconds (0.5 s real) for the dial-queue
    tests."""
    emulator = start_emulator("--cps", "0.01", name="slow-cps")
    yield emulator
    emulator.stop()


@pytest.fixture
def slow_cps(
    slow_cps_emulator: EmulatorProcess, server: WebServer, twilio_tools: Any
) -> tuple[Client, Kit]:
    """A client and helpers on the slow-CPS emulator, its state reset for this test."""
    twilio_tools.reset_emulator(slow_cps_emulator)
    return twilio_tools.make_client(slow_cps_emulator), Kit(slow_cps_emulator, server)
