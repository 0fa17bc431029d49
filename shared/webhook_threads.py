"""The webhooks' own thread pool, apart from the one the Python worker runs queue functions on.

The worker runs every synchronous function on one `ThreadPoolExecutor`
(`PYTHON_THREADPOOL_THREAD_COUNT` threads), so a status callback or a TwiML request would wait
there behind the queue functions' sends: Twilio retries a callback that takes over 5 s, and a
caller waits on the line for TwiML. The HTTP functions are `async def` and hand their blocking
work (storage requests) to this pool instead, sized like the worker's own.

On Flex Consumption HTTP functions run on instances of their own; on one shared worker
(Premium, Dedicated, `func start`, the local stack) this keeps them apart.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

# The worker's own pool size setting (azure-functions-runtime-v1 reads the same name).
THREAD_COUNT_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"


@functools.cache
def webhook_pool() -> ThreadPoolExecutor:
    """The process's webhook pool: `PYTHON_THREADPOOL_THREAD_COUNT` threads when that is a
    positive integer, else the standard library's default, as the worker does."""
    raw = os.environ.get(THREAD_COUNT_SETTING, "")
    size = int(raw) if raw.strip().isdigit() and int(raw) > 0 else None
    return ThreadPoolExecutor(max_workers=size, thread_name_prefix="webhook")


async def run_in_webhook_pool[T, A](work: Callable[[A], T], argument: A) -> T:
    """`work(argument)` on the webhook pool, awaited, in a copy of the caller's context: the
    worker keeps the invocation id in a context variable, and a log record without it is not
    tied to the invocation (the host drops it)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        webhook_pool(), context.run, work, argument
    )


def forget_webhook_pool() -> None:
    """Let the running webhooks finish on the current pool; the next one makes a new pool."""
    if webhook_pool.cache_info().currsize:
        webhook_pool().shutdown(wait=False)
    webhook_pool.cache_clear()
