"""`make run`: what it starts, decided from local.settings.json; the order it starts and stops
the services in, its banner, the host command line and its port checks, over stand-ins for the
services and sockets (the real stack runs in tests/e2e/)."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest

from emulators import local_demo, local_stack
from emulators.azurite import connection_string
from emulators.launcher import Service, ServiceStartError
from emulators.local_stack import (
    AZURITE_DEFAULT_PORTS,
    Stack,
    StackPlan,
    azurite_ports,
    force_stop,
    plan_stack,
    print_banner,
    running_stack,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def write_settings(
    folder: Path, values: dict[str, str], host: dict[str, int] | None = None
) -> Path:
    document: dict[str, object] = {"IsEncrypted": False, "Values": values}
    if host is not None:
        document["Host"] = host
    (folder / "local.settings.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


def test_the_example_settings_start_everything_on_the_documented_ports(tmp_path: Path) -> None:
    example = json.loads((REPO_ROOT / "local.settings.example.json").read_text(encoding="utf-8"))
    (tmp_path / "local.settings.json").write_text(json.dumps(example), encoding="utf-8")
    plan = plan_stack(tmp_path)
    assert plan.azurite_ports == AZURITE_DEFAULT_PORTS
    assert plan.twilio_port == 8701
    assert plan.host_port == 7071


def test_real_twilio_and_remote_storage_start_only_the_host(tmp_path: Path) -> None:
    remote = (
        "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;"
        "EndpointSuffix=core.windows.net"
    )
    values = {"AzureWebJobsStorage": remote, "TWILIO_API_BASE_URL": ""}
    plan = plan_stack(write_settings(tmp_path, values, host={"LocalHttpPort": 7080}))
    assert (plan.azurite_ports, plan.twilio_port, plan.host_port) == (None, None, 7080)


@pytest.mark.parametrize(
    ("connection", "ports"),
    [
        ("UseDevelopmentStorage=true", AZURITE_DEFAULT_PORTS),
        ("UseDevelopmentStorage=true;", AZURITE_DEFAULT_PORTS),
        (connection_string("127.0.0.1", 20000, 20001, 20002), (20000, 20001, 20002)),
        (connection_string("storage.example.com", 1, 2, 3), None),
        ("", None),
    ],
)
def test_azurite_ports_follow_the_connection_string(
    connection: str, ports: tuple[int, int, int] | None
) -> None:
    assert azurite_ports(connection) == ports


def test_missing_settings_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"local\.settings\.example\.json"):
        plan_stack(tmp_path)


def test_a_loopback_twilio_url_without_a_port_is_port_80(tmp_path: Path) -> None:
    values = {"AzureWebJobsStorage": "", "TWILIO_API_BASE_URL": "http://localhost/"}
    assert plan_stack(write_settings(tmp_path, values)).twilio_port == 80


def test_unreadable_settings_exit_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SystemExit, match="cannot read"):
        plan_stack(tmp_path)


# Starting and stopping, over recorded stand-ins for the services (no process, no socket).


class FakeService:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log
        self.code: int | None = None  # set by a test: the service exited by itself

    def exit_code(self) -> int | None:
        return self.code

    def stop(self, timeout: float = 10.0) -> int:
        self.log.append(f"stop {self.name} {timeout:g}")
        return 0

    def kill(self) -> None:
        self.log.append(f"kill {self.name}")


class FakeEmulator:
    def __init__(self, log: list[str]) -> None:
        self.service = FakeService("twilio", log)

    def stop(self) -> None:
        self.service.stop()


class FakeAzurite:
    def __init__(self, log: list[str]) -> None:
        self.service = FakeService("azurite", log)
        self.blob_port, self.queue_port, self.table_port = AZURITE_DEFAULT_PORTS

    def stop(self) -> None:
        self.service.stop()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What running_stack checks, starts and stops, in order."""
    log: list[str] = []
    monkeypatch.setattr(local_stack, "ensure_free", lambda port, what: log.append(f"free {port}"))

    def start_azurite(*, ports: tuple[int, int, int], location: Path, echo: bool) -> Any:
        log.append(f"azurite {ports} {location.name} {location.is_dir()} {echo}")
        return FakeAzurite(log)

    def start_emulator(**options: Any) -> Any:
        log.append(f"twilio {sorted(options.items())}")
        return FakeEmulator(log)

    def start_host(app_dir: Path, port: int, echo: bool) -> Any:
        log.append(f"host {port} {echo}")
        return FakeService("host", log)

    monkeypatch.setattr(local_stack, "start_azurite", start_azurite)
    monkeypatch.setattr(local_stack, "start_emulator", start_emulator)
    monkeypatch.setattr(local_stack, "start_host", start_host)
    return log


