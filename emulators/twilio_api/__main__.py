"""CLI: `python -m emulators.twilio_api [--host H] [--port P] [--speed N] …`.

Prints exactly one line `listening on http://HOST:PORT` once the server accepts connections.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

from aiohttp import web

from emulators.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_PORT,
    DEFAULT_TEST_ACCOUNT_SID,
    DEFAULT_TEST_AUTH_TOKEN,
)
from emulators.twilio_api.app import create_app
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.faults import SWITCHES, FaultSettings, parse_rule


def _api_key(text: str) -> tuple[str, str]:
    sid, sep, secret = text.partition(":")
    if not sep or not sid.startswith("SK") or not secret:
        raise argparse.ArgumentTypeError("expected SK…:secret")
    return sid, secret


def parse_args(argv: list[str] | None = None) -> EmulatorConfig:
    """Turn command-line arguments into an EmulatorConfig."""
    parser = argparse.ArgumentParser(
        prog="python -m emulators.twilio_api",
        description="Local emulator of Twilio's REST API v2010 (Messages and Calls).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    # Credentials may come from the environment so a token never shows in `ps`.
    parser.add_argument(
        "--account-sid",
        default=os.environ.get("TWILIO_EMULATOR_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID,
        help="default: $TWILIO_EMULATOR_ACCOUNT_SID, else the documented default",
    )
    parser.add_argument(
        "--auth-token",
        default=os.environ.get("TWILIO_EMULATOR_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN,
        help="default: $TWILIO_EMULATOR_AUTH_TOKEN, else the documented default",
    )
    parser.add_argument("--test-account-sid", default=DEFAULT_TEST_ACCOUNT_SID)
    parser.add_argument("--test-auth-token", default=DEFAULT_TEST_AUTH_TOKEN)
    parser.add_argument(
        "--api-key", type=_api_key, action="append", default=[], metavar="SK…:SECRET"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="emulated seconds per second")
    parser.add_argument("--cps", type=float, default=1.0, help="outbound calls per second")
    rule = "RATE[:COUNT]"
    parser.add_argument("--fault-429", type=parse_rule, metavar=rule)
    parser.add_argument("--fault-500", type=parse_rule, metavar=rule)
    parser.add_argument("--fault-500-after-store", type=parse_rule, metavar=rule)
    parser.add_argument("--fault-slow", type=parse_rule, metavar=rule)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--fault-duplicate-callbacks", type=parse_rule, metavar=rule)
    parser.add_argument("--fault-out-of-order-callbacks", type=parse_rule, metavar=rule)
    parser.add_argument("--concurrency-limit", type=int, default=None)
    parser.add_argument("--fault-seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be positive")
    if args.cps <= 0:
        parser.error("--cps must be positive")
    if args.test_account_sid == args.account_sid:
        parser.error("--test-account-sid must differ from --account-sid")
    faults = FaultSettings(slow_seconds=args.slow_seconds, seed=args.fault_seed)
    faults.concurrency_limit = args.concurrency_limit
    for switch in SWITCHES:
        value = getattr(args, "fault_" + switch.removeprefix("error_"))
        if value is not None:
            setattr(faults, switch, value)
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        test_account_sid=args.test_account_sid,
        test_auth_token=args.test_auth_token,
        api_keys=dict(args.api_key),
        speed=args.speed,
        cps=args.cps,
        faults=faults,
    )


async def serve(config: EmulatorConfig) -> None:
    """Serve until SIGINT/SIGTERM; announce the bound address on stdout."""
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    port = runner.addresses[0][1]  # the real port when --port 0
    print(f"listening on http://{config.host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
