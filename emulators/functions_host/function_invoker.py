"""One invocation as the host performs it: log, invoke the worker, write outputs, log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from emulators.functions_host import invocation_log
from emulators.functions_host.function_metadata import FunctionSpec
from emulators.functions_host.output_bindings import OutputTarget, OutputWriter
from emulators.functions_host.rpc_values import Json, RpcValue
from emulators.functions_host.runtime_driver import InvocationOutcome, RuntimeDriver


def system_metadata(function: str) -> Json:
    """The `sys` trigger metadata every invocation carries."""
    return Json.of(
        {
            "MethodName": function,
            "UtcNow": datetime.now(UTC).isoformat(),
            "RandGuid": str(uuid.uuid4()),
        }
    )


class FunctionInvoker:
    """Invokes loaded functions and applies their storage output bindings."""

    def __init__(
        self,
        driver: RuntimeDriver,
        outputs: Mapping[str, list[OutputTarget]],
        writer: OutputWriter,
    ) -> None:
        self._driver = driver
        self._outputs = outputs
        self._writer = writer

    async def invoke(
        self,
        spec: FunctionSpec,
        reason: str,
        inputs: dict[str, RpcValue],
        trigger_metadata: dict[str, RpcValue],
        details: str | None = None,
    ) -> InvocationOutcome:
        """Run one invocation; a failure in the function or in an output binding fails it."""
        invocation_id = str(uuid.uuid4())
        invocation_log.executing(spec.name, reason, invocation_id)
        if details:
            invocation_log.log(details)
        started = time.perf_counter()
        metadata = {**trigger_metadata, "sys": system_metadata(spec.name)}
        outcome = await self._driver.invoke(spec.name, invocation_id, inputs, metadata)
        if outcome.succeeded:
            try:
                await self._writer.write(
                    self._outputs.get(spec.name, []), outcome.return_value, outcome.outputs
                )
            except Exception as error:
                outcome = InvocationOutcome(
                    succeeded=False, error=f"output binding failed: {type(error).__name__}: {error}"
                )
        duration_ms = (time.perf_counter() - started) * 1000
        invocation_log.executed(
            spec.name, invocation_id, duration_ms, outcome.error, outcome.stack_trace
        )
        return outcome
