"""The status sweeper against real Azurite and the Twilio emulator over HTTP: callbacks that never
reached the app (retried per the URL's connection overrides, then given up), learned by polling;
Twilio's 429 ending a run; an abandoned claim reconciled with the real List call; and what the
index of unfinished deliveries costs in storage requests."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from shared import delivery_store, twilio_gateway
from shared.app_services import app_recorder, app_store
from shared.delivery_store import OPEN_PREFIX
from shared.process_state import reset_process_state
from shared.send_claims import request_fingerprint
from shared.settings import get_settings
from shared.sms_sender import SMS
from shared.status_sweeper import sweep
from shared.webhook_urls import status_callback_url

# Nothing listens here: every callback fails to connect.
UNREACHABLE = "http://127.0.0.1:9"


def _sms(rid: str) -> dict[str, Any]:
    return {"id": rid, "to": "+15551230001", "body": f"Sweeper test {rid}"}


def _indexed_claim(leave_claim: Any, request: dict[str, Any], **claimer: Any) -> None:
    """An SMS claim opened two hours ago, indexed as due and left without an outcome."""
    opened = delivery_store.now() - timedelta(hours=2)
    app_store().open_delivery(request["id"], "sms", opened, opened, request)
    leave_claim(
        request["id"],
        at=opened,
        event_count=0,
        request_hash=request_fingerprint(SMS.model.model_validate(request)),
        **claimer,
    )


@pytest.fixture
def app_down(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app as Twilio cannot reach it: its public URL points where nothing listens."""
    monkeypatch.setenv("PUBLIC_BASE_URL", UNREACHABLE)
    reset_process_state()
    yield app
    reset_process_state()


def _later() -> Any:
    """A sweep time at which a delivery opened now is due (the default first step is 60 s)."""
    return delivery_store.now() + timedelta(minutes=2)


def test_missed_callbacks_are_retried_then_learned_by_polling(app_down: Any, rid: str) -> None:
    app_down.send_sms(_sms(rid))
    (message,) = app_down.wait_for(
        "the emulator to deliver",
        lambda: [m for m in app_down.messages_for(rid) if m["status"] == "delivered"],
    )
    sid = message["sid"]

    def every_callback_given_up() -> list[dict[str, Any]] | None:
        attempts = app_down.emulator(f"/_emulator/callbacks?sid={sid}")["callbacks"]
        statuses = {a["params"].get("MessageStatus") for a in attempts}
        tries = Counter(a["idempotency_token"] for a in attempts)
        done = "delivered" in statuses and set(tries.values()) == {4}
        return attempts if done else None

    # Each callback was tried 1 + rc=3 times (the URL's connection overrides), never reaching
    # the app, and then given up.
    attempts = app_down.wait_for("every callback attempt", every_callback_given_up)
    assert all(a["status"] is None for a in attempts)
    state = app_store().get_state(rid)
    assert state is not None
    assert state.status == "queued"

    summary = sweep(app_recorder(), now=_later())
    assert rid in summary.request_ids
    state = app_store().get_state(rid)
    assert state is not None
    assert (state.status, state.twilio_sid) == ("delivered", sid)
    polled = [r for r in app_store().list_history(rid) if r["source"] == "poll"]
    assert [r["status"] for r in polled] == ["delivered"]
    assert [e["status"] for e in app_down.events() if e["id"] == rid][-1] == "delivered"
    assert sweep(app_recorder(), now=_later()).due == 0  # closed


def test_a_429_from_twilio_ends_the_sweep_and_the_next_one_finishes(
    app_down: Any, rid: str
) -> None:
    app_down.send_sms(_sms(rid))
    app_down.wait_for(
        "the emulator to deliver",
        lambda: [m for m in app_down.messages_for(rid) if m["status"] == "delivered"],
    )
    app_down.emulator("/_emulator/faults", {"error_429": {"rate": 1, "count": 1}})
    stopped = sweep(app_recorder(), now=_later())
    assert stopped.stopped is not None
    assert "429" in stopped.stopped
    assert app_store().get_state(rid).status == "queued"  # type: ignore[union-attr]
    finished = sweep(app_recorder(), now=_later() + timedelta(minutes=10))
    assert finished.stopped is None
    assert app_store().get_state(rid).status == "delivered"  # type: ignore[union-attr]


def test_an_abandoned_claim_is_reconciled_with_twilio_never_sent(
    app: Any, rid: str, leave_claim: Any
) -> None:
    # A claim whose attempt created the message and died before recording its SID, two hours
    # ago: its queue message has run out of attempts.
    request = _sms(rid)
    _indexed_claim(leave_claim, request)
    created = twilio_gateway.create_message(
        to=request["to"],
        from_=get_settings().twilio_from_number,
        messaging_service_sid=None,
        body=request["body"],
        media_urls=None,
        status_callback=status_callback_url(UNREACHABLE, rid, "sms"),
        send_at=None,
        validity_period=None,
    )
    summary = sweep(app_recorder(), now=_later())
    assert summary.reconciled == 1
    state = app_store().get_state(rid)
    assert state is not None
    assert state.twilio_sid == created.sid
    assert len(app.messages_for(rid)) == 1  # found, not sent again


