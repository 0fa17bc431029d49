"""Calling an HTTP function's `async def main` from a synchronous test, as the worker would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import azure.functions as func


def call_webhook(
    main: Callable[[func.HttpRequest], Coroutine[Any, Any, func.HttpResponse]],
    req: func.HttpRequest,
) -> func.HttpResponse:
    """`main(req)` run to its response on an event loop of its own."""
    return asyncio.run(main(req))
