"""maxDequeueCount: host.json, overridden by the app setting the host honours too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import host_config
from shared.process_state import reset_process_state


def _from_host_json() -> int:
    config = json.loads(host_config.HOST_JSON.read_text(encoding="utf-8"))
    return int(config["extensions"]["queues"]["maxDequeueCount"])


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    reset_process_state()
    yield
    reset_process_state()


def test_host_json_gives_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(host_config.MAX_DEQUEUE_COUNT_SETTING, raising=False)
    assert host_config.max_dequeue_count() == _from_host_json()


def test_the_app_setting_overrides_host_json(monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = _from_host_json() + 3
    monkeypatch.setenv(host_config.MAX_DEQUEUE_COUNT_SETTING, str(wanted))
    assert host_config.max_dequeue_count() == wanted


@pytest.mark.parametrize("value", ["", "zero", "0", "-2"])
def test_an_unusable_override_is_ignored(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(host_config.MAX_DEQUEUE_COUNT_SETTING, value)
    assert host_config.max_dequeue_count() == _from_host_json()


def test_an_override_with_spaces_around_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(host_config.MAX_DEQUEUE_COUNT_SETTING, " 9 ")
    assert host_config.max_dequeue_count() == 9


def test_the_count_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(host_config.MAX_DEQUEUE_COUNT_SETTING, "4")
    assert host_config.max_dequeue_count() == 4
    monkeypatch.setenv(host_config.MAX_DEQUEUE_COUNT_SETTING, "6")
    assert host_config.max_dequeue_count() == 4


def test_host_json_is_the_repositorys_own() -> None:
    assert Path(__file__).resolve().parents[3] / "host.json" == host_config.HOST_JSON
