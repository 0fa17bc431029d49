"""The command line's help says how to run the module outside the repository root."""

from __future__ import annotations

import pytest

from emulators.functions_host.__main__ import parse_args


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
