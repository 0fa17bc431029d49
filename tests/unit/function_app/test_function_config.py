"""host.json against SchemaStore's schema; every function.json against its main()."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema.exceptions import best_match

REPO = Path(__file__).resolve().parents[3]
# Vendored copy of SchemaStore's host.json schema (see tests/schemas/README.md).
HOST_SCHEMA = REPO / "tests" / "schemas" / "host.schema.json"
FUNCTIONS = ("send_sms", "send_call", "twiml_voice", "status_callback", "status_sweeper")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _host_errors(host: dict[str, Any]) -> str | None:
    error = best_match(jsonschema.Draft7Validator(_json(HOST_SCHEMA)).iter_errors(host))
    return None if error is None else f"{'/'.join(map(str, error.path))}: {error.message}"


def test_host_json_is_valid_against_the_schemastore_schema() -> None:
    assert _host_errors(_json(REPO / "host.json")) is None


def test_the_schema_check_catches_a_typo() -> None:
    host = _json(REPO / "host.json")
    host["extensions"]["queues"]["bachSize"] = 16
    assert "bachSize" in (_host_errors(host) or "")


def test_host_json_queue_settings_are_set_on_purpose() -> None:
    host = _json(REPO / "host.json")
    queues = host["extensions"]["queues"]
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)"
    assert queues["messageEncoding"] == "base64"
    assert queues["maxDequeueCount"] == 5
    assert queues["visibilityTimeout"] != "00:00:00"
    assert {"batchSize", "newBatchThreshold", "maxPollingInterval"} <= set(queues)
    assert "functionTimeout" in host


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_json_has_one_trigger_and_matches_main(name: str) -> None:
    config = _json(REPO / name / "function.json")
    assert (REPO / name / config["scriptFile"]).is_file()
    bindings = config["bindings"]
    triggers = [b for b in bindings if b["type"].endswith("Trigger")]
    assert len(triggers) == 1, f"{name} needs exactly one trigger"
    main = importlib.import_module(name).main
    parameters = set(inspect.signature(main).parameters)
    names = {b["name"] for b in bindings if b["name"] != "$return"}
    assert names == parameters, f"{name}: bindings {names} vs main() parameters {parameters}"
    assert all(b["direction"] == ("in" if b is triggers[0] else "out") for b in bindings)


@pytest.mark.parametrize(
    ("name", "queue"), [("send_sms", "%SMS_QUEUE_NAME%"), ("send_call", "%CALL_QUEUE_NAME%")]
)
def test_queue_triggers_use_the_queue_settings(name: str, queue: str) -> None:
    (trigger,) = _json(REPO / name / "function.json")["bindings"]
    assert trigger["type"] == "queueTrigger"
    assert trigger["queueName"] == queue
    assert trigger["connection"] == "AzureWebJobsStorage"


@pytest.mark.parametrize(
    ("name", "methods"), [("twiml_voice", {"get", "post"}), ("status_callback", {"post"})]
)
def test_http_triggers_are_anonymous_and_return_http(name: str, methods: set[str]) -> None:
    trigger, output = _json(REPO / name / "function.json")["bindings"]
    assert trigger["type"] == "httpTrigger"
    assert trigger["authLevel"] == "anonymous"
    assert set(trigger["methods"]) == methods
    assert output == {"name": "$return", "type": "http", "direction": "out"}


def test_status_sweeper_is_a_timer_on_the_schedule_setting() -> None:
    (trigger,) = _json(REPO / "status_sweeper" / "function.json")["bindings"]
    assert trigger["type"] == "timerTrigger"
    assert trigger["schedule"] == "%STATUS_SWEEP_SCHEDULE%"
    assert trigger["runOnStartup"] is False