EMULATOR_OPTIONS = [("name", "twilio"), ("port", 8701), ("speed", 3.0)]
LOCAL_VALUES = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "TWILIO_API_BASE_URL": "http://127.0.0.1:8701",
    "TWILIO_ACCOUNT_SID": "AC123",
    "TWILIO_AUTH_TOKEN": "token",
}


def test_the_whole_stack_starts_in_order_and_stops_host_first(
    started: list[str], tmp_path: Path
) -> None:
    app = write_settings(tmp_path, LOCAL_VALUES)
    with running_stack(app, 3.0, echo=True) as stack:
        assert stack.host_url == "http://127.0.0.1:7071"
        assert stack.twilio_url == "http://127.0.0.1:8701"
        assert [s.name for s in stack.services] == ["host", "twilio", "azurite"]
        started.append("running")
    env = [("TWILIO_EMULATOR_ACCOUNT_SID", "AC123"), ("TWILIO_EMULATOR_AUTH_TOKEN", "token")]
    assert started == [
        "free 10000",
        "free 10001",
        "free 10002",
        "free 8701",
        "free 7071",
        "azurite (10000, 10001, 10002) .azurite True True",
        f"twilio {[('echo', True), ('env', dict(env)), *EMULATOR_OPTIONS]}",
        "host 7071 True",
        "running",
        "stop host 30",
        "stop twilio 10",
        "stop azurite 10",
    ]


def test_remote_services_are_not_started(started: list[str], tmp_path: Path) -> None:
    values = {
        "AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5",
        "TWILIO_API_BASE_URL": "https://api.twilio.com",
    }
    app = write_settings(tmp_path, values, host={"LocalHttpPort": 7080})
    with running_stack(app, 1.0, echo=False) as stack:
        assert stack.twilio_url is None
        assert stack.azurite is None
        assert [s.name for s in stack.services] == ["host"]
    assert started == ["free 7080", "host 7080 False", "stop host 30"]


