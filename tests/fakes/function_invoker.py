"""A scripted `FunctionInvoker` for the host stand-in's trigger tests (HTTP server, queue and
timer listeners): no worker runs; each invocation is kept and answered as the test scripted."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from emulators.functions_host.function_invoker import FunctionInvoker
from emulators.functions_host.function_metadata import FunctionSpec
from emulators.functions_host.rpc_values import RpcValue
from emulators.functions_host.runtime_driver import InvocationOutcome


class Invocation(NamedTuple):
    """One invocation as a trigger asked for it."""

    function: str
    reason: str
    inputs: dict[str, RpcValue]
    trigger_metadata: dict[str, RpcValue]
    details: str | None


class ScriptedInvoker(FunctionInvoker):
    """Answers each invocation with the next of `answers` (an outcome, or an exception to raise),
    and with success once none is left; sets `stopping` after `stop_after` invocations."""

    def __init__(
        self,
        *answers: InvocationOutcome | Exception,
        stopping: asyncio.Event | None = None,
        stop_after: int = 1,
    ) -> None:
        self.answers = list(answers)
        self.stopping = stopping
        self.stop_after = stop_after
        self.calls: list[Invocation] = []

    async def invoke(
        self,
        spec: FunctionSpec,
        reason: str,
        inputs: dict[str, RpcValue],
        trigger_metadata: dict[str, RpcValue],
        details: str | None = None,
    ) -> InvocationOutcome:
        self.calls.append(Invocation(spec.name, reason, inputs, trigger_metadata, details))
        if self.stopping is not None and len(self.calls) >= self.stop_after:
            self.stopping.set()
        answer = self.answers.pop(0) if self.answers else InvocationOutcome(True)
        if isinstance(answer, Exception):
            raise answer
        return answer
