"""Fixtures for the function app's unit tests: per-test settings and signed webhook requests.

Settings are environment variables set per test with monkeypatch; the per-process caches
(settings, Twilio client, storage clients) are cleared with
`shared.process_state.reset_process_state()` before and after each test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import azure.functions as func
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy
from twilio.request_validator import RequestValidator

from shared.process_state import reset_process_state
from shared.settings import SETTING_NAMES

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "unit-test-auth-token"


@dataclass
class AppEnv:
    """The settings a test runs with."""

    values: dict[str, str]

    @property
    def table_name(self) -> str:
        return self.values["DELIVERIES_TABLE_NAME"]

    @property
    def events_queue(self) -> str:
        return self.values["EVENTS_QUEUE_NAME"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No app setting (and no TWILIO_REGION/EDGE) in the environment; caches reset."""
    for name in (*sorted(SETTING_NAMES), "TWILIO_REGION", "TWILIO_EDGE"):
        monkeypatch.delenv(name, raising=False)
    reset_process_state()
    yield monkeypatch
    reset_process_state()


def base_values(storage: str) -> dict[str, str]:
    """A complete, valid set of settings with a fresh table and events queue."""
    suffix = uuid.uuid4().hex[:12]
    return {
        "AzureWebJobsStorage": storage,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        # Nothing listens here: a test that reaches Twilio by mistake fails at once.
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "TWILIO_HTTP_TIMEOUT_SECONDS": "2",
        "PUBLIC_BASE_URL": "https://app.example.test",
        "EVENTS_QUEUE_NAME": f"events-{suffix}",
        "DELIVERIES_TABLE_NAME": f"deliveries{suffix}",
    }


Configure = Callable[..., AppEnv]


@pytest.fixture
def configure(clean_env: pytest.MonkeyPatch) -> Configure:
    """`configure(storage, **overrides)`: set valid settings (plus overrides) for this test."""

    def apply(storage: str = "UseDevelopmentStorage=true", **overrides: str) -> AppEnv:
        values = {**base_values(storage), **overrides}
        for name, value in values.items():
            clean_env.setenv(name, value)
        reset_process_state()
        return AppEnv(values)

    return apply


@pytest.fixture
def app_env(configure: Configure, storage_connection_string: str) -> AppEnv:
    """Valid settings against the session's Azurite, with this test's own table and queue."""
    return configure(storage_connection_string)


Signer = Callable[..., func.HttpRequest]


@pytest.fixture
def signed() -> Signer:
    """`signed(method, public_url, form, worker_url=, token=, signature=)`: see `signed_request`."""
    return signed_request


def signed_request(
    method: str,
    public_url: str,
    form: dict[str, str] | None = None,
    *,
    worker_url: str | None = None,
    token: str = AUTH_TOKEN,
    signature: str | None = None,
) -> func.HttpRequest:
    """A request as the worker sees it at `worker_url` (default `public_url`), signed for
    `public_url` the way Twilio signs (unless `signature` is given; "" sends none)."""
    fields = form or {}
    if signature is None:
        signature = RequestValidator(token).compute_signature(public_url, fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature:
        headers["X-Twilio-Signature"] = signature
    seen = worker_url or public_url
    return func.HttpRequest(
        method=method,
        url=seen,
        headers=headers,
        params=dict(parse_qsl(urlsplit(seen).query, keep_blank_values=True)),
        body=urlencode(fields).encode() if method == "POST" else b"",
    )


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
