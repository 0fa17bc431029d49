"""Starting a service and waiting for its ready lines, over a fake child process (no process is
started: the real ones are started by the integration and e2e fixtures)."""

from __future__ import annotations

import io
import signal
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from emulators import launcher
from emulators.launcher import Service, ServiceStartError, start_service


class FakeProcess:
    """A Popen stand-in: prints `lines`, then exits with `code` unless told to keep running;
    answers SIGINT by exiting unless `ignores_sigint`."""

    def __init__(self, lines: list[str], code: int | None = 0, ignores_sigint: bool = False):
        self.stdout: Iterator[str] = iter(io.StringIO("".join(lines)))
        self.returncode: int | None = None
        self.exit_code = code
        self.ignores_sigint = ignores_sigint
        self.signals: list[int] = []
        self.killed = False
        self.finished = threading.Event()
        self.popen_args: tuple[Any, ...] = ()
        self.popen_kwargs: dict[str, Any] = {}

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)
        if not self.ignores_sigint:
            self.returncode = -signum

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            raise subprocess.TimeoutExpired("fake", timeout or 0)
        return self.returncode

    def kill(self) -> None:
        self.killed = True
        self.returncode = -signal.SIGKILL


@pytest.fixture
def popen(monkeypatch: pytest.MonkeyPatch) -> list[FakeProcess]:
    """Processes `start_service` will get, in order; each records how it was opened."""
    queue: list[FakeProcess] = []

    def fake_popen(*args: Any, **kwargs: Any) -> FakeProcess:
        process = queue.pop(0)
        process.popen_args, process.popen_kwargs = args, kwargs
        return process

    monkeypatch.setattr(launcher.subprocess, "Popen", fake_popen)
    return queue


def test_it_returns_once_every_ready_line_has_matched(
    popen: list[FakeProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCHER_TEST_INHERITED", "yes")
    process = FakeProcess(["starting\n", "queue on 7\n", "blob on 5\n", "more\n"], code=None)
    popen.append(process)
    service = start_service(
        "svc", ["run", "it"], [r"blob on (\d+)", r"queue on (\d+)"], env={"EXTRA": "1"}
    )
    assert service.name == "svc"
    assert sorted(m.group(1) for m in service.matches) == ["5", "7"]
    assert process.popen_args == (["run", "it"],)
    kwargs = process.popen_kwargs
    assert kwargs["env"]["EXTRA"] == "1"
    assert kwargs["env"]["LAUNCHER_TEST_INHERITED"] == "yes"
    assert kwargs["stderr"] == subprocess.STDOUT
    assert kwargs["stdin"] == subprocess.DEVNULL
    assert kwargs["start_new_session"] is True
    assert service.reader is not None
    service.reader.join(5)
    assert service.output == ["starting\n", "queue on 7\n", "blob on 5\n", "more\n"]


def test_echo_prefixes_each_line_with_the_name(
    popen: list[FakeProcess], capsys: pytest.CaptureFixture[str]
) -> None:
    popen.append(FakeProcess(["ready\n"], code=None))
    service = start_service("svc", ["x"], ["ready"], echo=True)
    assert service.reader is not None
    service.reader.join(5)
    assert capsys.readouterr().out == "[svc] ready\n"


def test_without_ready_lines_it_returns_at_once(popen: list[FakeProcess]) -> None:
    popen.append(FakeProcess([], code=None))
    assert start_service("svc", ["x"], []).matches == []


def test_a_service_that_exits_before_it_is_ready_fails_with_its_output(
    popen: list[FakeProcess],
) -> None:
    process = FakeProcess(["Error: port in use\n"])
    process.returncode = 3  # it has exited
    popen.append(process)
    with pytest.raises(ServiceStartError) as raised:
        start_service("svc", ["run", "svc"], ["ready"], timeout=5)
    message = str(raised.value)
    assert message.startswith("svc exited with 3 (waiting for ['ready']; command run svc):\n")
    assert message.endswith("Error: port in use\n")


def test_a_silent_service_fails_after_the_timeout_and_is_stopped(
    popen: list[FakeProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    process = FakeProcess([], code=None)
    # Its output stays open (no line, no end) until it is interrupted.
    interrupted = threading.Event()

    def silent() -> Iterator[str]:
        interrupted.wait(10)
        yield from ()

    def interrupt(signum: int) -> None:
        process.signals.append(signum)
        process.returncode = -signum
        interrupted.set()

    process.stdout = silent()
    monkeypatch.setattr(process, "send_signal", interrupt)
    popen.append(process)
    with pytest.raises(ServiceStartError, match=r"svc not ready after 0s \(waiting for"):
        start_service("svc", ["x"], ["ready"], timeout=0.05)
    assert process.signals == [signal.SIGINT]


def service_of(process: FakeProcess, output: list[str] | None = None) -> Service:
    return Service("svc", process, [], output or [])  # type: ignore[arg-type]


def test_stop_interrupts_first() -> None:
    process = FakeProcess([], code=None)
    assert service_of(process).stop() == -signal.SIGINT
    assert (process.signals, process.killed) == ([signal.SIGINT], False)


def test_stop_kills_a_service_that_ignores_the_interrupt() -> None:
    process = FakeProcess([], code=None, ignores_sigint=True)
    assert service_of(process).stop(timeout=0.01) == -signal.SIGKILL
    assert process.killed


def test_stop_leaves_an_exited_process_alone() -> None:
    process = FakeProcess([])
    process.returncode = 0
    assert service_of(process).stop() == 0
    assert (process.signals, process.killed) == ([], False)


def test_exit_code_is_none_while_running_then_the_code() -> None:
    process = FakeProcess([], code=None)
    service = service_of(process)
    assert service.exit_code() is None
    process.returncode = -signal.SIGTERM
    assert service.exit_code() == -signal.SIGTERM


def test_kill_kills_at_once() -> None:
    process = FakeProcess([], code=None)
    service_of(process).kill()
    assert (process.signals, process.killed) == ([], True)


def test_tail_is_the_last_lines() -> None:
    lines = [f"{n}\n" for n in range(50)]
    assert service_of(FakeProcess([]), lines).tail(3) == "47\n48\n49\n"
    assert service_of(FakeProcess([]), lines).tail().startswith("10\n")
