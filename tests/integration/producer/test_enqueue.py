"""Enqueueing through the CLI puts base64 JSON of a valid request on the real queue."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from azure.storage.queue import QueueServiceClient

from producer.cli import main
from shared.contracts import CallRequest, SmsRequest

if TYPE_CHECKING:  # the fixture's type only; conftest modules are not imported by tests
    from .conftest import Names

REPO_ROOT = Path(__file__).resolve().parents[3]


def _only_message(service: QueueServiceClient, queue: str) -> str:
    messages = service.get_queue_client(queue).peek_messages(max_messages=32)
    assert len(messages) == 1, f"expected one message on {queue}, found {len(messages)}"
    return str(messages[0].content)


def test_sms_goes_on_the_queue_as_base64_json(
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["sms", "--to", "+15005550006", "--body", "héllo ☎", "--from", "+15005550001"]
    assert main([*argv, "--connection", storage_connection_string]) == 0
    printed_id = capsys.readouterr().out.strip()

    raw = _only_message(plain_queue, names.sms)
    text = base64.b64decode(raw, validate=True).decode("utf-8")
    assert raw == base64.b64encode(text.encode("utf-8")).decode("ascii")
    request = SmsRequest.model_validate_json(text)
    assert request.id == printed_id
    assert (request.to, request.body, request.from_) == ("+15005550006", "héllo ☎", "+15005550001")
    assert json.loads(text)["from"] == "+15005550001"


def test_call_with_a_script_file_and_a_given_id(
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    steps = [
        {"type": "say", "text": "Press 1 to confirm", "voice": "alice"},
        {"type": "gather", "prompt": "Your choice?", "num_digits": 1},
        {"type": "hangup"},
    ]
    script = tmp_path / "script.json"
    script.write_text(json.dumps(steps))
    argv = ["call", "--to", "+15005550006", "--script", str(script), "--id", "order-42"]
    assert main([*argv, "--connection", storage_connection_string]) == 0
    assert capsys.readouterr().out.strip() == "order-42"

    text = base64.b64decode(_only_message(plain_queue, names.call)).decode("utf-8")
    request = CallRequest.model_validate_json(text)
    assert request.id == "order-42"
    assert request.script is not None
    assert [step.type for step in request.script] == ["say", "gather", "hangup"]
    assert json.loads(text)["script"] == [
        {"type": "say", "text": "Press 1 to confirm", "voice": "alice"},
        {"type": "gather", "prompt": "Your choice?", "num_digits": 1},
        {"type": "hangup"},
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["sms", "--to", "+15005550006", "--body", ""],
        ["sms", "--to", "0044", "--body", "hi"],
        ["call", "--to", "+15005550006", "--say", "x" * 4001],
    ],
)
def test_invalid_request_exits_2_and_the_queue_stays_empty(
    argv: list[str],
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
) -> None:
    for queue in (names.sms, names.call):
        plain_queue.create_queue(queue)
    assert main([*argv, "--connection", storage_connection_string]) == 2
    for queue in (names.sms, names.call):
        assert plain_queue.get_queue_client(queue).peek_messages(max_messages=32) == []


def test_cli_runs_as_a_module_with_the_connection_from_the_environment(
    names: Names, storage_connection_string: str, plain_queue: QueueServiceClient
) -> None:
    env = {**os.environ, "AzureWebJobsStorage": storage_connection_string}
    completed = subprocess.run(
        [sys.executable, "-m", "producer", "sms", "--to", "+15005550006", "--body", "from a shell"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    request_id = completed.stdout.strip()
    assert f"enqueued on {names.sms}" in completed.stderr
    text = base64.b64decode(_only_message(plain_queue, names.sms)).decode("utf-8")
    assert SmsRequest.model_validate_json(text).id == request_id
