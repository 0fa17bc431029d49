"""One invocation as the host performs it, over a fake runtime driver and output writer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulators.functions_host.function_invoker import FunctionInvoker, system_metadata
from emulators.functions_host.function_metadata import Binding, FunctionSpec
from emulators.functions_host.output_bindings import OutputTarget, OutputWriter
from emulators.functions_host.rpc_values import Json, RpcValue, Text
from emulators.functions_host.runtime_driver import InvocationOutcome, RuntimeDriver
from shared.storage_connection import ConnectionString

TRIGGER = Binding("msg", "queueTrigger", "in", None, {"queueName": "q"})
OUT = Binding("$return", "queue", "out", None, {"queueName": "out"})
SPEC = FunctionSpec("sender", Path("/app/sender"), Path("/app/sender/__init__.py"), "main",
                    (TRIGGER, OUT), False)  # fmt: skip
TARGET = OutputTarget(OUT, ConnectionString("UseDevelopmentStorage=true"), "out")


class FakeDriver(RuntimeDriver):
    """Answers every invocation with `outcome` and remembers what it was asked."""

    def __init__(self, outcome: InvocationOutcome) -> None:
        self.outcome = outcome
        self.calls: list[tuple[str, str, dict[str, RpcValue], dict[str, RpcValue]]] = []

    async def invoke(
        self,
        function: str,
        invocation_id: str,
        inputs: dict[str, RpcValue],
        trigger_metadata: dict[str, RpcValue],
    ) -> InvocationOutcome:
        self.calls.append((function, invocation_id, inputs, trigger_metadata))
        return self.outcome


class FakeWriter(OutputWriter):
    """Records the writes; raises `error` when one is given."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.writes: list[tuple[list[OutputTarget], RpcValue | None, Mapping[str, RpcValue]]] = []

    async def write(
        self,
        targets: list[OutputTarget],
        return_value: RpcValue | None,
        outputs: Mapping[str, RpcValue],
    ) -> None:
        self.writes.append((targets, return_value, outputs))
        if self.error is not None:
            raise self.error


def test_system_metadata_names_the_function_with_a_fresh_time_and_guid() -> None:
    first = json.loads(system_metadata("sender").text)
    second = json.loads(system_metadata("sender").text)
    assert first["MethodName"] == "sender"
    utc_now = datetime.fromisoformat(first["UtcNow"])
    assert abs(datetime.now(UTC) - utc_now) < timedelta(minutes=1)
    assert uuid.UUID(first["RandGuid"]) != uuid.UUID(second["RandGuid"])


async def test_a_success_writes_its_outputs_and_logs_both_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcome = InvocationOutcome(True, return_value=Text("hi"), outputs={"o": Json("1")})
    driver, writer = FakeDriver(outcome), FakeWriter()
    invoker = FunctionInvoker(driver, {"sender": [TARGET]}, writer)
    result = await invoker.invoke(
        SPEC, "New queue message", {"msg": Text("body")}, {"Id": Text("m1")}, details="Details!"
    )
    assert result is outcome
    ((function, invocation_id, inputs, metadata),) = driver.calls
    assert (function, inputs) == ("sender", {"msg": Text("body")})
    assert metadata["Id"] == Text("m1")
    assert isinstance(metadata["sys"], Json)
    assert json.loads(metadata["sys"].text)["MethodName"] == "sender"
    assert writer.writes == [([TARGET], Text("hi"), {"o": Json("1")})]
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(
        f"Executing 'Functions.sender' (Reason='New queue message', Id={invocation_id})"
    )
    assert out[1].endswith("] Details!")
    assert f"Executed 'Functions.sender' (Succeeded, Id={invocation_id}, " in out[2]
    assert len(out) == 3


async def test_each_invocation_has_its_own_id() -> None:
    driver = FakeDriver(InvocationOutcome(True))
    invoker = FunctionInvoker(driver, {}, FakeWriter())
    await invoker.invoke(SPEC, "r", {}, {})
    await invoker.invoke(SPEC, "r", {}, {})
    assert driver.calls[0][1] != driver.calls[1][1]


async def test_a_function_without_outputs_writes_to_no_target() -> None:
    writer = FakeWriter()
    invoker = FunctionInvoker(FakeDriver(InvocationOutcome(True)), {}, writer)
    await invoker.invoke(SPEC, "r", {}, {})
    assert writer.writes == [([], None, {})]


async def test_a_failed_function_writes_nothing_and_logs_its_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    failed = InvocationOutcome(False, error="RuntimeError: boom", stack_trace="at main")
    writer = FakeWriter()
    invoker = FunctionInvoker(FakeDriver(failed), {"sender": [TARGET]}, writer)
    assert await invoker.invoke(SPEC, "r", {}, {}) is failed
    assert writer.writes == []
    out = capsys.readouterr().out
    assert "(Failed, Id=" in out
    assert "Exception: RuntimeError: boom" in out
    assert "Stack: at main" in out


async def test_a_failed_output_binding_fails_the_invocation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    writer = FakeWriter(ConnectionError("storage down"))
    invoker = FunctionInvoker(FakeDriver(InvocationOutcome(True)), {"sender": [TARGET]}, writer)
    outcome = await invoker.invoke(SPEC, "r", {}, {})
    assert outcome == InvocationOutcome(
        succeeded=False, error="output binding failed: ConnectionError: storage down"
    )
    assert "(Failed, Id=" in capsys.readouterr().out


async def test_no_details_no_details_line(capsys: pytest.CaptureFixture[str]) -> None:
    invoker = FunctionInvoker(FakeDriver(InvocationOutcome(True)), {}, FakeWriter())
    await invoker.invoke(SPEC, "r", {}, {}, details="")
    assert len(capsys.readouterr().out.splitlines()) == 2
