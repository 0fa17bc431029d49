"""Fixtures for the function app's integration tests: real Azurite, the real Twilio emulator over
HTTP, and the app's HTTP functions served on a loopback port so the emulator's signed callbacks
and TwiML fetches reach `main()` for real.

Settings are environment variables set per test (monkeypatch); the per-process caches are cleared
with `shared.process_state.reset_process_state()` before and after each test. Tests that call a
function's `main()` directly, without the emulator, use `app_env` (settings from `configure` in
tests/conftest.py against the session's Azurite), `signed` requests and `read_events`.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient, TextBase64DecodePolicy

import send_call
import send_sms
import status_callback
import twiml_voice
from shared import delivery_store
from shared.app_services import app_store
from shared.delivery_store import DeliveryState
from shared.process_state import reset_process_state
from shared.storage_connection import load_storage_connection, queue_client
from tests.conftest import AUTH_TOKEN, AppEnv, Configure
from tests.webhook_calls import call_webhook, signed_request

HTTP_FUNCTIONS = {"status_callback": status_callback.main, "twiml_voice": twiml_voice.main}
CLEARED = (
    # Storage: each test gives one kind (`storage_settings`); a stray one would mix them.
    "AzureWebJobsStorage",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "TWILIO_API_KEY_SID",
    "TWILIO_API_KEY_SECRET",
    "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_REGION",
    "TWILIO_EDGE",
)


class _FunctionsHandler(BaseHTTPRequestHandler):
    """Turns an HTTP request into `func.HttpRequest`, calls the function's main(), answers."""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        main = HTTP_FUNCTIONS.get(parts.path.removeprefix("/api/"))
        if main is None:
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = func.HttpRequest(
            method=self.command,
            url=f"http://{self.headers['Host']}{self.path}",
            headers=dict(self.headers.items()),
            params=dict(parse_qsl(parts.query, keep_blank_values=True)),
            body=body,
        )
        response = call_webhook(main, request)
        payload = response.get_body() or b""
        self.send_response(response.status_code)
        if payload:
            self.send_header("Content-Type", response.mimetype or "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        """GET /api/<function>."""
        self._handle()

    def do_POST(self) -> None:
        """POST /api/<function>."""
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows failures, not every request."""


@dataclass
class App:
    """The app under test: its settings, where its HTTP functions listen, and helpers."""

    values: dict[str, str]
    emulator_url: str

    def send_sms(self, payload: dict[str, Any], *, message_id: str = "", dequeue: int = 1) -> None:
        """Run send_sms.main() on one queue message."""
        send_sms.main(_queue_message(payload, message_id, dequeue))

    def send_call(self, payload: dict[str, Any], *, message_id: str = "", dequeue: int = 1) -> None:
        """Run send_call.main() on one queue message."""
        send_call.main(_queue_message(payload, message_id, dequeue))

    def emulator(self, path: str, body: Any = None) -> Any:
        """GET (or POST `body` as JSON to) the emulator's inspection API."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.emulator_url + path,
            data=data,
            headers={"Content-Type": "application/json"},
            method="GET" if data is None else "POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    def wait_for[T](self, what: str, probe: Callable[[], T | None]) -> T:
        """Poll `probe` until it returns something truthy (see `wait_for`)."""
        return wait_for(what, probe)

    def wait_status(self, rid: str, status: str) -> DeliveryState:
        """The state of `rid` once its current status is `status`."""

        def probe() -> DeliveryState | None:
            state = app_store().get_state(rid)
            return state if state is not None and state.status == status else None

        return wait_for(f"{rid} to reach {status}", probe)

    def wait_events_until(self, status: str) -> list[dict[str, Any]]:
        """The events so far, once the one with `status` and every earlier one are published
        (queue order may differ from `sequence`)."""

        def probe() -> list[dict[str, Any]] | None:
            events = self.events()
            last = max((e["sequence"] for e in events if e["status"] == status), default=0)
            seen = {e["sequence"] for e in events}
            return events if last and seen >= set(range(1, last + 1)) else None

        return wait_for(f"an event with status {status}", probe)

    def messages_for(self, rid: str) -> list[dict[str, Any]]:
        """The emulator's messages whose status callback names request `rid`."""
        messages = self.emulator("/_emulator/messages")["messages"]
        return [m for m in messages if f"rid={rid}&" in (m["status_callback"] or "")]

    def calls_for(self, rid: str) -> list[dict[str, Any]]:
        """The emulator's calls whose status callback names request `rid`."""
        calls = self.emulator("/_emulator/calls")["calls"]
        return [c for c in calls if f"rid={rid}&" in (c["status_callback"] or "")]

    def events(self) -> list[dict[str, Any]]:
        """Every event on this test's events queue so far (peeked), as JSON."""
        queue = queue_client(
            load_storage_connection(self.values),
            self.values["EVENTS_QUEUE_NAME"],
            message_decode_policy=TextBase64DecodePolicy(),
        )
        try:
            return [json.loads(m.content) for m in queue.peek_messages(max_messages=32)]
        except ResourceNotFoundError:
            return []


def _queue_message(payload: dict[str, Any], message_id: str, dequeue: int) -> QueueMessage:
    body = json.dumps(payload).encode()
    return QueueMessage(id=message_id or uuid.uuid4().hex, body=body, dequeue_count=dequeue)


# Generous: the suite shares 2 cores with Azurite, the emulator and other test processes.
def wait_for[T](what: str, probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


@pytest.fixture
def rid() -> str:
    """A request id of this test's own."""
    return f"it-{uuid.uuid4().hex[:16]}"


def _leave_claim(
    rid: str,
    *,
    at: datetime | None = None,
    by: str | None = None,
    dequeue: int | None = None,
    **fields: Any,
) -> None:
    """The state an SMS attempt left when it claimed the send `at` (default now), by attempt
    `dequeue` of queue message `by` when given, and recorded no outcome; `fields` add to it."""
    when = at or delivery_store.now()
    claimer = {"claimed_by": by, "claimed_dequeue_count": dequeue} if by is not None else {}
    app_store().create_state(
        rid,
        {
            "channel": "sms",
            "status": "sending",
            "status_source": "local",
            "attempts": 1,
            "created_at": when,
            "claimed_at": when,
            **claimer,
            **fields,
        },
    )


@pytest.fixture
def leave_claim() -> Callable[..., None]:
    """`leave_claim(rid, at=, by=, dequeue=, **fields)`: a claim with no outcome, see
    `_leave_claim`."""
    return _leave_claim


@pytest.fixture
def functions_server() -> Iterator[str]:
    """The app's HTTP functions on a free loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FunctionsHandler)
    # Closing waits for the requests still being handled: a callback the emulator sent late
    # would otherwise be recorded after the next test's settings are in, on its events queue.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def storage_settings(storage_connection_string: str) -> dict[str, str]:
    """How the app reaches storage: a connection string (a test module may override this)."""
    return {"AzureWebJobsStorage": storage_connection_string}


@pytest.fixture
def app(
    monkeypatch: pytest.MonkeyPatch,
    storage_settings: dict[str, str],
    twilio_emulator: Any,
    functions_server: str,
) -> Iterator[App]:
    """Settings pointing the app at Azurite, the emulator and `functions_server`; clean faults."""
    suffix = uuid.uuid4().hex[:12]
    values = {
        **storage_settings,
        "TWILIO_ACCOUNT_SID": twilio_emulator.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_emulator.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": twilio_emulator.base_url,
        "TWILIO_HTTP_TIMEOUT_SECONDS": "5",
        "PUBLIC_BASE_URL": functions_server,
        "EVENTS_QUEUE_NAME": f"events-{suffix}",
        "DELIVERIES_TABLE_NAME": f"deliveries{suffix}",
    }
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    reset_process_state()
    running = App(values, twilio_emulator.base_url)
    running.emulator("/_emulator/faults", {})
    yield running
    running.emulator("/_emulator/faults", {})
    reset_process_state()


@pytest.fixture
def app_env(configure: Configure, storage_connection_string: str) -> AppEnv:
    """Valid settings against the session's Azurite, with this test's own table and queue."""
    return configure(storage_connection_string)


Signer = Callable[..., func.HttpRequest]


@pytest.fixture
def signed() -> Signer:
    """`signed(method, public_url, form, worker_url=, token=, signature=)`: see
    `tests.webhook_calls.signed_request`; signed with the test settings' auth token unless
    `token` says otherwise."""
    return partial(signed_request, token=AUTH_TOKEN)


@pytest.fixture
def read_events(app_env: AppEnv) -> Callable[[], list[dict[str, Any]]]:
    """Every event on this test's events queue so far (peeked, oldest first), as JSON."""

    def read() -> list[dict[str, Any]]:
        queue = QueueClient.from_connection_string(
            app_env.values["AzureWebJobsStorage"],
            app_env.events_queue,
            message_decode_policy=TextBase64DecodePolicy(),
        )
        try:
            return [json.loads(m.content) for m in queue.peek_messages(max_messages=32)]
        except ResourceNotFoundError:
            return []

    return read
