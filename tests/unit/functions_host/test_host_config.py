"""host.json parsing: the Storage Queues extension's defaults, limits and TimeSpans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulators.functions_host.host_config import (
    HostConfigError,
    load_host_config,
    parse_host_config,
    parse_timespan,
)


def test_defaults_are_the_extensions_not_schemastores() -> None:
    config = parse_host_config({"version": "2.0"}, processor_count=2)
    queues = config.queues
    assert queues.batch_size == 16
    assert queues.new_batch_threshold == 16  # (16 / 2) x 2 processors
    assert queues.max_dequeue_count == 5
    assert queues.visibility_timeout == 0.0
    assert queues.max_polling_interval == 60.0
    assert queues.message_encoding == "base64"
    assert config.route_prefix == "api"


def test_explicit_queue_settings_are_used() -> None:
    document = {
        "version": "2.0",
        "extensions": {
            "queues": {
                "batchSize": 4,
                "newBatchThreshold": 1,
                "maxDequeueCount": 3,
                "visibilityTimeout": "00:00:30",
                "maxPollingInterval": "00:00:00.5",
                "messageEncoding": "None",
            },
            "http": {"routePrefix": "/v1/"},
        },
    }
    config = parse_host_config(document, processor_count=8)
    assert config.queues.batch_size == 4
    assert config.queues.new_batch_threshold == 1
    assert config.queues.max_dequeue_count == 3
    assert config.queues.visibility_timeout == 30.0
    assert config.queues.max_polling_interval == 0.5
    assert config.queues.message_encoding == "none"
    assert config.route_prefix == "v1"


def test_new_batch_threshold_default_follows_batch_size_and_cpus() -> None:
    document = {"version": "2.0", "extensions": {"queues": {"batchSize": 5}}}
    assert parse_host_config(document, processor_count=3).queues.new_batch_threshold == 6


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:00:00", 0.0),
        ("00:00:00.2", 0.2),
        ("00:01:30", 90.0),
        ("01:00:00", 3600.0),
        ("1.00:00:01", 86401.0),
        ("00:00:01.2500000", 1.25),
    ],
)
def test_timespans(text: str, seconds: float) -> None:
    assert parse_timespan(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("queues", "fragment"),
    [
        ({"batchSize": 0}, "batchSize"),
        ({"batchSize": 33}, "batchSize"),
        ({"batchSize": "16"}, "batchSize"),
        ({"maxDequeueCount": 0}, "maxDequeueCount"),
        ({"messageEncoding": "utf8"}, "messageEncoding"),
        ({"visibilityTimeout": "30s"}, "TimeSpan"),
        ({"visibilityTimeout": 30}, "visibilityTimeout"),
        ({"maxPollingInterval": "00:00:00.05"}, "maxPollingInterval"),
    ],
)
def test_invalid_queue_settings_are_rejected(queues: dict[str, object], fragment: str) -> None:
    with pytest.raises(HostConfigError, match=fragment):
        parse_host_config({"version": "2.0", "extensions": {"queues": queues}}, processor_count=1)


def test_version_2_is_required() -> None:
    with pytest.raises(HostConfigError, match="version"):
        parse_host_config({"extensions": {}}, processor_count=1)


def test_app_settings_override_host_json(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        json.dumps(
            {
                "version": "2.0",
                "extensions": {"queues": {"maxDequeueCount": 5, "visibilityTimeout": "00:00:30"}},
            }
        ),
        encoding="utf-8",
    )
    settings = {
        "AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "3",
        "AzureFunctionsJobHost__Extensions__Queues__VisibilityTimeout": "00:00:02",
        "AzureFunctionsJobHost__extensions__queues__batchSize": "4",
        "UNRELATED": "1",
    }
    queues = load_host_config(tmp_path, settings).queues
    assert (queues.max_dequeue_count, queues.visibility_timeout, queues.batch_size) == (3, 2.0, 4)


def test_without_overrides_host_json_stands(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"queues": {"maxDequeueCount": 7}}}),
        encoding="utf-8",
    )
    assert load_host_config(tmp_path, {}).queues.max_dequeue_count == 7
