"""Where the producer's connection string and names come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from producer.errors import InvalidInputError
from producer.settings import DEVELOPMENT_STORAGE, load_settings


def _write_local_settings(directory: Path, values: dict[str, str]) -> None:
    (directory / "local.settings.json").write_text(json.dumps({"Values": values}))


def test_option_beats_environment_beats_local_settings(tmp_path: Path) -> None:
    _write_local_settings(tmp_path, {"AzureWebJobsStorage": "from-file"})
    env = {"AzureWebJobsStorage": "from-env"}
    assert load_settings("from-option", environ=env, directory=tmp_path).connection_string == (
        "from-option"
    )
    assert load_settings(None, environ=env, directory=tmp_path).connection_string == "from-env"
    assert load_settings(None, environ={}, directory=tmp_path).connection_string == "from-file"


def test_azurite_default_without_any_setting(tmp_path: Path) -> None:
    settings = load_settings(None, environ={}, directory=tmp_path)
    assert settings.connection_string == DEVELOPMENT_STORAGE
    assert (settings.sms_queue, settings.call_queue) == ("sms-requests", "call-requests")
    assert (settings.events_queue, settings.deliveries_table) == ("delivery-events", "deliveries")


def test_names_from_environment_then_local_settings(tmp_path: Path) -> None:
    _write_local_settings(tmp_path, {"SMS_QUEUE_NAME": "file-sms", "CALL_QUEUE_NAME": "file-call"})
    settings = load_settings(None, environ={"SMS_QUEUE_NAME": "env-sms"}, directory=tmp_path)
    assert (settings.sms_queue, settings.call_queue) == ("env-sms", "file-call")


def test_broken_local_settings_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text("{")
    with pytest.raises(InvalidInputError, match=r"local\.settings\.json"):
        load_settings(None, environ={}, directory=tmp_path)