def _counting(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the deliveries table's requests, and apart those on the `~open-` index rows."""
    table = app_store().table
    counts: Counter[str] = Counter()

    def wrap(name: str) -> None:
        original: Callable[..., Any] = getattr(table, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            first = args[0] if args else kwargs.get("entity") or kwargs.get("partition_key")
            key = first.get("PartitionKey") if isinstance(first, dict) else first
            index = isinstance(key, str) and key.startswith(OPEN_PREFIX)
            counts["index" if index else "other"] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(table, name, counted)

    for name in ("create_entity", "delete_entity", "update_entity", "upsert_entity", "get_entity"):
        wrap(name)
    return counts


def test_the_index_costs_two_storage_requests_per_delivery(
    app: Any, rid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = _counting(monkeypatch)
    app.send_sms(_sms(rid))
    app.wait_status(rid, "delivered")
    app.wait_for(
        "the delivered history row",
        lambda: "delivered" in {r["status"] for r in app_store().list_history(rid)},
    )
    # One insert before the claim, one delete after the final status; the rest of the
    # lifecycle (claim, SID index, state updates, history rows) is the cost without the index.
    assert counts["index"] == 2
    assert counts["other"] > counts["index"]
    assert sweep(app_recorder(), now=_later()).due == 0


def test_a_call_whose_callbacks_were_lost_is_learned_by_polling(app_down: Any, rid: str) -> None:
    # One number per test: the emulator is shared by the session.
    to = "+1555" + str(zlib.crc32(rid.encode()) % 10_000_000).zfill(7)
    twiml = "<Response><Say>Polled call</Say></Response>"
    app_down.send_call({"id": rid, "to": to, "twiml": twiml})
    (call,) = app_down.wait_for(
        "the emulator to complete the call",
        lambda: [c for c in app_down.calls_for(rid) if c["status"] == "completed"],
    )
    state = app_store().get_state(rid)
    assert state is not None
    assert state.status == "queued"  # no callback reached the app
    summary = sweep(app_recorder(), now=_later())
    assert summary.polled == 1
    state = app_store().get_state(rid)
    assert state is not None
    assert (state.status, state.twilio_sid) == ("completed", call["sid"])
    polled = [r for r in app_store().list_history(rid) if r["source"] == "poll"]
    assert [r["status"] for r in polled] == ["completed"]


def test_a_settled_claim_sent_later_is_polled_when_its_callbacks_are_lost(
    app_down: Any, rid: str, leave_claim: Any
) -> None:
    # A claim whose attempt died before the send, two hours ago: the sweeper settles it
    # `failed` (nothing at Twilio) and drops it from the index.
    request = _sms(rid)
    _indexed_claim(leave_claim, request, by="queued-message", dequeue=1)
    assert sweep(app_recorder(), now=_later()).abandoned == 1
    # Its queue message comes back (the host was down longer than the claim timeout; or it is
    # replayed from -poison): the attempt reconciles, finds nothing, sends.
    app_down.send_sms(request, message_id="queued-message", dequeue=2)
    (message,) = app_down.wait_for(
        "the emulator to deliver",
        lambda: [m for m in app_down.messages_for(rid) if m["status"] == "delivered"],
    )
    # No callback reaches the app: the sweeper must still learn the final status.
    summary = sweep(app_recorder(), now=_later())
    assert rid in summary.request_ids
    state = app_store().get_state(rid)
    assert state is not None
    assert (state.status, state.twilio_sid) == ("delivered", message["sid"])
    assert sweep(app_recorder(), now=_later()).due == 0


def test_a_message_deleted_at_twilio_neither_stops_the_sweep_nor_stays_for_ever(
    app_down: Any, rid: str
) -> None:
    # Two SMS whose callbacks were lost; the first one's Message is then deleted at Twilio (its
    # owner, or a retention policy): Twilio answers 404 when the sweeper asks for it.
    deleted, kept = f"{rid}-a", f"{rid}-b"
    for each in (deleted, kept):
        app_down.send_sms(_sms(each))
    sids = {
        each: app_down.wait_for(
            "the emulator to deliver",
            lambda each=each: [
                m["sid"] for m in app_down.messages_for(each) if m["status"] == "delivered"
            ],
        )[0]
        for each in (deleted, kept)
    }
    twilio_gateway.get_client().messages(sids[deleted]).delete()
    summary = sweep(app_recorder(), now=_later())
    assert summary.stopped is None  # a 404 is about one delivery, not the settings
    assert (summary.errors, summary.request_ids) == (1, [deleted, kept])
    assert app_store().get_state(kept).status == "delivered"  # type: ignore[union-attr]
    # Asked again with back-off until the age limit, then given up: final status unknown.
    too_old = delivery_store.now() + timedelta(hours=get_settings().status_sweep_max_age_hours)
    last = sweep(app_recorder(), now=too_old)
    assert (last.request_ids, last.unknown) == ([deleted], 1)
    (row,) = [r for r in app_store().list_history(deleted) if r["source"] == "poll"]
    assert row["RowKey"] == f"h-poll-final-status-unknown-{sids[deleted]}"
    assert "404" in row["detail"] or "not found" in row["detail"]
    assert sweep(app_recorder(), now=too_old + timedelta(hours=7)).due == 0
