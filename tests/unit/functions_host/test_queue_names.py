"""Queue names like the Storage Queues extension: lower-cased and validated for bindings, and no
poison queue where `<queue>-poison` would be invalid or the queue already is a poison queue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulators.functions_host.function_metadata import FunctionConfigError, parse_function
from emulators.functions_host.output_bindings import plan_outputs
from emulators.functions_host.queue_names import (
    InvalidQueueNameError,
    normalize_queue_name,
    poison_queue_name,
)

CONNECTION = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}


def test_poison_queue_name_up_to_the_length_limit() -> None:
    name = "q" * 56  # 56 + len("-poison") == 63, the longest valid queue name
    assert poison_queue_name(name) == name + "-poison"


def test_no_poison_queue_when_the_suffix_makes_the_name_too_long() -> None:
    assert poison_queue_name("q" * 57) is None
    assert poison_queue_name("q" * 63) is None


def test_no_poison_queue_for_a_poison_queue() -> None:
    assert poison_queue_name("sms-requests-poison") is None


def test_names_are_lower_cased_then_validated() -> None:
    assert normalize_queue_name("SMS-Requests") == "sms-requests"
    for bad in ("ab", "q" * 64, "-leading", "trailing-", "double--hyphen", "under_score"):
        with pytest.raises(InvalidQueueNameError):
            normalize_queue_name(bad)


def test_binding_expressions_are_refused_clearly() -> None:
    with pytest.raises(InvalidQueueNameError, match="binding expression"):
        normalize_queue_name("out-{rand-guid}")


def function_with_queue_output(tmp_path: Path, queue_name: str) -> Path:
    folder = tmp_path / "forward"
    folder.mkdir()
    bindings = [
        {"name": "msg", "type": "queueTrigger", "direction": "in", "queueName": "in-queue"},
        {"name": "outbox", "type": "queue", "direction": "out", "queueName": queue_name},
    ]
    (folder / "function.json").write_text(json.dumps({"bindings": bindings}), encoding="utf-8")
    return folder


def test_output_queue_name_is_resolved_and_lower_cased(tmp_path: Path) -> None:
    spec = parse_function(function_with_queue_output(tmp_path, "%OUT_QUEUE%"))
    (target,) = plan_outputs(spec, {**CONNECTION, "OUT_QUEUE": "Delivery-Events"})
    assert target.target == "delivery-events"


def test_invalid_output_queue_name_stops_startup_naming_the_setting(tmp_path: Path) -> None:
    spec = parse_function(function_with_queue_output(tmp_path, "%OUT_QUEUE%"))
    with pytest.raises(FunctionConfigError) as caught:
        plan_outputs(spec, {**CONNECTION, "OUT_QUEUE": "x" * 64})
    message = str(caught.value)
    assert "function 'forward'" in message
    assert "binding 'outbox'" in message
    assert "%OUT_QUEUE%" in message
    assert "not a valid queue name" in message
