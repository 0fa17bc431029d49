"""Background tasks: kept alive while running, failures logged, all cancellable at once."""

from __future__ import annotations

import asyncio

import pytest

from emulators.twilio_api.background import Background


async def test_spawn_runs_the_coroutine_and_forgets_the_task_when_done() -> None:
    background = Background()

    async def answer() -> int:
        return 42

    task = background.spawn(answer())
    assert await task == 42
    await asyncio.sleep(0)  # let the done callback run
    assert background._tasks == set()


async def test_cancel_all_stops_every_running_task() -> None:
    background = Background()
    forever = asyncio.Event()
    tasks = [background.spawn(forever.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    # A cancel that does not reach the tasks would wait forever: fail in a second instead.
    async with asyncio.timeout(1):
        await background.cancel_all()
    assert all(task.cancelled() for task in tasks)


async def test_a_failing_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    background = Background()

    async def boom() -> None:
        raise RuntimeError("boom")

    task = background.spawn(boom())
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)
    assert any(record.message == "background task failed" for record in caplog.records)
