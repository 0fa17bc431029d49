"""How the CLI shows events and poison messages: readable text, or JSON for machines."""

from __future__ import annotations

import json
from datetime import datetime

from producer.events import ReceivedEvent
from producer.poison import PoisonListing, PoisonMessage
from producer.status import DeliveryRecord, Row


def _when(at: datetime | None) -> str:
    return at.isoformat() if at is not None else "-"


def _json_value(value: object) -> str:
    """`json.dumps` fallback: timestamps as ISO 8601, anything else as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=_json_value)
    return str(value)


def delivery_text(record: DeliveryRecord, *, as_json: bool) -> str:
    """A request's current state and its history, as JSON or as readable text."""
    if as_json:
        document = {"id": record.request_id, "current": record.current, "history": record.history}
        return json.dumps(document, indent=2, sort_keys=True, default=_json_value)
    lines = [f"request {record.request_id}"]
    current: Row = record.current or {}
    lines.append(f"  status: {current.get('status', '(no state row)')}")
    # Cleared properties (None) are left out: they say nothing to a reader.
    shown = sorted(key for key, value in current.items() if value is not None)
    lines += [f"  {key}: {_shown(current[key])}" for key in shown if key not in {"status", "row"}]
    lines.append(f"history ({len(record.history)} reports, oldest first):")
    for row in record.history:
        details = " ".join(
            f"{key}={_shown(row[key])}"
            for key in sorted(row)
            if key not in {"at", "status", "row"} and row[key] is not None
        )
        lines.append(f"  {_shown(row.get('at', '-'))}  {row.get('status', '-')}  {details}")
    return "\n".join(lines)


def event_line(received: ReceivedEvent, *, as_json: bool) -> str:
    """One line per event: the event's JSON, or `at id channel status sid [error] [detail]`."""
    event = received.event
    if event is None:
        return f"message {received.message_id} is not a delivery event ({received.problem}): " + (
            received.text
        )
    if as_json:
        return event.model_dump_json()
    parts = [_when(event.at), event.id, event.channel, f"#{event.sequence}", event.status]
    parts.append(f"sid={event.twilio_sid or '-'}")
    if event.error_code is not None or event.error_message:
        parts.append(f"error={event.error_code or '-'} {event.error_message or ''}".rstrip())
    if event.detail:
        parts.append(f"detail={json.dumps(event.detail, sort_keys=True)}")
    return " ".join(parts)


def _poison_json(message: PoisonMessage) -> dict[str, object]:
    return {
        "message_id": message.message_id,
        "inserted_at": _when(message.inserted_at),
        "dequeue_count": message.dequeue_count,
        "base64": message.data is not None,
        "utf8": message.text is not None,
        "payload": message.payload,
        "text": message.text if message.text is not None else message.raw,
    }


def poison_listing_text(listing: PoisonListing, *, as_json: bool) -> str:
    """The listing as one JSON document, or a block of text per message."""
    if as_json:
        document = {
            "queue": listing.queue,
            "approximate_count": listing.approximate_count,
            "messages": [_poison_json(message) for message in listing.messages],
        }
        return json.dumps(document, indent=2)
    shown = len(listing.messages)
    lines = [f"{listing.queue}: {listing.approximate_count} message(s), showing {shown}"]
    for message in listing.messages:
        lines.append(
            f"- {message.message_id}  inserted {_when(message.inserted_at)}  "
            f"dequeue count {message.dequeue_count}"
        )
        payload = message.payload
        if payload is not None:
            lines.append("  " + json.dumps(payload, sort_keys=True))
        elif message.text is not None:
            lines.append(f"  text (not JSON): {message.text}")
        elif message.data is not None:
            lines.append(
                f"  binary (base64 of {len(message.data)} bytes, not UTF-8): {message.raw}"
            )
        else:
            lines.append(f"  raw (not base64): {message.raw}")
    return "\n".join(lines)