def test_a_failed_start_stops_what_was_started(
    started: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_host(app_dir: Path, port: int, echo: bool) -> Any:
        raise ServiceStartError("host exited")

    monkeypatch.setattr(local_stack, "start_host", failing_host)
    with (
        pytest.raises(ServiceStartError),
        running_stack(write_settings(tmp_path, LOCAL_VALUES), 1.0, echo=False),
    ):
        pass
    assert started[-2:] == ["stop twilio 10", "stop azurite 10"]


def test_force_stop_kills_every_service(capsys: pytest.CaptureFixture[str]) -> None:
    log: list[str] = []
    services = [FakeService("host", log), FakeService("azurite", log)]
    plan = StackPlan({}, 7071, None, None)
    force_stop(Stack(plan, services[0], services=services))  # type: ignore[arg-type]
    assert log == ["kill host", "kill azurite"]
    assert "forced stop" in capsys.readouterr().out


def test_the_banner_shows_where_everything_listens(capsys: pytest.CaptureFixture[str]) -> None:
    log: list[str] = []
    plan = StackPlan(dict(LOCAL_VALUES), 7071, AZURITE_DEFAULT_PORTS, 8701)
    stack = Stack(plan, FakeService("host", log), FakeAzurite(log), FakeEmulator(log))  # type: ignore[arg-type]
    print_banner(stack)
    out = capsys.readouterr().out
    assert "Azurite          blob 10000, queue 10001, table 10002 on 127.0.0.1" in out
    assert (
        "Twilio emulator  http://127.0.0.1:8701  (inspection: http://127.0.0.1:8701/_emulator/messages)"
        in out
    )
    assert "Functions host   http://127.0.0.1:7071/api/<function>" in out
    assert "curl -s http://127.0.0.1:8701/_emulator/calls" in out
    sms_ids = re.findall(r"--id (try-sms-\w+)", out)
    assert len(sms_ids) == 1
    assert f"producer status {sms_ids[0]}" in out


def test_the_banner_names_remote_services(capsys: pytest.CaptureFixture[str]) -> None:
    plan = StackPlan({}, 7071, None, None)
    print_banner(Stack(plan, FakeService("host", [])))  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "AzureWebJobsStorage (not local: Azurite not started)" in out
    assert "Twilio's real API (TWILIO_API_BASE_URL is not a local address)" in out
    assert "curl" not in out


@pytest.fixture
def launched_host(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def start_service(name: str, argv: list[str], ready: list[str], **options: Any) -> Any:
        calls.append({"name": name, "argv": argv, "ready": ready, **options})
        return FakeService(name, [])

    monkeypatch.setattr(local_stack, "start_service", start_service)
    monkeypatch.setattr(
        local_stack, "wait_for_port", lambda port, service: calls.append({"waited": port})
    )
    return calls


def test_without_core_tools_the_stand_in_host_runs(
    launched_host: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(local_stack.shutil, "which", lambda name: None)
    local_stack.start_host(tmp_path, 7072, echo=True)
    call, waited = launched_host
    assert call["argv"] == [
        sys.executable, "-m", "emulators.functions_host", "--port", "7072", "--app", str(tmp_path)
    ]  # fmt: skip
    assert call["ready"] == [r"listening on (http://\S+)"]
    assert call["env"] == {"PYTHONPATH": str(local_stack.REPO_ROOT)}
    assert (call["cwd"], call["echo"], call["timeout"]) == (tmp_path, True, 120)
    assert waited == {"waited": 7072}


def test_with_core_tools_func_start_runs_with_the_venv(
    launched_host: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(local_stack.shutil, "which", lambda name: f"/usr/bin/{name}")
    local_stack.start_host(tmp_path, 7073, echo=False)
    call, waited = launched_host
    assert call["argv"] == ["/usr/bin/func", "start", "--port", "7073"]
    venv = local_stack.REPO_ROOT / ".venv"
    assert call["env"]["VIRTUAL_ENV"] == str(venv)
    assert call["env"]["PATH"].startswith(f"{venv / 'bin'}{os.pathsep}")
    assert waited == {"waited": 7073}


class FakeSocket:
    """A socket whose connect succeeds when the port is in `listening`."""

    listening: ClassVar[set[int]] = set()

    def __enter__(self) -> FakeSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def connect_ex(self, address: tuple[str, int]) -> int:
        assert address[0] == "127.0.0.1"
        return 0 if address[1] in self.listening else 111


@pytest.fixture
def fake_socket(monkeypatch: pytest.MonkeyPatch) -> type[FakeSocket]:
    monkeypatch.setattr(local_stack.socket, "socket", FakeSocket)
    monkeypatch.setattr(FakeSocket, "listening", {7071})
    return FakeSocket


@pytest.mark.usefixtures("fake_socket")
def test_a_port_in_use_is_named_with_its_service() -> None:
    local_stack.ensure_free(7000, "functions host")
    with pytest.raises(SystemExit, match=r"port 7071 \(functions host\) is already in use"):
        local_stack.ensure_free(7071, "functions host")


class FakeProcess:
    def __init__(self, code: int | None) -> None:
        self.code = code

    def poll(self) -> int | None:
        return self.code


@pytest.mark.usefixtures("fake_socket")
def test_waiting_for_a_port_returns_once_it_answers_or_fails_when_the_service_exits() -> None:
    alive = Service("host", FakeProcess(None), [], ["starting\n"])  # type: ignore[arg-type]
    local_stack.wait_for_port(7071, alive)
    dead = Service("host", FakeProcess(1), [], ["Error: boom\n"])  # type: ignore[arg-type]
    with pytest.raises(ServiceStartError, match="host exited:\nError: boom"):
        local_stack.wait_for_port(7000, dead)
    with pytest.raises(ServiceStartError, match="host does not answer on port 7000:\nstarting"):
        local_stack.wait_for_port(7000, alive, timeout=0)


def test_main_dispatches_run_and_demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[str, Path, float]] = []
    monkeypatch.setattr(
        local_stack, "run", lambda app, speed: calls.append(("run", app, speed)) or 0
    )
    monkeypatch.setattr(
        local_demo, "demo", lambda app, speed: calls.append(("demo", app, speed)) or 5
    )
    assert local_stack.main(["run"]) == 0
    assert local_stack.main(["demo", "--app", str(tmp_path), "--speed", "2"]) == 5
    assert local_stack.main(["demo"]) == 5
    assert calls == [
        ("run", local_stack.REPO_ROOT, 1.0),
        ("demo", tmp_path, 2.0),
        ("demo", local_stack.REPO_ROOT, 10.0),
    ]


def test_run_keeps_the_stack_up_until_a_signal_and_a_second_one_forces(
    started: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers: dict[int, Any] = {}
    monkeypatch.setattr(local_stack.signal, "signal", handlers.__setitem__)
    monkeypatch.setattr(local_stack, "print_banner", lambda stack: started.append("banner"))

    class SignalledEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            # What Ctrl-C twice does while `run` waits: stop, then force.
            handlers[signal.SIGINT](signal.SIGINT, None)
            handlers[signal.SIGTERM](signal.SIGTERM, None)
            return True

    # Only the Event `run` makes is replaced (other threads' events keep theirs).
    monkeypatch.setattr(local_stack.threading, "Event", SignalledEvent)
    app = write_settings(tmp_path, {"AzureWebJobsStorage": ""})
    assert local_stack.run(app, 1.0) == 0
    assert set(handlers) == {signal.SIGINT, signal.SIGTERM}
    assert started == ["free 7071", "host 7071 True", "banner", "kill host", "stop host 30"]


def test_run_stops_the_stack_when_a_service_exits_by_itself(
    started: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(local_stack.signal, "signal", lambda signum, handler: None)
    monkeypatch.setattr(local_stack, "WATCH_SECONDS", 0.01)
    checks: list[str] = []

    def banner(stack: Stack) -> None:
        checks.append("banner")
        twilio = stack.services[1]
        assert twilio.name == "twilio"
        twilio.code = -signal.SIGTERM  # type: ignore[attr-defined]

    monkeypatch.setattr(local_stack, "print_banner", banner)
    assert local_stack.run(write_settings(tmp_path, LOCAL_VALUES), 1.0) == 1
    assert checks == ["banner"]
    assert capsys.readouterr().err == "error: twilio exited (code -15); stopping the stack\n"
    assert started[-3:] == ["stop host 30", "stop twilio 10", "stop azurite 10"]


def test_run_reports_a_service_that_did_not_start(
    started: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(local_stack.signal, "signal", lambda signum, handler: None)

    def failing_host(app_dir: Path, port: int, echo: bool) -> Any:
        raise ServiceStartError("host exited with 1")

    monkeypatch.setattr(local_stack, "start_host", failing_host)
    assert local_stack.run(write_settings(tmp_path, {"AzureWebJobsStorage": ""}), 1.0) == 1
    assert capsys.readouterr().err == "error: host exited with 1\n"
