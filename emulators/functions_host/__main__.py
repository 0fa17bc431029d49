"""`python -m emulators.functions_host [--port 7071] [--app .] [--host 127.0.0.1]
[--functions NAME ...]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from emulators.functions_host.function_host import HostStartError, run_host
from emulators.functions_host.function_metadata import FunctionConfigError
from emulators.functions_host.host_config import HostConfigError
from emulators.functions_host.invocation_log import route_python_logging
from emulators.functions_host.runtime_driver import FunctionLoadError
from emulators.functions_host.settings_loader import SettingsError


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m emulators.functions_host",
        description="Local stand-in for the Azure Functions host (v1 Python apps).",
        epilog=(
            "emulators.functions_host is a package of this repository, not an installed one: "
            "run it from the repository root, or put the root on PYTHONPATH when running "
            "elsewhere, e.g. PYTHONPATH=/path/to/repo python -m emulators.functions_host "
            "--app /path/to/app. --app may point anywhere; the app folder is put on sys.path "
            "itself."
        ),
    )
    parser.add_argument("--app", default=".", help="function app folder (default: .)")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP listen address")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="HTTP port (default: local.settings.json Host.LocalHttpPort, else 7071; 0 = free)",
    )
    parser.add_argument(
        "--functions",
        nargs="+",
        metavar="NAME",
        help=(
            "load only these functions, as `func start --functions` does (default: all); e.g. "
            "the HTTP functions in one host and the others in another, as Flex Consumption's "
            "per-function scaling runs them"
        ),
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the host; 0 after a clean shutdown, 1 when the app cannot start."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app_dir = Path(args.app).resolve()
    route_python_logging()
    try:
        return asyncio.run(run_host(app_dir, args.host, args.port, args.functions))
    except (
        FunctionLoadError,
        FunctionConfigError,
        HostConfigError,
        SettingsError,
        HostStartError,
        OSError,
    ) as error:
        print(f"Error: the function host could not start: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
