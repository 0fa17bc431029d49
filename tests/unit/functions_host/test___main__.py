"""The command line: its help says how to run the module outside the repository root, and a
start-up error is one line and exit code 1 (run_host replaced: it would serve on a socket)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulators.functions_host import __main__ as host_main
from emulators.functions_host.__main__ import parse_args
from emulators.functions_host.function_host import HostStartError
from emulators.functions_host.function_metadata import FunctionConfigError
from emulators.functions_host.host_config import HostConfigError
from emulators.functions_host.runtime_driver import FunctionLoadError
from emulators.functions_host.settings_loader import SettingsError


def test_help_explains_repo_root_or_pythonpath(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse re-wraps the epilog
    assert "run it from the repository root" in text
    assert "PYTHONPATH=/path/to/repo python -m emulators.functions_host --app /path/to/app" in text


def test_app_port_and_host_options() -> None:
    args = parse_args(["--app", "/elsewhere", "--port", "0"])
    assert (args.app, args.port, args.host) == ("/elsewhere", 0, "127.0.0.1")


@pytest.fixture
def no_logging_route(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_main, "route_python_logging", lambda: None)


@pytest.mark.usefixtures("no_logging_route")
def test_main_runs_the_host_on_the_resolved_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[tuple[Path, str, int | None, list[str] | None]] = []

    async def run_host(
        app_dir: Path, host: str, port: int | None, functions: list[str] | None
    ) -> int:
        calls.append((app_dir, host, port, functions))
        return 0

    monkeypatch.setattr(host_main, "run_host", run_host)
    monkeypatch.chdir(tmp_path)
    assert host_main.main(["--app", "sub/..", "--port", "7099"]) == 0
    assert host_main.main(["--functions", "status_callback", "twiml_voice"]) == 0
    assert calls == [
        (tmp_path.resolve(), "127.0.0.1", 7099, None),
        (tmp_path.resolve(), "127.0.0.1", None, ["status_callback", "twiml_voice"]),
    ]


@pytest.mark.usefixtures("no_logging_route")
@pytest.mark.parametrize(
    "error",
    [
        FunctionLoadError("f", "import failed"),
        FunctionConfigError("bad function.json"),
        HostConfigError("bad host.json"),
        SettingsError("bad settings"),
        HostStartError("no functions"),
        OSError("address in use"),
    ],
)
def test_a_start_up_error_is_one_line_and_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: Exception
) -> None:
    async def run_host(
        app_dir: Path, host: str, port: int | None, functions: list[str] | None
    ) -> int:
        raise error

    monkeypatch.setattr(host_main, "run_host", run_host)
    assert host_main.main(["--app", "."]) == 1
    assert capsys.readouterr().err == f"Error: the function host could not start: {error}\n"
