"""send_sms against Azurite and the Twilio emulator: every failure class, duplicates, reconcile."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from azure.functions.queue import QueueMessage

import send_sms
from shared import delivery_store, twilio_gateway
from shared.app_services import app_recorder, app_store
from shared.failure_classes import ClassifiedError, FailureClass
from shared.process_state import reset_process_state
from shared.send_claims import ClaimInProgressError
from shared.webhook_urls import STATUS_CALLBACK_OVERRIDES


def _sms(rid: str, **changes: Any) -> dict[str, Any]:
    # The emulator is shared by the session: a body of its own keeps other tests' messages apart.
    return {"id": rid, "to": "+15551230001", "body": f"Your code for {rid}", **changes}


def test_sms_is_sent_and_its_callbacks_recorded(app: Any, rid: str) -> None:
    app.send_sms(_sms(rid, metadata={"order": 42}))
    state = app.wait_status(rid, "delivered")
    (message,) = app.messages_for(rid)
    assert state.twilio_sid == message["sid"]
    signed_url = f"{app.values['PUBLIC_BASE_URL']}/api/status_callback?rid={rid}&channel=sms"
    assert message["status_callback"] == f"{signed_url}#{STATUS_CALLBACK_OVERRIDES}"
    # The fragment is neither sent nor signed (as by Twilio): the app saw and accepted every
    # callback at the URL without it.
    attempts = app.emulator(f"/_emulator/callbacks?sid={message['sid']}")["callbacks"]
    assert attempts
    assert {a["url"] for a in attempts} == {signed_url}
    assert {a["status"] for a in attempts} == {204}
    events = app.wait_events_until("delivered")
    # Published concurrently (send path and callbacks), so queue order may differ from sequence;
    # events are at least once (a callback Twilio retried while the first try was still being
    # recorded publishes again), but one sequence always names one status.
    by_sequence = {(e["sequence"], e["status"]) for e in events}
    assert sorted(sequence for sequence, _ in by_sequence) == list(range(1, len(by_sequence) + 1))
    assert {e["twilio_sid"] for e in events} == {message["sid"]}
    assert all(e["metadata"] == {"order": 42} for e in events)
    statuses = {row["status"] for row in app_store().list_history(rid)}
    assert {"queued", "sent", "delivered"} <= statuses


def test_the_same_request_twice_sends_one_message(app: Any, rid: str) -> None:
    app.send_sms(_sms(rid), message_id="m-1")
    app.send_sms(_sms(rid), message_id="m-2")  # a producer re-enqueued it
    app.send_sms(_sms(rid), message_id="m-1", dequeue=2)  # the host redelivered it
    assert len(app.messages_for(rid)) == 1
    assert app_store().get_state(rid).attempts == 1


@pytest.mark.parametrize(
    ("to", "code"),
    [("+15005550001", 21211), ("+15005550002", 21612), ("+15005550009", 21614)],
)
def test_permanent_errors_fail_without_retry(app: Any, rid: str, to: str, code: int) -> None:
    app.send_sms(_sms(rid, to=to))  # no exception: the host must not retry
    state = app_store().get_state(rid)
    assert (state.status, state.error_code, state.failure_class) == ("failed", code, "permanent")
    (event,) = app.events()
    assert (event["status"], event["error_code"]) == ("failed", code)
    app.send_sms(_sms(rid, to=to), dequeue=2)
    assert len(app.events()) == 1


def test_numbers_in_twilio_errors_are_masked_in_logs_but_stored_whole(
    app: Any, rid: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app.send_sms(_sms(rid, to="+15005550001"))  # 21211: "The 'To' number +1500… is not valid"
    assert "+15005550001" in (app_store().get_state(rid).error_message or "")
    other = f"{rid}-from"
    with pytest.raises(ClassifiedError) as caught:  # 21212 names the From number; raised
        app.send_sms({**_sms(other), "from": "+15005550001"}, dequeue=5)
    assert "+15005550001" in (app_store().get_state(other).error_message or "")
    # The host logs the raised exception with its whole chain.
    raised = _chain_text(caught.value)
    assert "5005550001" not in raised
    assert "+1******0001" in raised
    logged = [record.getMessage() for record in caplog.records]
    assert any("+1******0001" in line for line in logged)
    assert not [line for line in logged if "5005550001" in line]


def test_opted_out_recipient_is_flagged(
    app: Any, rid: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what the Functions host forwards
    app.send_sms(_sms(rid, to="+15005550004"))
    assert app_store().get_state(rid).error_code == 21610
    assert app_store().table.get_entity("~opt-out", "+15005550004")[
        "opted_out"
    ]  # a row keyed by the number
    leaks = [
        f"{r.name}: {r.getMessage()}" for r in caplog.records if "5005550004" in r.getMessage()
    ]
    assert leaks == []


def test_configuration_error_raises_and_last_attempt_gives_up(app: Any, rid: str) -> None:
    request = _sms(rid, **{"from": "+15005550001"})  # emulator: 21212 invalid From
    for attempt in range(1, 5):
        with pytest.raises(ClassifiedError) as caught:
            app.send_sms(request, message_id="m-1", dequeue=attempt)
        assert caught.value.failure_class == FailureClass.CONFIGURATION
        state = app_store().get_state(rid)
        assert (state.status, state.failure_class) == ("sending", "configuration")
    assert app.events() == []
    with pytest.raises(ClassifiedError):
        app.send_sms(request, message_id="m-1", dequeue=5)
    state = app_store().get_state(rid)
    assert (state.status, state.error_code, state.attempts) == ("failed", 21212, 5)
    (event,) = app.events()
    assert event["detail"]["reason"] == "gave up after 5 attempts"


def test_a_sender_from_the_settings_that_is_not_ours_is_a_configuration_error(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550007")  # emulator: 21606
    reset_process_state()
    with pytest.raises(ClassifiedError) as caught:
        app.send_sms(_sms(rid))
    assert (caught.value.failure_class, caught.value.code) == (FailureClass.CONFIGURATION, 21606)
    state = app_store().get_state(rid)
    assert (state.status, state.failure_class) == ("sending", "configuration")
    # The same code for a sender the request chose is the request's problem: failed for good.
    other = f"{rid}-own"
    app.send_sms({**_sms(other), "from": "+15005550007"})
    state = app_store().get_state(other)
    assert (state.status, state.error_code, state.failure_class) == ("failed", 21606, "permanent")


def test_a_bad_public_base_url_is_a_configuration_error(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://bad_host.example")  # emulator: 21609
    reset_process_state()
    with pytest.raises(ClassifiedError) as caught:
        app.send_sms(_sms(rid))
    assert (caught.value.failure_class, caught.value.code) == (FailureClass.CONFIGURATION, 21609)
    assert app_store().get_state(rid).status == "sending"


def test_bad_credentials_are_a_configuration_error(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-emulator-token")
    reset_process_state()
    with pytest.raises(ClassifiedError) as caught:
        app.send_sms(_sms(rid))
    assert (caught.value.failure_class, caught.value.code) == (FailureClass.CONFIGURATION, 20003)
    assert app.messages_for(rid) == []


def test_transient_429_retries_without_reconcile(app: Any, rid: str) -> None:
    app.emulator("/_emulator/faults", {"error_429": {"rate": 1, "count": 1}})
    with pytest.raises(ClassifiedError) as caught:
        app.send_sms(_sms(rid))
    assert caught.value.failure_class == FailureClass.TRANSIENT
    assert app_store().get_state(rid).failure_class == "transient"
    app.send_sms(_sms(rid), dequeue=2)
    assert len(app.messages_for(rid)) == 1
    assert "local-2-created" in _history_keys(rid)


def test_ambiguous_500_after_store_is_reconciled_not_resent(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Callbacks go nowhere here, so only the reconcile can learn the SID.
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:9")
    reset_process_state()
    app.emulator("/_emulator/faults", {"error_500_after_store": {"rate": 1, "count": 1}})
    with pytest.raises(ClassifiedError) as caught:
        app.send_sms(_sms(rid))
    assert caught.value.failure_class == FailureClass.AMBIGUOUS
    app.send_sms(_sms(rid), dequeue=2)
    (message,) = app.messages_for(rid)
    assert app_store().get_state(rid).twilio_sid == message["sid"]
    assert "local-2-reconciled" in _history_keys(rid)


def test_plain_500_is_ambiguous_and_the_retry_sends_once(app: Any, rid: str) -> None:
    app.emulator("/_emulator/faults", {"error_500": {"rate": 1, "count": 1}})
    with pytest.raises(ClassifiedError):
        app.send_sms(_sms(rid))
    app.send_sms(_sms(rid), dequeue=2)  # reconcile finds nothing, then sends
    assert len(app.messages_for(rid)) == 1
    assert "local-2-created" in _history_keys(rid)


def test_errors_on_every_request_give_up_then_a_replay_sends_once(app: Any, rid: str) -> None:
    # The reconcile's List request fails too (a bare TwilioException in twilio-python).
    app.emulator("/_emulator/faults", {"error_500": {"rate": 1, "count": 9}})
    for attempt in range(1, 6):
        with pytest.raises(ClassifiedError) as caught:
            app.send_sms(_sms(rid), message_id="m-1", dequeue=attempt)
        assert caught.value.failure_class == FailureClass.AMBIGUOUS
        assert app_store().get_state(rid).failure_class == "ambiguous"
    state = app_store().get_state(rid)
    assert (state.status, state.attempts) == ("failed", 5)
    app.emulator("/_emulator/faults", {})
    app.send_sms(_sms(rid), message_id="m-replayed")  # replayed from the poison queue
    assert len(app.messages_for(rid)) == 1
    assert app_store().get_state(rid).attempts == 6


def test_reconcile_skips_a_message_recorded_by_another_request(app: Any, rid: str) -> None:
    # Same recipient and body: only the SID index tells the first request's message apart.
    first = {**_sms(rid), "id": f"{rid}-first"}
    app.send_sms(first)
    app.emulator("/_emulator/faults", {"error_500": {"rate": 1, "count": 1}})
    with pytest.raises(ClassifiedError):
        app.send_sms(_sms(rid))
    app.send_sms(_sms(rid), dequeue=2)
    sids = {m["sid"] for m in app.messages_for(f"{rid}-first")} | {
        m["sid"] for m in app.messages_for(rid)
    }
    assert len(sids) == 2
    assert app_store().get_state(rid).twilio_sid != app_store().get_state(first["id"]).twilio_sid


def test_timeout_is_ambiguous(app: Any, rid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app.emulator("/_emulator/faults", {"slow": {"rate": 1, "count": 1}, "slow_seconds": 3})
    monkeypatch.setenv("TWILIO_HTTP_TIMEOUT_SECONDS", "0.5")
    from shared.process_state import reset_process_state

    reset_process_state()
    with pytest.raises(ClassifiedError) as caught:
        app.send_sms(_sms(rid))
    assert caught.value.failure_class == FailureClass.AMBIGUOUS


def test_a_fresh_claim_without_outcome_is_not_sent_twice(app: Any, rid: str) -> None:
    # Another worker claimed moments ago and may be waiting for Twilio right now.
    app_store().create_state(
        rid,
        {
            "channel": "sms",
            "status": "sending",
            "status_source": "local",
            "attempts": 1,
            "claimed_at": delivery_store.now(),
        },
    )
    with pytest.raises(ClaimInProgressError):
        app.send_sms(_sms(rid))
    assert app.messages_for(rid) == []


def test_a_later_attempt_of_the_same_message_takes_over_its_fresh_claim(
    app: Any, rid: str, leave_claim: Any
) -> None:
    # Attempt 1 of m-1 claimed moments ago and ended without noting anything (e.g. it died):
    # the host only redelivers m-1 after that attempt ended, so attempt 2 must not wait.
    leave_claim(rid, by="m-1", dequeue=1)
    app.send_sms(_sms(rid), message_id="m-1", dequeue=2)
    assert len(app.messages_for(rid)) == 1
    state = app_store().get_state(rid)
    assert (state.attempts, state.claimed_by, state.claimed_dequeue_count) == (2, "m-1", 2)
    assert "local-2-created" in _history_keys(rid)


def test_a_duplicate_copy_on_its_last_attempt_ends_as_a_duplicate(
    app: Any, rid: str, leave_claim: Any
) -> None:
    # Another queue message (a copy of the same request) holds a fresh claim.
    leave_claim(rid, by="m-owner", dequeue=1)
    with pytest.raises(ClaimInProgressError):
        app.send_sms(_sms(rid), message_id="m-copy", dequeue=4)
    app.send_sms(_sms(rid), message_id="m-copy", dequeue=5)  # no exception: no poison
    state = app_store().get_state(rid)
    assert (state.status, state.attempts, state.claimed_by) == ("sending", 1, "m-owner")
    assert app.messages_for(rid) == []
    assert app.events() == []


def test_an_unexpected_error_on_the_last_attempt_records_gave_up(
    app: Any, rid: str, leave_claim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_ago = delivery_store.now() - timedelta(minutes=10)
    leave_claim(rid, by="m-1", dequeue=4, at=long_ago, failure_class="ambiguous")
    request = _sms(rid)
    twilio_gateway.create_message(  # what attempt 4 may have created: reconcile looks it up
        to=request["to"],
        from_="+15005550006",
        messaging_service_sid=None,
        body=request["body"],
        media_urls=None,
        status_callback="http://127.0.0.1:9/api/status_callback?rid=" + rid + "&channel=sms",
        send_at=None,
        validity_period=None,
    )

    def table_down(sid: str) -> str | None:
        raise ConnectionError("table unreachable")

    monkeypatch.setattr(app_store(), "sid_owner", table_down)
    with pytest.raises(ConnectionError):
        app.send_sms(request, message_id="m-1", dequeue=5)
    state = app_store().get_state(rid)
    assert (state.status, state.status_source) == ("failed", "local")
    (event,) = app.events()
    assert event["status"] == "failed"
    assert event["detail"]["reason"] == "gave up after 5 attempts"
    assert "table unreachable" in (event["error_message"] or "")


def test_a_request_with_a_utf8_byte_order_mark_is_sent(app: Any, rid: str) -> None:
    body = b"\xef\xbb\xbf" + json.dumps(_sms(rid)).encode()
    send_sms.main(QueueMessage(id="m-bom", body=body, dequeue_count=1))
    assert app_store().get_state(rid).status != "rejected"
    assert len(app.messages_for(rid)) == 1


def test_an_id_with_a_trailing_newline_is_rejected_under_the_message_id(app: Any) -> None:
    for dequeue in (1, 2):  # no exception, and a redelivery changes nothing
        app.send_sms(
            {"id": "order-42\n", "to": "+15551230001", "body": "x"},
            message_id="m-nl",
            dequeue=dequeue,
        )
    state = app_store().get_state("m-nl")
    assert (state.status, state.failure_class) == ("rejected", "bad_input")
    (event,) = app.events()
    assert (event["id"], event["status"]) == ("m-nl", "rejected")
    assert "id" in event["detail"]["reason"]


def test_a_rejection_whose_event_failed_is_published_by_the_retry(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_publish = app_recorder().publisher.publish
    published: list[Any] = []

    def hiccup_once(event: Any) -> None:
        published.append(event)
        if len(published) == 1:
            raise ConnectionError("queue hiccup")
        real_publish(event)

    monkeypatch.setattr(app_recorder().publisher, "publish", hiccup_once)
    bad = {"id": rid, "to": "not a number", "body": "x"}
    with pytest.raises(ConnectionError):
        app.send_sms(bad, message_id="m-1")
    assert app_store().get_state(rid).status == "rejected"
    assert app.events() == []
    app.send_sms(bad, message_id="m-1", dequeue=2)
    (event,) = app.events()
    assert (event["id"], event["status"], event["sequence"]) == (rid, "rejected", 1)
    assert _history_keys(rid) == {"local-0-rejected"}
    app.send_sms(bad, message_id="m-1", dequeue=3)  # done now: nothing more
    assert len(app.events()) == 1


def test_a_lone_surrogate_is_rejected_as_bad_input(app: Any, rid: str) -> None:
    app.send_sms(_sms(rid, metadata={"k": "\udfff"}))  # JSON `\udfff`: no exception, no retry
    state = app_store().get_state(rid)
    assert (state.status, state.failure_class) == ("rejected", "bad_input")
    (event,) = app.events()
    assert event["status"] == "rejected"
    assert "metadata.k" in event["detail"]["reason"]
    assert "lone surrogate" in event["detail"]["reason"]
    assert app.messages_for(rid) == []


def test_an_error_before_the_claim_on_the_last_attempt_records_failed(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = app_store().create_state
    calls: list[str] = []

    def claim_fails_once(request_id: str, properties: Any) -> Any:
        calls.append(request_id)
        if len(calls) == 1:
            raise ConnectionError("table unreachable")
        return real_create(request_id, properties)

    monkeypatch.setattr(app_store(), "create_state", claim_fails_once)
    with pytest.raises(ConnectionError):
        app.send_sms(_sms(rid, metadata={"n": 1}), message_id="m-1", dequeue=5)
    state = app_store().get_state(rid)
    assert (state.status, state.status_source, state.channel) == ("failed", "local", "sms")
    assert state.metadata == {"n": 1}
    (event,) = app.events()
    assert (event["status"], event["metadata"]) == ("failed", {"n": 1})
    assert event["detail"]["reason"] == "gave up after 5 attempts"
    assert app.messages_for(rid) == []
    monkeypatch.setattr(app_store(), "create_state", real_create)
    app.send_sms(_sms(rid, metadata={"n": 1}), message_id="m-replay")  # replayed once fixed
    assert len(app.messages_for(rid)) == 1


def test_a_recorded_sid_is_indexed_even_if_the_process_dies_after_the_state_write(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No status callback may record the SID first (it would die in the callback's thread and
    # the send path would find the SID written): Twilio cannot reach the app here.
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:9")
    reset_process_state()
    real_write = app_store().write_report

    def dies_after_writing_a_sid(state: Any, change: Any, key: str, history: Any) -> Any:
        written = real_write(state, change, key, history)
        if change is not None and change.get("twilio_sid"):
            raise SystemExit("worker process killed")
        return written

    monkeypatch.setattr(app_store(), "write_report", dies_after_writing_a_sid)
    with pytest.raises(SystemExit):
        app.send_sms(_sms(rid))
    sid = app_store().get_state(rid).twilio_sid
    assert sid is not None
    assert app_store().sid_owner(sid) == rid


def test_a_crashed_attempt_is_reconciled(app: Any, rid: str, leave_claim: Any) -> None:
    # An attempt claimed long ago, created the message, and died before recording the SID.
    leave_claim(rid, at=delivery_store.now() - timedelta(minutes=10))
    request = _sms(rid)
    sid = twilio_gateway.create_message(
        to=request["to"],
        from_="+15005550006",
        messaging_service_sid=None,
        body=request["body"],
        media_urls=None,
        status_callback="http://127.0.0.1:9/api/status_callback?rid=" + rid + "&channel=sms",
        send_at=None,
        validity_period=None,
    ).sid
    app.send_sms(request, dequeue=2)
    assert [m["sid"] for m in app.messages_for(rid)] == [sid]
    state = app_store().get_state(rid)
    assert (state.twilio_sid, state.attempts) == (sid, 2)
    assert "local-2-reconciled" in _history_keys(rid)


def test_undelivered_outcome_is_recorded_with_its_code(app: Any, rid: str) -> None:
    app.send_sms(_sms(rid, to="+15550030003"))
    state = app.wait_status(rid, "undelivered")
    assert state.error_code == 30003


def _history_keys(rid: str) -> set[str]:
    return {row["RowKey"].removeprefix("h-") for row in app_store().list_history(rid)}


def _chain_text(exc: BaseException) -> str:
    """The messages of `exc` and the exceptions chained to it, as a traceback would show them."""
    texts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        texts.append(f"{type(current).__name__}: {current}")
        hidden = current.__suppress_context__
        current = current.__cause__ or (None if hidden else current.__context__)
    return "\n".join(texts)
