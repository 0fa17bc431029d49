"""What the CLI prints: delivery state, events and poison listings, as text for people and as
JSON for machines."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from producer.events import ReceivedEvent, parse_event
from producer.output import delivery_text, event_line, poison_listing_text
from producer.poison import PoisonListing, PoisonMessage
from producer.queues import encode_message_text
from producer.status import DeliveryRecord
from shared.contracts import DeliveryEvent

AT = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 28, 23, 1, tzinfo=UTC)
RECORD = DeliveryRecord(
    "r1",
    {
        "row": "state",
        "status": "failed",
        "twilio_sid": "SM1",
        "error_code": 30003,
        "metadata": {"order": 7},
        "error_message": None,
        "updated_at": LATER,
    },
    [
        {"row": "h-local-1", "at": AT, "status": "queued", "attempt": 1, "detail": None},
        {"row": "h-cb-SM1", "at": LATER, "status": "failed", "error_code": 30003},
    ],
)


def delivery_event(**changes: object) -> DeliveryEvent:
    fields: dict[str, object] = {
        "id": "r1",
        "channel": "sms",
        "status": "delivered",
        "twilio_sid": "SM1",
        "at": AT,
        "sequence": 2,
    }
    return DeliveryEvent.model_validate({**fields, **changes})


def received(event: DeliveryEvent) -> ReceivedEvent:
    return ReceivedEvent("m1", AT, event.model_dump_json(), event)


def test_delivery_text_for_people() -> None:
    assert delivery_text(RECORD, as_json=False).splitlines() == [
        "request r1",
        "  status: failed",
        "  error_code: 30003",
        '  metadata: {"order": 7}',
        "  twilio_sid: SM1",
        "  updated_at: 2026-11-28T23:01:00+00:00",
        "history (2 reports, oldest first):",
        "  2026-11-28T23:00:00+00:00  queued  attempt=1",
        "  2026-11-28T23:01:00+00:00  failed  error_code=30003",
    ]


def test_delivery_text_without_a_state_row() -> None:
    record = DeliveryRecord("r1", None, [{"row": "h-x", "status": "rejected"}])
    lines = delivery_text(record, as_json=False).splitlines()
    assert lines[1] == "  status: (no state row)"
    assert lines[-1] == "  -  rejected  "


def test_delivery_json_for_machines() -> None:
    document = json.loads(delivery_text(RECORD, as_json=True))
    assert document["id"] == "r1"
    assert document["current"]["updated_at"] == "2026-11-28T23:01:00+00:00"
    assert document["current"]["error_message"] is None
    assert [row["status"] for row in document["history"]] == ["queued", "failed"]


def test_event_line_for_people() -> None:
    assert event_line(received(delivery_event()), as_json=False) == (
        "2026-11-28T23:00:00+00:00 r1 sms #2 delivered sid=SM1"
    )
    failed = delivery_event(
        status="failed", twilio_sid=None, error_code=30003, error_message="Unreachable"
    )
    assert event_line(received(failed), as_json=False) == (
        "2026-11-28T23:00:00+00:00 r1 sms #2 failed sid=- error=30003 Unreachable"
    )
    detailed = delivery_event(detail={"reason": "x", "a": 1}, error_message="oops")
    assert event_line(received(detailed), as_json=False).endswith(
        ' sid=SM1 error=- oops detail={"a": 1, "reason": "x"}'
    )


def test_event_line_as_json_is_the_event() -> None:
    event = delivery_event(metadata={"order": 7})
    assert DeliveryEvent.model_validate_json(event_line(received(event), as_json=True)) == event


def test_a_message_that_is_no_event_is_explained_in_both_forms() -> None:
    bad = parse_event("m9", AT, encode_message_text("hello"))
    for as_json in (False, True):
        line = event_line(bad, as_json=as_json)
        assert line.startswith("message m9 is not a delivery event (")
        assert f"({bad.problem}): hello" in line


BINARY = base64.b64encode(b"\xff\xfe").decode()
LISTING = PoisonListing(
    "sms-requests-poison",
    [
        PoisonMessage("m1", AT, 5, encode_message_text('{"id": "a"}')),
        PoisonMessage("m2", None, 5, encode_message_text("hello")),
        PoisonMessage("m3", AT, None, BINARY),
        PoisonMessage("m4", AT, 1, "not base64!"),
    ],
    7,
)


def test_poison_listing_for_people() -> None:
    assert poison_listing_text(LISTING, as_json=False).splitlines() == [
        "sms-requests-poison: 7 message(s), showing 4",
        "- m1  inserted 2026-11-28T23:00:00+00:00  dequeue count 5",
        '  {"id": "a"}',
        "- m2  inserted -  dequeue count 5",
        "  text (not JSON): hello",
        "- m3  inserted 2026-11-28T23:00:00+00:00  dequeue count None",
        f"  binary (base64 of 2 bytes, not UTF-8): {BINARY}",
        "- m4  inserted 2026-11-28T23:00:00+00:00  dequeue count 1",
        "  raw (not base64): not base64!",
    ]


def test_poison_listing_as_json() -> None:
    document = json.loads(poison_listing_text(LISTING, as_json=True))
    assert (document["queue"], document["approximate_count"]) == ("sms-requests-poison", 7)
    first, second, third, fourth = document["messages"]
    assert first == {
        "message_id": "m1",
        "inserted_at": "2026-11-28T23:00:00+00:00",
        "dequeue_count": 5,
        "base64": True,
        "utf8": True,
        "payload": {"id": "a"},
        "text": '{"id": "a"}',
    }
    assert (second["inserted_at"], second["payload"], second["text"]) == ("-", None, "hello")
    assert (third["base64"], third["utf8"], third["text"]) == (True, False, BINARY)
    assert (fourth["base64"], fourth["utf8"], fourth["text"]) == (False, False, "not base64!")


def test_an_empty_listing() -> None:
    empty = PoisonListing("q-poison", [], 0)
    assert poison_listing_text(empty, as_json=False) == "q-poison: 0 message(s), showing 0"
