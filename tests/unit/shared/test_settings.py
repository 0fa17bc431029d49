"""Settings: read once, defaults, a failure that names the bad setting, and SETTING_NAMES being
exactly the set of settings `load_settings` reads."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from shared.process_state import reset_process_state
from shared.settings import (
    MIN_STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES,
    SETTING_NAMES,
    SettingsError,
    get_settings,
    load_settings,
)

VALID = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "PUBLIC_BASE_URL": "https://app.example.test:8443/",
}


def test_defaults_apply_when_optional_settings_are_absent() -> None:
    settings = load_settings(VALID)
    assert settings.sms_queue_name == "sms-requests"
    assert settings.call_queue_name == "call-requests"
    assert settings.events_queue_name == "delivery-events"
    assert settings.deliveries_table_name == "deliveries"
    assert settings.twilio_http_timeout_seconds == 10.0
    assert settings.twilio_api_base_url is None
    assert settings.public_base_url == "https://app.example.test:8443"
    assert settings.status_sweep_schedule == "0 */1 * * * *"
    assert settings.status_sweep_backoff_seconds == (60, 300, 1800, 7200, 21600)
    assert settings.status_sweep_max_age_hours == 72
    assert settings.status_sweep_max_deliveries == 200
    assert settings.status_sweep_claim_timeout_minutes == 60


def test_status_sweep_settings_are_read() -> None:
    settings = load_settings(
        {
            **VALID,
            "STATUS_SWEEP_SCHEDULE": "*/2 * * * * *",
            "STATUS_SWEEP_BACKOFF_SECONDS": "1, 2.5,4",
            "STATUS_SWEEP_MAX_AGE_HOURS": "0.5",
            "STATUS_SWEEP_MAX_DELIVERIES": "7",
            "STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES": "5",
        }
    )
    assert settings.status_sweep_schedule == "*/2 * * * * *"
    assert settings.status_sweep_backoff_seconds == (1, 2.5, 4)
    assert settings.status_sweep_max_age_hours == 0.5
    assert settings.status_sweep_max_deliveries == 7
    assert settings.status_sweep_claim_timeout_minutes == 5


@pytest.mark.parametrize(
    "missing", ["AzureWebJobsStorage", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"]
)
def test_a_missing_setting_is_named(missing: str) -> None:
    env = {name: value for name, value in VALID.items() if name != missing}
    with pytest.raises(SettingsError, match=missing):
        load_settings(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TWILIO_ACCOUNT_SID", "SK" + "a" * 32),
        ("TWILIO_FROM_NUMBER", "5551234"),
        ("PUBLIC_BASE_URL", "ftp://app.example.test"),
        ("PUBLIC_BASE_URL", "https://app.example.test/?code=1"),
        ("TWILIO_API_BASE_URL", "127.0.0.1:8701"),
        ("TWILIO_HTTP_TIMEOUT_SECONDS", "ten"),
        ("TWILIO_HTTP_TIMEOUT_SECONDS", "0"),
        ("SMS_QUEUE_NAME", "SMS_Requests"),
        ("DELIVERIES_TABLE_NAME", "de-liveries"),
        ("TWILIO_MESSAGING_SERVICE_SID", "MG123"),
        ("STATUS_SWEEP_SCHEDULE", "*/5 * * * *x y z"),
        ("STATUS_SWEEP_SCHEDULE", "every minute"),
        ("STATUS_SWEEP_BACKOFF_SECONDS", "60,,300"),
        ("STATUS_SWEEP_BACKOFF_SECONDS", "60,-1"),
        ("STATUS_SWEEP_MAX_AGE_HOURS", "inf"),
        ("STATUS_SWEEP_MAX_AGE_HOURS", "nan"),
        ("STATUS_SWEEP_MAX_DELIVERIES", "2.5"),
        ("STATUS_SWEEP_MAX_DELIVERIES", "0"),
        ("STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES", "soon"),
        ("STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES", "4.9"),
    ],
)
def test_a_malformed_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**VALID, name: value})


def test_api_key_needs_both_halves() -> None:
    with pytest.raises(SettingsError, match="TWILIO_API_KEY_SECRET"):
        load_settings({**VALID, "TWILIO_API_KEY_SID": "SK" + "b" * 32})
    settings = load_settings(
        {**VALID, "TWILIO_API_KEY_SID": "SK" + "b" * 32, "TWILIO_API_KEY_SECRET": "s"}
    )
    assert settings.twilio_api_key_secret == "s"


def test_settings_are_cached_until_reset(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in VALID.items():
        clean_env.setenv(name, value)
    first = get_settings()
    clean_env.setenv("TWILIO_AUTH_TOKEN", "changed")
    assert get_settings() is first
    reset_process_state()
    assert get_settings().twilio_auth_token == "changed"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TWILIO_ACCOUNT_SID", "my-auth-token-0123456789abcdef"),  # the token pasted in
        ("TWILIO_API_KEY_SID", "my-key-secret-0123456789abcdef"),
        ("PUBLIC_BASE_URL", "ftp://admin:my-password@app.example.test"),
        ("PUBLIC_BASE_URL", "https://app.example.test/?code=my-function-key"),
        ("TWILIO_API_BASE_URL", "127.0.0.1:8701/?token=my-secret"),
    ],
)
def test_a_setting_error_never_shows_a_secret(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name) as caught:
        load_settings({**VALID, name: value})
    assert "my-" not in str(caught.value)


def test_a_setting_error_shows_a_harmless_value() -> None:
    with pytest.raises(SettingsError, match="'5551234'"):
        load_settings({**VALID, "TWILIO_FROM_NUMBER": "5551234"})


def test_the_claim_timeout_is_not_shorter_than_the_function_timeout() -> None:
    """host.json's functionTimeout is the floor the settings check assumes."""
    host = json.loads((Path(__file__).resolve().parents[3] / "host.json").read_text("utf-8"))
    hours, minutes, seconds = (int(part) for part in host["functionTimeout"].split(":"))
    function_timeout = hours * 60 + minutes + seconds / 60
    assert function_timeout == MIN_STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES


