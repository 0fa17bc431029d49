"""local.settings.example.json: every app setting, pointing at the local emulators."""

from __future__ import annotations

import json
from pathlib import Path

from emulators.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_PORT
from shared.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = json.loads((REPO / "local.settings.example.json").read_text(encoding="utf-8"))


def test_example_holds_every_setting_and_loads() -> None:
    values = EXAMPLE["Values"]
    settings = load_settings(values)
    assert isinstance(settings, Settings)
    for name in (
        "AzureWebJobsStorage",
        "TWILIO_API_KEY_SID",
        "TWILIO_API_KEY_SECRET",
        "TWILIO_MESSAGING_SERVICE_SID",
        "TWILIO_HTTP_TIMEOUT_SECONDS",
        "SMS_QUEUE_NAME",
        "CALL_QUEUE_NAME",
        "EVENTS_QUEUE_NAME",
        "DELIVERIES_TABLE_NAME",
    ):
        assert name in values, name
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"


def test_example_points_at_the_local_emulators() -> None:
    values = EXAMPLE["Values"]
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["TWILIO_ACCOUNT_SID"] == DEFAULT_ACCOUNT_SID
    assert values["TWILIO_AUTH_TOKEN"] == DEFAULT_AUTH_TOKEN
    assert values["TWILIO_API_BASE_URL"] == f"http://127.0.0.1:{DEFAULT_PORT}"
    assert values["PUBLIC_BASE_URL"] == f"http://127.0.0.1:{EXAMPLE['Host']['LocalHttpPort']}"
