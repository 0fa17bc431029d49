"""The webhooks' own thread pool: sized like the worker's, apart from its threads."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.webhook_threads import (
    THREAD_COUNT_SETTING,
    forget_webhook_pool,
    run_in_webhook_pool,
    webhook_pool,
)


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    forget_webhook_pool()
    yield
    forget_webhook_pool()


@pytest.mark.parametrize(("value", "size"), [("24", 24), ("1", 1)])
def test_the_pool_takes_the_worker_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, size: int
) -> None:
    monkeypatch.setenv(THREAD_COUNT_SETTING, value)
    assert webhook_pool()._max_workers == size


@pytest.mark.parametrize("value", ["", "0", "-3", "many"])
def test_an_unset_or_invalid_setting_gives_the_default(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(THREAD_COUNT_SETTING, value)
    default = ThreadPoolExecutor()._max_workers
    assert webhook_pool()._max_workers == default


def test_work_runs_on_a_webhook_thread_and_returns_its_result() -> None:
    def where(value: int) -> tuple[str, int]:
        return threading.current_thread().name, value * 2

    name, doubled = asyncio.run(run_in_webhook_pool(where, 21))
    assert name.startswith("webhook")
    assert doubled == 42


def test_errors_reach_the_caller() -> None:
    def fails(_: object) -> None:
        raise ConnectionError("storage down")

    with pytest.raises(ConnectionError, match="storage down"):
        asyncio.run(run_in_webhook_pool(fails, None))


def test_forgetting_makes_a_new_pool() -> None:
    first = webhook_pool()
    forget_webhook_pool()
    assert webhook_pool() is not first


def test_the_callers_context_comes_along() -> None:
    # The worker keeps the invocation id in a context variable; the host drops a log record
    # that has none.
    invocation = contextvars.ContextVar("invocation", default="none")

    async def invoked() -> str:
        invocation.set("inv-1")
        return await run_in_webhook_pool(lambda _: invocation.get(), None)

    assert asyncio.run(invoked()) == "inv-1"
