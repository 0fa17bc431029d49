"""A message's emulated life and its status callbacks: order, parameters, signature, retries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

SERVICE = "MG" + "c" * 32
FROM = "+15551259999"


def wait_statuses(kit: Any, sink: Any, sid: str, expected: list[str]) -> list[Any]:
    """Wait until the sink got `len(expected)` callbacks for `sid`; return them."""
    kit.wait_for(lambda: len(sink.for_sid(sid)) >= len(expected), f"callbacks {expected} for {sid}")
    return sink.for_sid(sid)


def test_plain_message_goes_queued_sending_sent_delivered(
    client: Client, kit: Any, sink: Any
) -> None:
    message = client.messages.create(
        to="+15551250001", from_=FROM, body="hi", status_callback=sink.url("/ok")
    )
    assert message.status == "queued"
    received = wait_statuses(kit, sink, message.sid, ["sent", "delivered"])
    # No callback for the initial status (queued); `sending` is not reported either.
    assert [r.form["MessageStatus"] for r in received] == ["sent", "delivered"]
    final = client.messages(message.sid).fetch()
    assert final.status == "delivered"
    assert final.date_sent is not None
    assert final.price is not None
    assert final.price.startswith("-")


def test_callback_parameters_and_headers(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15551250002", from_=FROM, body="hi", status_callback=sink.url("/ok?rid=42&channel=sms")
    )
    sent, delivered = wait_statuses(kit, sink, message.sid, ["sent", "delivered"])
    assert sent.form == {
        "AccountSid": kit.emulator.account_sid,
        "ApiVersion": "2010-04-01",
        "From": FROM,
        "MessageSid": message.sid,
        "MessageStatus": "sent",
        "SmsSid": message.sid,
        "SmsStatus": "sent",
        "To": "+15551250002",
    }
    assert re.fullmatch(r"\d{10}", delivered.form["RawDlrDoneDate"])
    assert "ErrorCode" not in delivered.form
    assert sent.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert sent.method == "POST"
    assert sent.url.endswith("/ok?rid=42&channel=sms")
    tokens = {r.headers["I-Twilio-Idempotency-Token"] for r in (sent, delivered)}
    assert len(tokens) == 2  # one token per callback


def test_callbacks_are_signed_with_the_auth_token(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15551250003", from_=FROM, body="hi", status_callback=sink.url("/ok?rid=7")
    )
    received = wait_statuses(kit, sink, message.sid, ["sent", "delivered"])
    validator = RequestValidator(kit.emulator.auth_token)
    for request in received:
        signature = request.headers["X-Twilio-Signature"]
        assert validator.validate(request.url, request.form, signature)
        assert not RequestValidator("other-token").validate(request.url, request.form, signature)
        tampered = {**request.form, "MessageStatus": "failed"}
        assert not validator.validate(request.url, tampered, signature)


@pytest.mark.parametrize(
    ("to", "status", "code"),
    [
        ("+15550030003", "undelivered", "30003"),
        ("+15550030005", "undelivered", "30005"),
        ("+15550030006", "undelivered", "30006"),
    ],
)
def test_undelivered_numbers(
    client: Client, kit: Any, sink: Any, to: str, status: str, code: str
) -> None:
    message = client.messages.create(to=to, from_=FROM, body="x", status_callback=sink.url())
    sent, last = wait_statuses(kit, sink, message.sid, ["sent", status])
    assert sent.form["MessageStatus"] == "sent"
    assert last.form["MessageStatus"] == status
    assert last.form["ErrorCode"] == code
    assert "RawDlrDoneDate" in last.form
    final = client.messages(message.sid).fetch()
    assert final.status == status
    assert final.error_code == int(code)


def test_failed_number(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15550030008", from_=FROM, body="x", status_callback=sink.url()
    )
    (failed,) = wait_statuses(kit, sink, message.sid, ["failed"])
    assert failed.form["MessageStatus"] == "failed"
    assert failed.form["ErrorCode"] == "30008"
    assert "RawDlrDoneDate" not in failed.form
    assert client.messages(message.sid).fetch().error_code == 30008


def test_stays_sent_number(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15550000200", from_=FROM, body="x", status_callback=sink.url()
    )
    (sent,) = wait_statuses(kit, sink, message.sid, ["sent"])
    assert sent.form["MessageStatus"] == "sent"
    # The life is over at `sent`: the emulator's own record says so.
    kit.wait_for(lambda: kit.stored(message.sid)["outcome"] == "sent", "outcome recorded")
    assert client.messages(message.sid).fetch().status == "sent"
    assert len(kit.deliveries(message.sid)) == 1


def test_messaging_service_message_reports_queued(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15551250004", messaging_service_sid=SERVICE, body="x", status_callback=sink.url()
    )
    assert message.status == "accepted"
    received = wait_statuses(kit, sink, message.sid, ["queued", "sent", "delivered"])
    assert [r.form["MessageStatus"] for r in received] == ["queued", "sent", "delivered"]
    assert all(r.form["MessagingServiceSid"] == SERVICE for r in received)
    assert all(r.form.get("From") for r in received)


def test_service_message_has_zero_segments_until_a_sender_is_assigned(
    client: Client, kit: Any, sink: Any
) -> None:
    body = "x" * 200  # two GSM-7 segments
    message = client.messages.create(
        to="+15551250014", messaging_service_sid=SERVICE, body=body, status_callback=sink.url()
    )
    scheduled = client.messages.create(
        to="+15551250015",
        messaging_service_sid=SERVICE,
        body=body,
        schedule_type="fixed",
        send_at=datetime.now(UTC) + timedelta(days=2),
    )
    # Twilio: "For messages sent via a Messaging Service, num_segments is initially 0".
    assert (message.num_segments, scheduled.num_segments) == ("0", "0")
    wait_statuses(kit, sink, message.sid, ["queued"])
    assert client.messages(message.sid).fetch().num_segments == "2"
    canceled = client.messages(scheduled.sid).update(status="canceled")
    assert canceled.num_segments == "0"


def test_canceled_scheduled_message_reports_canceled(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15551250005",
        messaging_service_sid=SERVICE,
        body="x",
        schedule_type="fixed",
        send_at=datetime.now(UTC) + timedelta(days=2),
        status_callback=sink.url(),
    )
    client.messages(message.sid).update(status="canceled")
    (canceled,) = wait_statuses(kit, sink, message.sid, ["canceled"])
    assert canceled.form["MessageStatus"] == "canceled"


def test_scheduled_message_is_sent_at_send_at(client: Client, kit: Any, sink: Any) -> None:
    # 16 emulated minutes pass in under 5 real seconds at the session's speed (200).
    message = client.messages.create(
        to="+15551250006",
        messaging_service_sid=SERVICE,
        body="x",
        schedule_type="fixed",
        send_at=datetime.now(UTC) + timedelta(minutes=15, seconds=10),
        status_callback=sink.url(),
    )
    assert message.status == "scheduled"
    received = wait_statuses(kit, sink, message.sid, ["queued", "sent", "delivered"])
    assert [r.form["MessageStatus"] for r in received] == ["queued", "sent", "delivered"]


def test_no_status_callback_means_no_deliveries(client: Client, kit: Any) -> None:
    message = client.messages.create(to="+15551250007", from_=FROM, body="x")
    kit.wait_for(lambda: client.messages(message.sid).fetch().status == "delivered", "delivery")
    assert kit.deliveries(message.sid) == []


def test_failed_endpoint_is_retried_once_with_same_token(
    client: Client, kit: Any, sink: Any
) -> None:
    message = client.messages.create(
        to="+15550000200", from_=FROM, body="x", status_callback=sink.url("/status/500")
    )
    kit.wait_for(lambda: len(sink.for_sid(message.sid)) >= 2, "the retry")
    attempts = kit.wait_for(lambda: len(d := kit.deliveries(message.sid)) >= 2 and d, "log")
    assert [a["attempt"] for a in attempts] == [1, 2]
    assert [a["status"] for a in attempts] == [500, 500]
    assert attempts[0]["idempotency_token"] == attempts[1]["idempotency_token"]
    tokens = {r.headers["I-Twilio-Idempotency-Token"] for r in sink.for_sid(message.sid)}
    assert len(tokens) == 1


def test_client_errors_are_not_retried(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15550000200", from_=FROM, body="x", status_callback=sink.url("/status/404")
    )
    (attempt,) = kit.wait_for(lambda: kit.deliveries(message.sid), "the delivery")
    assert attempt["status"] == 404
    kit.wait_for(lambda: kit.stored(message.sid)["status"] == "sent", "the sent status")


def test_retry_count_override_in_fragment(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15550000200", from_=FROM, body="x", status_callback=sink.url("/status/503#rc=3")
    )
    attempts = kit.wait_for(lambda: len(d := kit.deliveries(message.sid)) >= 4 and d, "retries")
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    # The fragment configures the emulator; it is not part of the requested or signed URL.
    assert all("#" not in a["url"] for a in attempts)
    assert all(not r.url.endswith("rc=3") for r in sink.for_sid(message.sid))


def test_unreachable_endpoint_is_retried(client: Client, kit: Any) -> None:
    message = client.messages.create(
        to="+15550000200", from_=FROM, body="x", status_callback="http://127.0.0.1:9/cb"
    )
    attempts = kit.wait_for(lambda: len(d := kit.deliveries(message.sid)) >= 2 and d, "retries")
    assert all(a["status"] is None for a in attempts)
    assert all(a["error"].startswith("connect") for a in attempts)


def test_read_timeout_is_retried(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15550000200", from_=FROM, body="x", status_callback=sink.url("/sleep/1000#rt=150")
    )
    attempts = kit.wait_for(
        lambda: len(d := kit.deliveries(message.sid)) >= 2 and d[-1]["error"] and d, "retry"
    )
    assert [a["attempt"] for a in attempts] == [1, 2]
    assert all(a["error"].startswith("timeout") for a in attempts)


def test_inspection_records_what_the_endpoint_answered(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15551250008", from_=FROM, body="x", status_callback=sink.url("/ok")
    )
    deliveries = kit.wait_for(lambda: len(d := kit.deliveries(message.sid)) >= 2 and d, "log")
    first = deliveries[0]
    assert first["kind"] == "status_callback"
    assert first["url"] == sink.url("/ok")
    assert first["method"] == "POST"
    assert first["params"]["MessageStatus"] == "sent"
    assert first["status"] == 200
    assert first["signature"] == sink.for_sid(message.sid)[0].headers["X-Twilio-Signature"]
