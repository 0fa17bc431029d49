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
from producer.settings import load_settings

Handler = Callable[[argparse.Namespace], int]


def _metadata(text: str | None) -> object:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"metadata: --metadata is not JSON: {error}") from error


def _report_enqueued(sent: EnqueuedRequest) -> int:
    print(sent.id)
    print(f"enqueued on {sent.queue} (queue message {sent.message_id})", file=sys.stderr)
    return 0


def run_sms(args: argparse.Namespace) -> int:
    """`sms`: validate and enqueue one SMS request; print its id."""
    settings = load_settings(args.connection)
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
    settings = load_settings(args.connection)
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
    producer = Producer(load_settings(args.connection))
    print(delivery_text(producer.status(args.id), as_json=args.json))
    return 0


def run_events(args: argparse.Namespace) -> int:
    """`events`: print delivery events; consume them unless --peek; keep polling with --follow."""
    producer = Producer(load_settings(args.connection))
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
    producer = Producer(load_settings(args.connection))
    print(poison_listing_text(producer.list_poison(args.queue), as_json=args.json))
    return 0


def run_poison_replay(args: argparse.Namespace) -> int:
    """`poison replay`: move poison messages back to their queue (all, or one with --id)."""
    producer = Producer(load_settings(args.connection))
    replayed = producer.replay_poison(args.queue, message_id=args.id)
    for message in replayed:
        print(f"replayed {message.poison_message_id} as {message.new_message_id}")
    print(f"{len(replayed)} message(s) replayed", file=sys.stderr)
    return 0


def _connection_option() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--connection",
        metavar="CONNECTION_STRING",
        help="storage connection string (default: env AzureWebJobsStorage, then "
        "local.settings.json Values in the current directory, then UseDevelopmentStorage=true)",
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
        epilog="exit codes: 0 done, 1 storage error, 2 bad input (nothing sent), 3 id not found",
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
