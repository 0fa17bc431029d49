"""`send_pipeline.process` over an in-memory table, a list publisher and a scripted sender: first
send, copies, conflicts, reclaims and reconciles, each failure class, the last attempt, publish
failures after the transaction, bad input, and the first send's storage requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError

from shared.contracts import SmsRequest
from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_report import RecordOutcome, Report
from shared.delivery_store import (
    OPT_OUT_PARTITION,
    DeliveryState,
    now,
    open_partition,
)
from shared.failure_classes import ClassifiedError, FailureClass
from shared.send_channel import SendOutcome
from shared.send_claims import ClaimInProgressError, claim, request_fingerprint
from shared.send_pipeline import process
from shared.status_sweeper import sweep
from shared.twilio_gateway import TwilioResource
from tests.fakes.app_settings import settings_for_test
from tests.fakes.senders import (
    ScriptedSender,
    call_request,
    call_sender,
    message_sid,
    queued,
    sms_request,
    sms_sender,
)
from tests.fakes.table_storage import FakeTable, ListPublisher
from tests.fakes.twilio_status import FakeStatusReader

SID = message_sid(1)
LAST = 5  # host.json's maxDequeueCount


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from settings_for_test(monkeypatch)


def _state(recorder: DeliveryRecorder, rid: str = "r-1") -> DeliveryState:
    state = recorder.store.get_state(rid)
    assert state is not None, f"no state row for {rid}"
    return state


def _history_keys(recorder: DeliveryRecorder, rid: str = "r-1") -> list[str]:
    return [str(row["RowKey"]) for row in recorder.store.list_history(rid)]


def _events(published: ListPublisher) -> list[tuple[str, str, str | None]]:
    return [(e.id, e.status, e.twilio_sid) for e in published.events]


def _sent(recorder: DeliveryRecorder, sender: ScriptedSender, rid: str = "r-1") -> None:
    """A first send of `rid` that went through (SID recorded, event out)."""
    sender.sends.append(TwilioResource(sid=SID, status="queued"))
    assert process(sender, queued(sms_request(rid)), recorder) == SendOutcome.SENT


# --- the first send ----------------------------------------------------------------------


def test_a_first_send_records_the_sid_history_event_and_index(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    sender = sms_sender(sends=[TwilioResource(sid=SID, status="queued")])
    assert process(sender, queued(sms_request(metadata={"k": 1})), recorder) == SendOutcome.SENT
    assert [r.id for r in sender.sent] == ["r-1"]
    assert sender.looked == []  # a first claim never reconciles
    state = _state(recorder)
    assert (state.status, state.status_source, state.twilio_sid) == ("queued", "twilio", SID)
    assert (state.attempts, state.event_count, state.claimed_by) == (1, 1, "msg-1")
    claimed = SmsRequest.model_validate(sms_request(metadata={"k": 1}))
    assert state.request_hash == request_fingerprint(claimed)
    assert state.remembered_report is not None
    assert _history_keys(recorder) == ["h-local-1-created"]
    assert recorder.store.sid_owner(SID) == "r-1"
    (event,) = published.events
    assert (event.status, event.twilio_sid, event.sequence) == ("queued", SID, 1)
    assert (event.metadata, event.detail) == ({"k": 1}, {"reconciled": False})
    assert state.created_at is not None
    (due,) = recorder.store.due_deliveries(state.created_at.replace(year=2100), 10)
    assert (due.request_id, due.partition) == ("r-1", open_partition(state.created_at))


def test_a_first_send_costs_three_inserts_and_one_transaction(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    sender = sms_sender(sends=[TwilioResource(sid=SID, status="queued")])
    process(sender, queued(sms_request()), recorder)
    # index row, claim, `~sid` row; the state change + history row in one transaction.
    assert table.requests == {"insert": 3, "transaction": 1}
    assert len(published.events) == 1


# --- copies and conflicts ----------------------------------------------------------------


def test_a_duplicate_copy_is_not_sent_and_publishes_nothing(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    sender = sms_sender()
    _sent(recorder, sender)
    copy = queued(sms_request(), message_id="msg-2")
    assert process(sender, copy, recorder) == SendOutcome.DUPLICATE
    assert len(sender.sent) == 1
    assert len(published.events) == 1
    assert _history_keys(recorder) == ["h-local-1-created"]


def test_a_copy_with_other_content_is_a_conflict_and_leaves_the_delivery_alone(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    sender = sms_sender()
    _sent(recorder, sender)
    sent = Report(key="cb-sent", status="sent", source="twilio", twilio_sid=SID)
    assert recorder.record("r-1", sent) == RecordOutcome.APPLIED  # the delivery's 2nd event
    before = _state(recorder)
    other = queued(sms_request(body="something else", metadata={"m": 2}), message_id="msg-2")
    assert process(sender, other, recorder) == SendOutcome.CONFLICT
    assert len(sender.sent) == 1
    after = _state(recorder)
    assert (after.status, after.twilio_sid, after.etag) == (before.status, SID, before.etag)
    assert _history_keys(recorder)[-1] == "h-conflict-msg-2"
    conflict = published.events[-1]
    assert (conflict.status, conflict.twilio_sid, conflict.metadata) == ("rejected", None, {"m": 2})
    assert conflict.detail["conflict"] is True
    assert conflict.sequence == 2  # the delivery's latest event
    assert "different content" in str(conflict.detail["reason"])
    # The same conflicting message again (a redelivery): refused without a second event.
    assert process(sender, other, recorder) == SendOutcome.CONFLICT
    assert len(published.events) == 3


def test_a_copy_on_the_other_channel_is_a_conflict(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    _sent(recorder, sms_sender())
    calls = call_sender()
    assert process(calls, queued(call_request(), "msg-2"), recorder) == SendOutcome.CONFLICT
    assert calls.sent == []
    assert published.events[-1].channel == "call"
    assert "already names a sms request" in str(published.events[-1].error_message)
    assert _state(recorder).channel == "sms"


# --- failures of the Twilio step ----------------------------------------------------------


def test_a_transient_failure_is_noted_raised_and_the_retry_sends_without_reconciling(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    busy = ClassifiedError(FailureClass.TRANSIENT, "Too many requests", 20429, 429)
    sender = sms_sender(sends=[busy, TwilioResource(sid=SID, status="queued")])
    with pytest.raises(ClassifiedError) as raised:
        process(sender, queued(sms_request()), recorder)
    assert raised.value is busy
    state = _state(recorder)
    assert (state.status, state.failure_class, state.error_code) == ("sending", "transient", 20429)
    assert published.events == []
    assert process(sender, queued(sms_request(), dequeue_count=2), recorder) == SendOutcome.SENT
    assert sender.looked == []  # Twilio never processed the first attempt
    state = _state(recorder)
    assert (state.attempts, state.twilio_sid, state.failure_class) == (2, SID, None)
    assert state.claimed_dequeue_count == 2
    assert _history_keys(recorder) == ["h-local-2-created"]


def test_after_an_ambiguous_failure_the_retry_reconciles_what_twilio_has(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    timeout = ClassifiedError(FailureClass.AMBIGUOUS, "read timed out")
    sender = sms_sender(sends=[timeout], finds=[[TwilioResource(sid=SID, status="sent")]])
    with pytest.raises(ClassifiedError):
        process(sender, queued(sms_request()), recorder)
    assert _state(recorder).failure_class == "ambiguous"
    retry = queued(sms_request(), dequeue_count=2)
    assert process(sender, retry, recorder) == SendOutcome.RECONCILED
    assert len(sender.sent) == 1  # not sent again
    (looked_for, since) = sender.looked[0]
    first_claim = _state(recorder).created_at
    assert first_claim is not None
    assert looked_for.id == "r-1"
    assert first_claim - since == timedelta(seconds=5)  # since the first claim, less the skew
    state = _state(recorder)
    assert (state.status, state.twilio_sid, state.attempts) == ("sent", SID, 2)
    assert _history_keys(recorder) == ["h-local-2-reconciled"]
    assert [(e.status, e.detail) for e in published.events] == [("sent", {"reconciled": True})]
    assert recorder.store.sid_owner(SID) == "r-1"


def test_a_reconcile_that_finds_nothing_of_its_own_sends(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    # Another request owns SM…1 (`~sid`): the reconcile must not adopt it.
    _sent(recorder, sms_sender(), rid="other")
    own = TwilioResource(sid=message_sid(2), status="queued")
    sender = sms_sender(
        sends=[ClassifiedError(FailureClass.AMBIGUOUS, "reset"), own],
        finds=[[TwilioResource(sid=SID, status="delivered")]],
    )
    with pytest.raises(ClassifiedError):
        process(sender, queued(sms_request()), recorder)
    assert process(sender, queued(sms_request(), dequeue_count=2), recorder) == SendOutcome.SENT
    assert len(sender.looked) == 1
    state = _state(recorder)
    assert (state.twilio_sid, state.attempts) == (own.sid, 2)
    assert recorder.store.sid_owner(SID) == "other"


def test_a_failed_reconcile_lookup_is_ambiguous_and_reconciled_again(
    recorder: DeliveryRecorder,
) -> None:
    sender = sms_sender(
        sends=[ClassifiedError(FailureClass.AMBIGUOUS, "reset")],
        finds=[ClassifiedError(FailureClass.TRANSIENT, "list refused", 20429, 429), []],
    )
    with pytest.raises(ClassifiedError):
        process(sender, queued(sms_request()), recorder)
    with pytest.raises(ClassifiedError) as raised:
        process(sender, queued(sms_request(), dequeue_count=2), recorder)
    assert raised.value.failure_class == FailureClass.AMBIGUOUS
    assert "reconcile lookup failed" in raised.value.message
    assert _state(recorder).failure_class == "ambiguous"  # never `transient`: look again
    sender.sends.append(TwilioResource(sid=SID, status="queued"))
    assert process(sender, queued(sms_request(), dequeue_count=3), recorder) == SendOutcome.SENT
    assert len(sender.looked) == 2
    assert len(sender.sent) == 2


def test_a_permanent_failure_records_failed_and_is_not_retried(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    refused = ClassifiedError(FailureClass.PERMANENT, "The 'To' number is not valid", 21211, 400)
    sender = sms_sender(sends=[refused])
    assert process(sender, queued(sms_request()), recorder) == SendOutcome.FAILED
    state = _state(recorder)
    assert (state.status, state.status_source, state.failure_class) == (
        "failed",
        "local",
        "permanent",
    )
    assert (state.error_code, state.error_message) == (21211, refused.message)
    assert _history_keys(recorder) == ["h-local-1-failed"]
    assert [(e.status, e.error_code) for e in published.events] == [("failed", 21211)]
    # A retry (or a copy) of a refused request is a duplicate: Twilio is not asked again.
    assert (
        process(sender, queued(sms_request(), dequeue_count=2), recorder) == SendOutcome.DUPLICATE
    )
    assert len(sender.sent) == 1


def test_an_opted_out_recipient_is_flagged(recorder: DeliveryRecorder, table: FakeTable) -> None:
    stop = ClassifiedError(FailureClass.PERMANENT, "unsubscribed recipient", 21610, 400)
    assert process(sms_sender(sends=[stop]), queued(sms_request()), recorder) == SendOutcome.FAILED
    row = table.rows[(OPT_OUT_PARTITION, "+15551230001")]
    assert (row["opted_out"], row["error_code"], row["request_id"]) == (True, 21610, "r-1")


@pytest.mark.parametrize(
    ("error", "noted"),
    [
        (ClassifiedError(FailureClass.CONFIGURATION, "auth failed", 20003, 401), "configuration"),
        (RuntimeError("a bug"), "ambiguous"),
    ],
)
def test_configuration_and_unexpected_errors_are_noted_and_raised(
    recorder: DeliveryRecorder, published: ListPublisher, error: Exception, noted: str
) -> None:
    with pytest.raises(type(error)) as raised:
        process(sms_sender(sends=[error]), queued(sms_request()), recorder)
    assert raised.value is error
    state = _state(recorder)
    assert (state.status, state.failure_class) == ("sending", noted)
    assert published.events == []


# --- a claim held by another copy ---------------------------------------------------------


def test_a_fresh_claim_of_another_copy_is_retried_later_and_never_poisoned(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    sender = sms_sender()
    request = SmsRequest.model_validate(sms_request())
    # msg-1's attempt has claimed and is (perhaps) sending right now.
    assert claim(recorder.store, sender, request, queued(sms_request())) is not None
    with pytest.raises(ClaimInProgressError):
        process(sender, queued(sms_request(), "msg-2"), recorder)
    last = queued(sms_request(), "msg-2", dequeue_count=LAST)
    assert process(sender, last, recorder) == SendOutcome.DUPLICATE
    assert sender.sent == []
    assert published.events == []
    assert _state(recorder).status == "sending"  # the claim stays msg-1's
    # msg-1 comes back (its attempt ended without an outcome): reconcile, then send.
    sender.finds.append([])
    sender.sends.append(TwilioResource(sid=SID, status="queued"))
    assert process(sender, queued(sms_request(), dequeue_count=2), recorder) == SendOutcome.SENT
    assert len(sender.looked) == 1


# --- the last attempt ---------------------------------------------------------------------


def test_the_last_attempt_records_that_it_gave_up(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    busy = ClassifiedError(FailureClass.TRANSIENT, "busy", 20429, 429)
    with pytest.raises(ClassifiedError):
        process(sms_sender(sends=[busy]), queued(sms_request(), dequeue_count=LAST), recorder)
    state = _state(recorder)
    assert (state.status, state.status_source, state.failure_class) == (
        "failed",
        "local",
        "transient",
    )
    (row,) = recorder.store.list_history("r-1")
    assert row["RowKey"] == "h-local-1-gave-up"
    assert f"gave up after {LAST} attempts" in row["detail"]
    assert [(e.status, e.error_code) for e in published.events] == [("failed", 20429)]


def test_the_last_attempt_failing_before_the_claim_creates_the_delivery_failed(
    recorder: DeliveryRecorder, table: FakeTable, published: ListPublisher
) -> None:
    table.failures.append(ServiceRequestError("storage unreachable"))  # the index row insert
    sender = sms_sender()
    with pytest.raises(ServiceRequestError):
        process(sender, queued(sms_request(), dequeue_count=LAST), recorder)
    assert sender.sent == []
    state = _state(recorder)
    assert (state.status, state.attempts, state.failure_class) == ("failed", 0, "ambiguous")
    assert state.request_hash == request_fingerprint(SmsRequest.model_validate(sms_request()))
    assert _history_keys(recorder) == ["h-local-0-gave-up"]
    assert [e.status for e in published.events] == ["failed"]
    # A replay from `-poison` (a new queue message) still sends it, after a reconcile.
    sender.finds.append([])
    sender.sends.append(TwilioResource(sid=SID, status="queued"))
    assert process(sender, queued(sms_request(), "replay"), recorder) == SendOutcome.SENT
    state = _state(recorder)
    assert (state.status, state.twilio_sid, state.attempts) == ("queued", SID, 1)
    assert len(sender.looked) == 1


def test_a_failed_report_transaction_on_the_last_attempt_records_gave_up(
    recorder: DeliveryRecorder, table: FakeTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*_: Any, **__: Any) -> Any:
        raise ServiceRequestError("storage unreachable")

    monkeypatch.setattr(table, "submit_transaction", unreachable)
    sender = sms_sender(sends=[TwilioResource(sid=SID, status="queued")])
    with pytest.raises(ServiceRequestError):
        process(sender, queued(sms_request(), dequeue_count=LAST), recorder)
    state = _state(recorder)
    # No SID was recorded; the first callback (or the sweeper's reconcile) corrects it.
    assert (state.status, state.twilio_sid) == ("failed", None)
    assert _history_keys(recorder) == ["h-local-1-gave-up"]


# --- a publish that fails after the transaction --------------------------------------------


def test_the_retry_of_the_message_that_sent_publishes_again_a_copy_does_not(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    published.failures.append(ConnectionResetError(104, "reset"))
    sender = sms_sender(sends=[TwilioResource(sid=SID, status="queued")])
    with pytest.raises(ConnectionResetError):
        process(sender, queued(sms_request()), recorder)
    assert _state(recorder).twilio_sid == SID
    assert published.events == []
    copy = queued(sms_request(), "msg-2", dequeue_count=2)
    assert process(sender, copy, recorder) == SendOutcome.DUPLICATE
    assert published.events == []  # another queue message: not its report
    retry = queued(sms_request(), dequeue_count=2)
    assert process(sender, retry, recorder) == SendOutcome.DUPLICATE
    assert [(e.status, e.twilio_sid, e.sequence) for e in published.events] == [("queued", SID, 1)]
    assert len(sender.sent) == 1


def test_a_publish_failure_on_the_last_attempt_is_finished_there(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    published.failures.append(ConnectionResetError(104, "reset"))
    sender = sms_sender(sends=[TwilioResource(sid=SID, status="queued")])
    last = queued(sms_request(), dequeue_count=LAST)
    assert process(sender, last, recorder) == SendOutcome.SENT
    assert _events(published) == [("r-1", "queued", SID)]
    state = _state(recorder)
    assert (state.status, state.twilio_sid) == ("queued", SID)  # not `failed`: it was sent


def test_a_duplicate_copy_failing_on_its_last_attempt_does_not_republish_the_senders_event(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    sender = sms_sender(sends=[TwilioResource(sid=SID, status="queued")])
    assert process(sender, queued(sms_request(), "msg-1"), recorder) == SendOutcome.SENT
    # Another copy of the request, on its last attempt, meets storage trouble after the claim
    # check: the delivery is whole, and its event is the sending message's to repeat, not this
    # copy's.
    recorder.store.table.failures.append(ConnectionResetError(104, "reset"))  # type: ignore[attr-defined]
    copy = queued(sms_request(), "msg-2", dequeue_count=LAST)
    assert process(sender, copy, recorder) == SendOutcome.SENT
    assert _events(published) == [("r-1", "queued", SID)]


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not UTF-8 JSON"),
        (b"\xff\xfe{}", "not UTF-8 JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"id": "r-1", "body": "no recipient"}', "to: Field required"),
        (b"[" * 100_000 + b"]" * 100_000, "nests objects/arrays too deeply"),
        (
            b'{"id": "r-1", "to": "+15551230001", "body": "x", "metadata": '
            + b'{"a": ' * 40
            + b"1"
            + b"}" * 40
            + b"}",
            "deeper than 32 levels",
        ),
    ],
    ids=["not-json", "not-utf8", "not-an-object", "invalid", "deep-json", "deep-model"],
)
def test_bad_input_is_rejected_once_with_its_reason(
    recorder: DeliveryRecorder, published: ListPublisher, body: bytes, reason: str
) -> None:
    sender = sms_sender()
    bad = queued(None, raw=body)
    assert process(sender, bad, recorder) == SendOutcome.REJECTED
    rid = "r-1" if body.startswith(b'{"id": "r-1"') else "msg-1"
    state = _state(recorder, rid)
    assert (state.status, state.failure_class) == ("rejected", "bad_input")
    assert reason in (state.error_message or "")
    (event,) = published.events
    assert (event.id, event.status) == (rid, "rejected")
    assert event.detail["raw_payload"] == body.decode("utf-8", errors="replace")[:8000]
    # Delivered again (e.g. the host died before deleting it): no second event, no send.
    assert (
        process(sender, queued(None, raw=body, dequeue_count=2), recorder) == SendOutcome.REJECTED
    )
    assert len(published.events) == 1
    assert sender.sent == []


def test_a_bad_copy_of_a_sent_request_is_only_noted(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    sender = sms_sender()
    _sent(recorder, sender)
    bad = queued({"id": "r-1", "to": "not a number", "body": "x"}, "msg-2")
    assert process(sender, bad, recorder) == SendOutcome.REJECTED
    state = _state(recorder)
    assert (state.status, state.twilio_sid) == ("queued", SID)
    assert _history_keys(recorder)[-1] == "h-local-rejected-msg-2"
    assert len(published.events) == 1


def test_a_refusal_whose_event_did_not_go_out_is_published_once_in_the_end(
    recorder: DeliveryRecorder, published: ListPublisher
) -> None:
    # The `failed` state was written, then the event put failed. The retry of the message ends
    # as a duplicate (the delivery is settled); the sweeper finishes the report (its history
    # row is missing): the event goes out once, nothing is lost, Twilio is not asked again.
    published.failures.append(ConnectionResetError(104, "reset"))
    refused = ClassifiedError(FailureClass.PERMANENT, "invalid To", 21211, 400)
    sender = sms_sender(sends=[refused])
    with pytest.raises(ConnectionResetError):
        process(sender, queued(sms_request()), recorder)
    assert process(sender, queued(sms_request(), dequeue_count=2), recorder) == (
        SendOutcome.DUPLICATE
    )
    summary = sweep(recorder, FakeStatusReader(), now=now() + timedelta(minutes=2))
    assert summary.finished == 1
    assert [(e.status, e.error_code, e.sequence) for e in published.events] == [
        ("failed", 21211, 1)
    ]
    assert _history_keys(recorder) == ["h-local-1-failed"]
    assert len(sender.sent) == 1
