"""The emulator's start-up settings (`EmulatorConfig`) and the command line that builds them
(`__main__.parse_args`): credentials from flags, the environment, or the defaults."""

from __future__ import annotations

import pytest

from emulators.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_PORT,
    DEFAULT_TEST_ACCOUNT_SID,
)
from emulators.twilio_api.__main__ import parse_args
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.faults import FaultRule

SID = "AC0123456789abcdef0123456789abcdef"


def test_defaults_without_flags_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_EMULATOR_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_EMULATOR_AUTH_TOKEN", raising=False)
    config = parse_args([])
    assert (config.account_sid, config.auth_token) == (DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)


def test_environment_supplies_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_EMULATOR_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_EMULATOR_AUTH_TOKEN", "from-env")
    config = parse_args([])
    assert (config.account_sid, config.auth_token) == (SID, "from-env")


def test_flags_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_EMULATOR_AUTH_TOKEN", "from-env")
    assert parse_args(["--auth-token", "from-flag"]).auth_token == "from-flag"


def test_config_defaults_are_loopback_and_realistic_pacing() -> None:
    config = EmulatorConfig()
    assert (config.host, config.port) == ("127.0.0.1", DEFAULT_PORT)
    assert (config.speed, config.cps) == (1.0, 1.0)
    assert config.test_account_sid == DEFAULT_TEST_ACCOUNT_SID != config.account_sid
    assert config.api_keys == {}
    assert config.faults.error_429 == FaultRule()


def test_configs_do_not_share_mutable_defaults() -> None:
    first, second = EmulatorConfig(), EmulatorConfig()
    first.api_keys["SK1"] = "secret"
    first.faults.error_500.rate = 1.0
    assert second.api_keys == {}
    assert second.faults.error_500.rate == 0.0


def test_fault_flags_speed_and_api_keys_reach_the_config() -> None:
    config = parse_args(
        [
            "--speed",
            "50",
            "--fault-429",
            "1:2",
            "--api-key",
            "SKabc:shh",
            "--concurrency-limit",
            "3",
        ]
    )
    assert config.speed == 50.0
    assert config.faults.error_429 == FaultRule(rate=1.0, count=2)
    assert config.api_keys == {"SKabc": "shh"}
    assert config.faults.concurrency_limit == 3


def test_a_speed_that_is_not_positive_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--speed", "0"])
