"""Start-up failures stop the host with a clear message naming the function, exit code 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from emulators.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[3]


def run_host_expecting_exit(app_root: Path, azurite: Azurite) -> subprocess.CompletedProcess[str]:
    """Run the host on an app that must not start; it has to exit on its own."""
    return subprocess.run(
        [sys.executable, "-m", "emulators.functions_host", "--port", "0", "--app", str(app_root)],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "AzureWebJobsStorage": azurite.connection_string},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_parameter_binding_mismatch_stops_startup(
    tmp_path: Path, host_tools: Any, azurite: Azurite
) -> None:
    app = host_tools.write_app(tmp_path / "app")
    app.add_function("good", host_tools.queue_trigger_json("good-queue"), "def main(msg): pass\n")
    # function.json calls the trigger "msg"; the Python parameter is "message".
    app.add_function(
        "mismatched", host_tools.queue_trigger_json("bad-queue"), "def main(message): pass\n"
    )
    result = run_host_expecting_exit(app.root, azurite)
    assert result.returncode == 1
    assert "function 'mismatched' failed to load" in result.stderr
    assert "declared in Python but not in function.json" in result.stderr
    assert "Host started" not in result.stdout


def test_import_error_stops_startup(tmp_path: Path, host_tools: Any, azurite: Azurite) -> None:
    app = host_tools.write_app(tmp_path / "app")
    app.add_function(
        "broken",
        host_tools.http_trigger_json("anonymous"),
        "import no_such_module_here\n\ndef main(req):\n    return 'x'\n",
    )
    result = run_host_expecting_exit(app.root, azurite)
    assert result.returncode == 1
    assert "function 'broken' failed to load" in result.stderr
    assert "No module named 'no_such_module_here'" in result.stderr


def test_unresolved_setting_in_queue_name_stops_startup(
    tmp_path: Path, host_tools: Any, azurite: Azurite
) -> None:
    app = host_tools.write_app(tmp_path / "app")
    app.add_function(
        "needs_setting",
        host_tools.queue_trigger_json("%NOT_DEFINED_ANYWHERE%"),
        host_tools.queue_function("needs_setting"),
    )
    result = run_host_expecting_exit(app.root, azurite)
    assert result.returncode == 1
    assert "function 'needs_setting'" in result.stderr
    assert "%NOT_DEFINED_ANYWHERE%" in result.stderr


def test_an_invalid_timer_schedule_stops_startup_naming_function_and_setting(
    tmp_path: Path, host_tools: Any, azurite: Azurite
) -> None:
    app = host_tools.write_app(tmp_path / "app", values={"SWEEP": "0 */5 * * * XYZ"})
    trigger = {"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "%SWEEP%"}
    app.add_function("sweeper", {"bindings": [trigger]}, "def main(timer): pass\n")
    result = run_host_expecting_exit(app.root, azurite)
    assert result.returncode == 1
    assert "function 'sweeper': schedule '%SWEEP%' (= '0 */5 * * * XYZ')" in result.stderr
    assert "was not recognized as a valid cron expression or timespan string" in result.stderr
    assert "'XYZ' is not a valid [DayOfWeek] crontab field expression" in result.stderr
