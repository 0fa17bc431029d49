"""The runtime driver builds the StreamingMessages the real host would send and reads the
runtime's answers; here the runtime's handlers are replaced by recorders (the real runtime keeps
process-global state: it is driven for real by tests/integration/functions_host/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulators.functions_host import runtime_driver
from emulators.functions_host.function_metadata import Binding, FunctionSpec
from emulators.functions_host.rpc_protos import load_protos
from emulators.functions_host.rpc_values import Binary, HttpResponseData, Json, Text
from emulators.functions_host.runtime_driver import (
    FunctionLoadError,
    InvocationOutcome,
    RuntimeDriver,
    _data_type,
)

P: Any = load_protos()
TRIGGER = Binding("msg", "queueTrigger", "in", "binary", {"name": "msg", "queueName": "q"})
OUT = Binding("$return", "queue", "out", None, {"name": "$return", "queueName": "out"})
SPEC = FunctionSpec("worker", Path("/app/worker"), Path("/app/worker/run.py"), "handle",
                    (TRIGGER, OUT), False)  # fmt: skip


def success() -> Any:
    return P.StatusResult(status=P.StatusResult.Success)


def failure(message: str, stack: str) -> Any:
    exception = P.RpcException(message=message, stack_trace=stack)
    return P.StatusResult(status=P.StatusResult.Failure, exception=exception)


class FakeRuntime:
    """The azure_functions_runtime_v1 handlers the driver awaits, answering `answers`."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.requests: dict[str, Any] = {}
        self.pool: list[str] = []

    def _handler(self, name: str) -> Any:
        async def handle(request: Any) -> Any:
            assert request.properties == {"protos": P, "host": "127.0.0.1"}
            assert request.request.request_id  # a fresh id on every message
            self.requests[name] = request
            return self.answers[name]

        return handle

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_request"):
            return self._handler(name)
        raise AttributeError(name)

    def start_threadpool_executor(self) -> None:
        self.pool.append("started")

    def stop_threadpool_executor(self) -> None:
        self.pool.append("stopped")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRuntime:
    fake = FakeRuntime()
    monkeypatch.setattr(runtime_driver, "runtime", fake)
    return fake


@pytest.mark.parametrize(
    ("declared", "name"),
    [
        ("string", "string"),
        ("binary", "binary"),
        ("stream", "stream"),
        (None, "undefined"),
        ("other", "undefined"),
    ],
)
def test_data_types_map_to_the_enum(declared: str | None, name: str) -> None:
    assert _data_type(declared) == name


def test_a_load_error_names_the_function() -> None:
    error = FunctionLoadError("worker", "No module named 'x'")
    assert str(error) == "function 'worker' failed to load: No module named 'x'"
    assert error.function == "worker"


async def test_start_initialises_reads_metadata_and_starts_the_pool(fake: FakeRuntime) -> None:
    fake.answers["worker_init_request"] = P.WorkerInitResponse(result=success())
    fake.answers["functions_metadata_request"] = None
    driver = RuntimeDriver()
    await driver.start()
    init = fake.requests["worker_init_request"]
    assert init.name == "init"
    assert init.request.worker_init_request.host_version == "4.0.0-emulated"
    assert fake.requests["functions_metadata_request"].request.HasField(
        "functions_metadata_request"
    )
    assert fake.pool == ["started"]
    driver.stop()
    assert fake.pool == ["started", "stopped"]


async def test_a_failed_init_is_an_error(fake: FakeRuntime) -> None:
    fake.answers["worker_init_request"] = P.WorkerInitResponse(result=failure("bad", ""))
    with pytest.raises(RuntimeError, match="worker init failed: bad"):
        await RuntimeDriver().start()
    assert fake.pool == []


async def test_load_sends_the_function_metadata(fake: FakeRuntime) -> None:
    fake.answers["function_load_request"] = P.FunctionLoadResponse(result=success())
    driver = RuntimeDriver()
    await driver.load(SPEC)
    request = fake.requests["function_load_request"].request.function_load_request
    metadata = request.metadata
    assert (metadata.name, metadata.directory, metadata.script_file, metadata.entry_point) == (
        "worker",
        "/app/worker",
        "/app/worker/run.py",
        "handle",
    )
    msg = metadata.bindings["msg"]
    assert msg.type == "queueTrigger"
    assert msg.direction == P.BindingInfo.Direction.Value("in")
    assert msg.data_type == P.BindingInfo.DataType.Value("binary")
    assert metadata.bindings["$return"].data_type == P.BindingInfo.DataType.Value("undefined")
    assert [json.loads(raw) for raw in metadata.raw_bindings] == [TRIGGER.raw, OUT.raw]
    assert driver._function_ids["worker"] == request.function_id


async def test_a_refused_load_carries_message_and_stack(fake: FakeRuntime) -> None:
    refusal = failure("ImportError: no module", "Traceback ...\n")
    fake.answers["function_load_request"] = P.FunctionLoadResponse(result=refusal)
    with pytest.raises(FunctionLoadError, match=r"ImportError: no module\nTraceback \.\.\.$"):
        await RuntimeDriver().load(SPEC)


async def loaded(fake: FakeRuntime) -> RuntimeDriver:
    fake.answers["function_load_request"] = P.FunctionLoadResponse(result=success())
    driver = RuntimeDriver()
    await driver.load(SPEC)
    return driver


async def test_invoke_sends_inputs_and_metadata_and_reads_outputs(fake: FakeRuntime) -> None:
    driver = await loaded(fake)
    fake.answers["invocation_request"] = P.InvocationResponse(
        result=success(),
        output_data=[
            P.ParameterBinding(name="extra", data=P.TypedData(string="e")),
            P.ParameterBinding(name="unset", data=P.TypedData()),
        ],
        return_value=P.TypedData(http=P.RpcHttp(status_code="202")),
    )
    outcome = await driver.invoke(
        "worker", "inv-1", {"msg": Binary(b"\x01")}, {"Id": Text("m1"), "n": Json("2")}
    )
    assert outcome == InvocationOutcome(
        succeeded=True, return_value=HttpResponseData(202), outputs={"extra": Text("e")}
    )
    request = fake.requests["invocation_request"].request.invocation_request
    assert request.invocation_id == "inv-1"
    assert request.function_id == driver._function_ids["worker"]
    (binding,) = request.input_data
    assert (binding.name, binding.data.bytes) == ("msg", b"\x01")
    assert request.trigger_metadata["Id"].string == "m1"
    assert request.trigger_metadata["n"].json == "2"


async def test_no_return_value_is_none(fake: FakeRuntime) -> None:
    driver = await loaded(fake)
    fake.answers["invocation_request"] = P.InvocationResponse(result=success())
    outcome = await driver.invoke("worker", "inv-2", {}, {})
    assert outcome == InvocationOutcome(succeeded=True, return_value=None, outputs={})


async def test_a_failed_invocation_carries_error_and_stack(fake: FakeRuntime) -> None:
    driver = await loaded(fake)
    fake.answers["invocation_request"] = P.InvocationResponse(
        result=failure("ValueError: bad input", "File run.py, line 3")
    )
    outcome = await driver.invoke("worker", "inv-3", {}, {})
    assert outcome == InvocationOutcome(
        succeeded=False, error="ValueError: bad input", stack_trace="File run.py, line 3"
    )


async def test_a_failure_without_a_message_says_unknown_error(fake: FakeRuntime) -> None:
    driver = await loaded(fake)
    fake.answers["invocation_request"] = P.InvocationResponse(result=failure("", ""))
    assert (await driver.invoke("worker", "inv-4", {}, {})).error == "unknown error"
