"""REST auth with an API key (TWILIO_API_KEY_SID/SECRET) against an emulator that knows the key."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.twilio_api.process import start_emulator
from shared.app_services import app_store
from shared.failure_classes import ClassifiedError, FailureClass
from shared.process_state import reset_process_state

KEY_SID = "SK" + "5" * 32
KEY_SECRET = "api-key-secret"


@pytest.fixture(scope="module")
def keyed_emulator() -> Iterator[str]:
    """A second emulator that also accepts the API key `KEY_SID`/`KEY_SECRET`."""
    emulator = start_emulator("--api-key", f"{KEY_SID}:{KEY_SECRET}", name="api-key")
    yield emulator.base_url
    emulator.stop()


def _use(monkeypatch: pytest.MonkeyPatch, base_url: str, secret: str) -> None:
    monkeypatch.setenv("TWILIO_API_BASE_URL", base_url)
    monkeypatch.setenv("TWILIO_API_KEY_SID", KEY_SID)
    monkeypatch.setenv("TWILIO_API_KEY_SECRET", secret)
    reset_process_state()


def test_sms_is_sent_with_the_api_key(
    app: Any, rid: str, keyed_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, keyed_emulator, KEY_SECRET)
    app.send_sms({"id": rid, "to": "+15551230003", "body": "sent with an API key"})
    state = app_store().get_state(rid)
    with urllib.request.urlopen(f"{keyed_emulator}/_emulator/messages", timeout=10) as answer:
        messages = json.loads(answer.read())["messages"]
    sids = [m["sid"] for m in messages if f"rid={rid}&" in (m["status_callback"] or "")]
    assert state is not None
    assert sids == [state.twilio_sid]


def test_a_wrong_api_key_secret_is_a_configuration_error(
    app: Any, rid: str, keyed_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, keyed_emulator, "wrong-secret")
    with pytest.raises(ClassifiedError) as caught:
        app.send_sms({"id": rid, "to": "+15551230003", "body": "x"})
    assert caught.value.failure_class == FailureClass.CONFIGURATION
