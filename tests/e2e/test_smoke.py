"""`python -m producer smoke` against the local stack (the connection-string path): what
`make smoke` runs against a deployment."""

from __future__ import annotations

import json
import re

import pytest

from producer.cli import main
from tests.e2e.conftest import E2E_NAMES, Stack, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def e2e_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """The producer finds the stack's queue and table names in the environment."""
    for name, value in E2E_NAMES.items():
        monkeypatch.setenv(name, value)


def test_smoke_passes_against_the_local_stack(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["smoke", "--base-url", stack.host_url, "--connection", stack.azurite.connection_string]
    assert main([*argv, "--timeout", "60"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert f"unsigned POST {stack.host_url}/api/status_callback is refused (403): HTTP 403" in out
    assert f"unsigned GET {stack.host_url}/api/twiml_voice is refused (403): HTTP 403" in out
    assert "is recorded as rejected: status rejected" in out
    assert out.count(", its event published") == 1
    assert out.rstrip().endswith("smoke test passed")
    # Nothing reached Twilio, and the event the smoke test vouches for is on the events queue.
    assert stack.twilio_inspect("messages")["messages"] == []
    request_id = out.split("request ", 1)[1].split(" ", 1)[0]
    assert main(["events", "--json", "--connection", stack.azurite.connection_string]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [e["status"] for e in events if e["id"] == request_id] == ["rejected"]


def test_smoke_fails_when_the_app_does_not_answer(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    argv = ["smoke", "--base-url", nobody, "--connection", stack.azurite.connection_string]
    assert main([*argv, "--timeout", "30"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL unsigned POST {nobody}/api/status_callback is refused (403): no answer" in out
    assert out.rstrip().endswith("smoke test FAILED")


def test_a_storage_account_that_does_not_answer_is_a_failed_check(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    connection = stack.azurite.connection_string
    for service in ("Queue", "Table"):
        connection = re.sub(rf"{service}Endpoint=[^;]+", f"{service}Endpoint={nowhere}", connection)
    argv = ["smoke", "--base-url", stack.host_url, "--connection", connection, "--timeout", "30"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "(403): HTTP 403" in out
    assert "(invalid 'to') is recorded as rejected: cannot reach Azure Storage" in out
    assert out.rstrip().endswith("smoke test FAILED")


def test_smoke_without_an_app_url_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["smoke", "--connection", "UseDevelopmentStorage=true"]) == 2
    assert "no app URL" in capsys.readouterr().err
