"""Drive azure-functions-runtime-v1 in process, the way the proxy worker does for the host.

Each call builds the `StreamingMessage` the real host would send and awaits the runtime's own
handler coroutine (`worker_init_request`, `function_load_request`, `invocation_request`, …), so
Microsoft's loader, binding validation and converters run unchanged. The runtime keeps
module-global state: one app per process.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import azure_functions_runtime_v1 as runtime

from emulators.functions_host.function_metadata import FunctionSpec
from emulators.functions_host.rpc_protos import load_protos
from emulators.functions_host.rpc_values import RpcValue, from_typed_data, to_typed_data


class FunctionLoadError(RuntimeError):
    """The runtime refused to load a function (import error, binding/parameter mismatch…)."""

    def __init__(self, function: str, message: str) -> None:
        super().__init__(f"function '{function}' failed to load: {message}")
        self.function = function


@dataclass(frozen=True)
class InvocationOutcome:
    """What the runtime answered to one InvocationRequest."""

    succeeded: bool
    error: str | None = None
    stack_trace: str = ""
    return_value: RpcValue | None = None
    outputs: dict[str, RpcValue] = field(default_factory=dict)


class _WorkerRequest(NamedTuple):
    """The shape of the proxy worker's `WorkerRequest` the runtime handlers read."""

    name: str
    request: Any
    properties: dict[str, Any]


def _data_type(declared: str | None) -> str:
    """function.json `dataType` as the BindingInfo enum name (unknown → undefined)."""
    return declared if declared in ("string", "binary", "stream") else "undefined"


def _status_error(result: Any) -> tuple[str, str]:
    """The failure's message (`Type: text`) and Python traceback."""
    exception = result.exception
    return str(exception.message) or "unknown error", str(exception.stack_trace)


class RuntimeDriver:
    """The in-process worker: initialise once, load functions, invoke them."""

    def __init__(self) -> None:
        self._protos = load_protos()
        self._function_ids: dict[str, str] = {}

    def _wrap(self, name: str, **content: Any) -> _WorkerRequest:
        message = self._protos.StreamingMessage(request_id=str(uuid.uuid4()), **content)
        return _WorkerRequest(name, message, {"protos": self._protos, "host": "127.0.0.1"})

    async def start(self) -> None:
        """WorkerInitRequest and FunctionsMetadataRequest, then the invocation thread pool."""
        p = self._protos
        init = p.WorkerInitRequest(host_version="4.0.0-emulated", capabilities={})
        response = await runtime.worker_init_request(self._wrap("init", worker_init_request=init))
        if response.result.status != p.StatusResult.Success:
            raise RuntimeError(f"worker init failed: {_status_error(response.result)[0]}")
        metadata = p.FunctionsMetadataRequest()
        await runtime.functions_metadata_request(
            self._wrap("metadata", functions_metadata_request=metadata)
        )
        runtime.start_threadpool_executor()

    def stop(self) -> None:
        """Wait for running invocations' threads, then release the pool."""
        runtime.stop_threadpool_executor()

    async def load(self, spec: FunctionSpec) -> None:
        """FunctionLoadRequest for one function; raises FunctionLoadError on failure."""
        p = self._protos
        bindings = {
            b.name: p.BindingInfo(
                type=b.type,
                direction=p.BindingInfo.Direction.Value(b.direction),
                data_type=p.BindingInfo.DataType.Value(_data_type(b.data_type)),
            )
            for b in spec.bindings
        }
        metadata = p.RpcFunctionMetadata(
            name=spec.name,
            directory=str(spec.directory),
            script_file=str(spec.script_file),
            entry_point=spec.entry_point,
            bindings=bindings,
            raw_bindings=[json.dumps(b.raw) for b in spec.bindings],
        )
        function_id = str(uuid.uuid4())
        request = p.FunctionLoadRequest(function_id=function_id, metadata=metadata)
        response = await runtime.function_load_request(
            self._wrap("load", function_load_request=request)
        )
        if response.result.status != p.StatusResult.Success:
            message, stack = _status_error(response.result)
            raise FunctionLoadError(spec.name, f"{message}\n{stack}".rstrip())
        self._function_ids[spec.name] = function_id

    async def invoke(
        self,
        function: str,
        invocation_id: str,
        inputs: dict[str, RpcValue],
        trigger_metadata: dict[str, RpcValue],
    ) -> InvocationOutcome:
        """InvocationRequest; the runtime runs sync functions on its thread pool."""
        p = self._protos
        request = p.InvocationRequest(
            invocation_id=invocation_id,
            function_id=self._function_ids[function],
            input_data=[
                p.ParameterBinding(name=name, data=to_typed_data(value, p))
                for name, value in inputs.items()
            ],
            trigger_metadata={k: to_typed_data(v, p) for k, v in trigger_metadata.items()},
        )
        response = await runtime.invocation_request(
            self._wrap("invoke", invocation_request=request)
        )
        if response.result.status != p.StatusResult.Success:
            message, stack = _status_error(response.result)
            return InvocationOutcome(succeeded=False, error=message, stack_trace=stack)
        outputs: dict[str, RpcValue] = {}
        for binding in response.output_data:
            value = from_typed_data(binding.data)
            if value is not None:
                outputs[str(binding.name)] = value
        return_value = (
            from_typed_data(response.return_value) if response.HasField("return_value") else None
        )
        return InvocationOutcome(succeeded=True, return_value=return_value, outputs=outputs)
