"""The emulator's command line: credentials from flags, the environment, or the defaults."""

from __future__ import annotations

import pytest

from emulators.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from emulators.twilio_api.__main__ import parse_args

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