class _RecordingEnv(Mapping[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._values[name]

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(name)
        return self._values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


APP = {name: value for name, value in VALID.items() if name != "AzureWebJobsStorage"}


@pytest.mark.parametrize(
    "storage",
    [
        {"AzureWebJobsStorage": "UseDevelopmentStorage=true"},
        {
            "AzureWebJobsStorage__queueServiceUri": "https://a.queue.core.windows.net",
            "AzureWebJobsStorage__tableServiceUri": "https://a.table.core.windows.net",
            "AzureWebJobsStorage__credential": "managedidentity",
        },
    ],
    ids=["connection-string", "identity"],
)
def test_setting_names_are_exactly_what_load_settings_reads(storage: dict[str, str]) -> None:
    env = _RecordingEnv({**APP, **storage})
    load_settings(env)
    assert env.read == SETTING_NAMES


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("abc", True),
        ("a-b-c", True),
        ("x" * 63, True),
        ("ab", False),
        ("x" * 64, False),
        ("a--b", False),
        ("-ab", False),
        ("ab-", False),
        ("Abc", False),
    ],
)
def test_queue_names_follow_the_storage_rules(value: str, valid: bool) -> None:
    env = {**VALID, "CALL_QUEUE_NAME": value}
    if valid:
        assert load_settings(env).call_queue_name == value
    else:
        with pytest.raises(SettingsError, match="CALL_QUEUE_NAME"):
            load_settings(env)


@pytest.mark.parametrize(
    ("value", "valid"),
    [("Deliveries2", True), ("abc", True), ("ab", False), ("2deliveries", False)],
)
def test_table_names_follow_the_storage_rules(value: str, valid: bool) -> None:
    env = {**VALID, "DELIVERIES_TABLE_NAME": value}
    if valid:
        assert load_settings(env).deliveries_table_name == value
    else:
        with pytest.raises(SettingsError, match="DELIVERIES_TABLE_NAME"):
            load_settings(env)


def test_a_timespan_schedule_is_accepted_as_the_host_reads_it() -> None:
    settings = load_settings({**VALID, "STATUS_SWEEP_SCHEDULE": "00:05:00"})
    assert settings.status_sweep_schedule == "00:05:00"
