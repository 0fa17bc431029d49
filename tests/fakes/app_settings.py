"""App settings for pure unit tests: a complete, valid set in the environment, the process
caches reset before and after (the store and publisher are injected, so the storage connection
is never used)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.host_config import MAX_DEQUEUE_COUNT_SETTING
from shared.process_state import reset_process_state
from shared.settings import SETTING_NAMES

ACCOUNT_SID = "AC" + "1" * 32
PUBLIC_BASE_URL = "https://app.example.test"


def valid_settings(**overrides: str) -> dict[str, str]:
    """Every setting the app needs (plus `overrides`); storage and Twilio point nowhere real."""
    return {
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": "unit-test-auth-token",
        "TWILIO_FROM_NUMBER": "+15005550006",
        # Nothing listens here: a test that reaches Twilio by mistake fails at once.
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "TWILIO_HTTP_TIMEOUT_SECONDS": "2",
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "EVENTS_QUEUE_NAME": "events-unit",
        "DELIVERIES_TABLE_NAME": "deliveriesunit",
        **overrides,
    }


def use_settings(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> dict[str, str]:
    """Set `valid_settings(**overrides)` (and nothing else the app reads) for this test."""
    for name in (*sorted(SETTING_NAMES), MAX_DEQUEUE_COUNT_SETTING, "TWILIO_REGION", "TWILIO_EDGE"):
        monkeypatch.delenv(name, raising=False)
    values = valid_settings(**overrides)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    reset_process_state()
    return values


def settings_for_test(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> Iterator[None]:
    """The body of a test module's fixture: valid settings during the test, caches reset after
    (`yield from settings_for_test(monkeypatch)`)."""
    use_settings(monkeypatch, **overrides)
    yield
    reset_process_state()
