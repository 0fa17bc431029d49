"""`python -m producer`: enqueue requests, read delivery state and events, replay poison queues.

Exit codes: 0 done, 1 storage unreachable or failing, 2 bad input (nothing was sent),
3 no delivery recorded for the id."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from producer.client import Producer
from producer.enqueue import EnqueuedRequest, build_call_request, build_sms_request, load_script
from producer.errors import InvalidInputError, ProducerError
from producer.output import delivery_text, event_line, poison_listing_text
from producer.settings import ProducerSettings, load_settings, read_azd_environment
from producer.smoke import SmokeCheck, run_smoke

Handler = Callable[[argparse.Namespace], int]


def _metadata(text: str | None) -> object:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"metadata: --metadata is not JSON: {error}") from error


def _settings(args: argparse.Namespace) -> ProducerSettings:
    """The storage account and names the connection options choose."""
    return load_settings(
        args.connection,
        queue_url=args.queue_url,
        table_url=args.table_url,
        account_name=args.account_name,
        account_url=args.account_url,
        azd_env=args.azd_env,
    )


def _report_enqueued(sent: EnqueuedRequest) -> int:
    print(sent.id)
    print(f"enqueued on {sent.queue} (queue message {sent.message_id})", file=sys.stderr)
    return 0


def run_sms(args: argparse.Namespace) -> int:
    """`sms`: validate and enqueue one SMS request; print its id."""
    settings = _settings(args)
    request = build_sms_request(
        {
            "id": args.id,
            "to": args.to,
            "body": args.body,
            "from": args.from_,
            "media_urls": args.media_url,
            "messaging_service_sid": args.messaging_service_sid,
            "send_at": args.send_at,
            "validity_period": args.validity_period,
            "metadata": _metadata(args.metadata),
        }
    )
    return _report_enqueued(Producer(settings).send_sms(request))


def run_call(args: argparse.Namespace) -> int:
    """`call`: validate and enqueue one call request; print its id."""
    settings = _settings(args)
    script: object = None
    if args.say is not None:
        script = [{"type": "say", "text": args.say}]
    elif args.script is not None:
        script = load_script(args.script)
    request = build_call_request(
        {
            "id": args.id,
            "to": args.to,
            "from": args.from_,
            "script": script,
            "twiml": args.twiml,
            "url": args.url,
            "voice": args.voice,
            "language": args.language,
            "timeout": args.timeout,
            "machine_detection": args.machine_detection,
            "record": args.record,
            "metadata": _metadata(args.metadata),
        }
    )
    return _report_enqueued(Producer(settings).place_call(request))


def run_status(args: argparse.Namespace) -> int:
    """`status`: print the current delivery state and history of a request id."""
    producer = Producer(_settings(args))
    print(delivery_text(producer.status(args.id), as_json=args.json))
    return 0


def run_events(args: argparse.Namespace) -> int:
    """`events`: print delivery events; consume them unless --peek; keep polling with --follow."""
    producer = Producer(_settings(args))
    delete = not args.peek
    if args.follow:
        received = producer.follow_events(delete=delete, interval=args.interval)
    else:
        received = producer.events(delete=delete)
    try:
        for item in received:
            stream = sys.stdout if item.event is not None else sys.stderr
            print(event_line(item, as_json=args.json), file=stream, flush=True)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how --follow ends; the event being printed was not deleted
    return 0


def run_poison_list(args: argparse.Namespace) -> int:
    """`poison list`: show the first messages of a poison queue."""
    producer = Producer(_settings(args))
    print(poison_listing_text(producer.list_poison(args.queue), as_json=args.json))
    return 0


def run_poison_replay(args: argparse.Namespace) -> int:
    """`poison replay`: move poison messages back to their queue (all, or one with --id)."""
    producer = Producer(_settings(args))
    replayed = producer.replay_poison(args.queue, message_id=args.id)
    for message in replayed:
        print(f"replayed {message.poison_message_id} as {message.new_message_id}")
    print(f"{len(replayed)} message(s) replayed", file=sys.stderr)
    return 0


def run_smoke_test(args: argparse.Namespace) -> int:
    """`smoke`: check a deployment (webhooks refuse unsigned requests; an invalid request is
    recorded as rejected); sends nothing through Twilio. Exit 0 when every check passed."""
    settings = _settings(args)
    outputs = {} if args.azd_env is None else read_azd_environment(args.azd_env or None)
    base_url = args.base_url or outputs.get("PUBLIC_BASE_URL")
    if not base_url:
        raise InvalidInputError("no app URL: pass --base-url or --azd-env (PUBLIC_BASE_URL)")
    app_name = outputs.get("AZURE_FUNCTION_APP_NAME") or outputs.get("SERVICE_API_NAME")
    print(f"smoke test of {base_url}" + (f" (function app {app_name})" if app_name else ""))

    def report(check: SmokeCheck) -> None:
        print(f"  {'ok  ' if check.passed else 'FAIL'} {check.name}: {check.seen}", flush=True)

    passed = run_smoke(settings, base_url, timeout=args.timeout, report=report)
    print("smoke test passed" if passed else "smoke test FAILED")
    return 0 if passed else 1


def _connection_option() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    account = common.add_argument_group(
        "storage account",
        "default: env AzureWebJobsStorage (or its identity-based AzureWebJobsStorage__* "
        "settings), then local.settings.json Values in the current directory, then "
        "UseDevelopmentStorage=true",
    )
    account.add_argument("--connection", metavar="CONNECTION_STRING", help="connection string")
    account.add_argument(
        "--queue-url",
        metavar="URL",
        help="queue endpoint of a secretless account (https://<account>.queue.core.windows.net),"
        " with --table-url; signs in with DefaultAzureCredential (az login)",
    )
    account.add_argument("--table-url", metavar="URL", help="table endpoint, with --queue-url")
    account.add_argument(
        "--account-name",
        metavar="NAME",
        help="a secretless account in Azure's public cloud: its endpoints "
        "https://NAME.{queue,table}.core.windows.net, with DefaultAzureCredential",
    )
    account.add_argument(
        "--account-url",
        metavar="URL",
        help="a secretless account by any of its endpoints (https://<account>.blob."
        "core.windows.net …, any cloud): its queue and table endpoints, with "
        "DefaultAzureCredential",
    )
    account.add_argument(
        "--azd-env",
        nargs="?",
        const="",
        metavar="NAME",
        help="the endpoints of azd environment NAME's deployment (.azure/NAME/.env; no NAME: "
        "AZURE_ENV_NAME, then azd's default environment), with DefaultAzureCredential",
    )
    return common


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", required=True, help="recipient, E.164 (+15005550006)")
    parser.add_argument("--id", help="idempotency key (default: a new uuid4, printed)")
    parser.add_argument("--from", dest="from_", metavar="FROM", help="sender number, E.164")
    parser.add_argument("--metadata", metavar="JSON", help="JSON object copied into every event")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m producer`."""
    common = _connection_option()
    parser = argparse.ArgumentParser(
        prog="python -m producer",
        description="Enqueue SMS and call requests, read delivery state and events, "
        "replay poison queues.",
        epilog="exit codes: 0 done, 1 storage error (smoke: a check failed), 2 bad input "
        "(nothing sent), 3 id not found",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sms = commands.add_parser("sms", parents=[common], help="enqueue an SMS request")
    _add_request_options(sms)
    sms.add_argument("--body", help="message text (up to 1600 characters)")
    sms.add_argument("--media-url", action="append", metavar="URL", help="MMS media, repeatable")
    sms.add_argument("--messaging-service-sid", metavar="MG…", help="send via a Messaging Service")
    sms.add_argument("--send-at", metavar="ISO8601", help="schedule, with a timezone")
    sms.add_argument("--validity-period", type=int, metavar="SECONDS")
    sms.set_defaults(handler=run_sms)

    call = commands.add_parser("call", parents=[common], help="enqueue a call request")
    _add_request_options(call)
    program = call.add_mutually_exclusive_group(required=True)
    program.add_argument("--say", metavar="TEXT", help="speak TEXT (a one-step script)")
    program.add_argument("--script", type=Path, metavar="FILE", help="JSON file: script steps")
    program.add_argument("--twiml", metavar="XML", help="inline TwiML")
    program.add_argument("--url", help="TwiML URL Twilio fetches")
    call.add_argument("--voice", help="default voice of say steps")
    call.add_argument("--language", help="default language of say steps")
    call.add_argument("--timeout", type=int, metavar="SECONDS", help="how long to let it ring")
    call.add_argument("--machine-detection", choices=["Enable", "DetectMessageEnd"])
    call.add_argument("--record", action="store_true", default=None, help="record the call")
    call.set_defaults(handler=run_call)

    status = commands.add_parser(
        "status", parents=[common], help="show the delivery state and history of a request"
    )
    status.add_argument("id", metavar="ID", help="the request id")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=run_status)

    events = commands.add_parser(
        "events",
        parents=[common],
        help="print delivery events",
        description="Print delivery events, oldest first. Events are consumed (deleted once "
        "printed) unless --peek is given; --peek sees at most the first 32.",
    )
    events.add_argument("--follow", action="store_true", help="keep polling until Ctrl-C")
    events.add_argument("--peek", action="store_true", help="leave the events on the queue")
    events.add_argument("--json", action="store_true", help="one JSON event per line")
    events.add_argument("--interval", type=float, default=1.0, metavar="SECONDS")
    events.set_defaults(handler=run_events)

    smoke = commands.add_parser(
        "smoke",
        parents=[common],
        help="check a deployment end to end without sending anything",
        description="Unsigned requests to status_callback and twiml_voice must get 403; an SMS "
        "request with an invalid 'to' must be recorded as rejected. Nothing goes to Twilio.",
    )
    smoke.add_argument(
        "--base-url", metavar="URL", help="the app's PUBLIC_BASE_URL (default: from --azd-env)"
    )
    smoke.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="how long to wait for the rejected record (a cold start takes a while)",
    )
    smoke.set_defaults(handler=run_smoke_test)

    poison = commands.add_parser("poison", help="inspect or replay a poison queue")
    poison_commands = poison.add_subparsers(dest="poison_command", required=True, metavar="ACTION")
    queue_help = "the queue (sms-requests) or its poison queue (sms-requests-poison)"
    listing = poison_commands.add_parser("list", parents=[common], help="show poison messages")
    listing.add_argument("queue", metavar="QUEUE", help=queue_help)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=run_poison_list)
    replay = poison_commands.add_parser(
        "replay", parents=[common], help="move poison messages back to their queue"
    )
    replay.add_argument("queue", metavar="QUEUE", help=queue_help)
    replay.add_argument("--id", metavar="MESSAGE_ID", help="replay only this poison message")
    replay.set_defaults(handler=run_poison_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with `argv` (default: the process arguments); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad usage and 0 after --help
        return exit_.code if isinstance(exit_.code, int) else 2
    handler: Handler = args.handler
    try:
        return handler(args)
    except ProducerError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
