"""`send_claims`: the claim and its index row, the fingerprint, conflicts, settled deliveries,
taking over an ended attempt's claim, the in-flight window, and the SID index check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts import CallRequest, SmsRequest
from shared.delivery_store import DeliveryState, DeliveryStore, now
from shared.send_channel import DeliveryEnded, SendOutcome
from shared.send_claims import (
    ClaimInProgressError,
    claim,
    conflict_reason,
    first_unowned,
    in_flight_window,
    is_earlier_attempt_of,
    is_last_attempt,
    is_settled,
    reclaim,
    request_fingerprint,
    request_json,
    since_first_claim,
)
from shared.twilio_gateway import TwilioResource
from tests.fakes.app_settings import settings_for_test, use_settings
from tests.fakes.senders import call_sender, message_sid, queued, sms_request, sms_sender
from tests.fakes.table_storage import FakeTable

REQUEST = SmsRequest.model_validate(sms_request(metadata={"b": 2, "a": 1}))


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from settings_for_test(monkeypatch)


@pytest.fixture
def store(table: FakeTable) -> DeliveryStore:
    return DeliveryStore(table)


def _claimed(store: DeliveryStore, message_id: str = "msg-1", dequeue: int = 1) -> DeliveryState:
    state = claim(store, sms_sender(), REQUEST, queued(None, message_id, dequeue, raw=b""))
    assert state is not None
    return state


def _state(**fields: object) -> DeliveryState:
    values: dict[str, object] = {
        "request_id": "r-1",
        "channel": "sms",
        "status": "sending",
        "status_source": "local",
    }
    return DeliveryState(**{**values, **fields})  # type: ignore[arg-type]


# --- the fingerprint ------------------------------------------------------------------------


def test_the_fingerprint_ignores_key_order_and_sees_every_field() -> None:
    reordered = SmsRequest.model_validate(
        {"metadata": {"a": 1, "b": 2}, "body": "hello r-1", "to": "+15551230001", "id": "r-1"}
    )
    assert request_fingerprint(reordered) == request_fingerprint(REQUEST)
    for change in ({"body": "other"}, {"metadata": {"a": 1}}, {"validity_period": 60}):
        other = SmsRequest.model_validate({**sms_request(metadata={"b": 2, "a": 1}), **change})
        assert request_fingerprint(other) != request_fingerprint(REQUEST), change


def test_request_json_is_by_alias_and_refuses_what_is_not_a_model() -> None:
    request = SmsRequest.model_validate(sms_request(**{"from": "+15005550006"}))
    assert request_json(request)["from"] == "+15005550006"
    assert "send_at" not in request_json(request)
    assert request_json(request, exclude_none=False)["send_at"] is None
    with pytest.raises(TypeError, match="not a request model: dict"):
        request_json({"id": "r-1"})


# --- the claim ------------------------------------------------------------------------------


def test_a_claim_indexes_the_delivery_first_then_inserts_its_state(
    store: DeliveryStore, table: FakeTable
) -> None:
    state = _claimed(store, "msg-4", 2)
    assert (state.status, state.status_source, state.attempts, state.event_count) == (
        "sending",
        "local",
        1,
        0,
    )
    assert (state.claimed_by, state.claimed_dequeue_count) == ("msg-4", 2)
    assert state.request_hash == request_fingerprint(REQUEST)
    assert state.created_at == state.claimed_at
    assert state.metadata == {"a": 1, "b": 2}
    assert table.requests == {"insert": 2}
    assert state.created_at is not None
    (entry,) = store.due_deliveries(state.created_at + timedelta(days=1), 10)
    assert entry.request == request_json(REQUEST)
    # Due after the first back-off step (60 s by default).
    assert entry.due_at - entry.opened_at == timedelta(seconds=60)


def test_a_second_claim_of_the_id_gets_none(store: DeliveryStore, table: FakeTable) -> None:
    _claimed(store)
    assert claim(store, sms_sender(), REQUEST, queued(None, "msg-2", raw=b"")) is None
    assert len(table.rows) == 2  # one index row, one state row


def test_a_call_claim_keeps_the_senders_state_properties(store: DeliveryStore) -> None:
    sender = call_sender(extra_state={"script": {"steps": [{"type": "hangup"}]}})
    request = CallRequest.model_validate(
        {"id": "c-1", "to": "+15551230001", "script": [{"type": "hangup"}]}
    )
    state = claim(store, sender, request, queued(None, raw=b""))
    assert state is not None
    assert (state.channel, state.script) == ("call", {"steps": [{"type": "hangup"}]})


# --- conflicts and settled deliveries --------------------------------------------------------


def test_conflict_reason_names_another_channel_or_other_content() -> None:
    same = _state(request_hash=request_fingerprint(REQUEST))
    assert conflict_reason(sms_sender(), REQUEST, same) is None
    assert conflict_reason(sms_sender(), REQUEST, _state()) is None  # no fingerprint stored
    other = conflict_reason(sms_sender(), REQUEST, _state(request_hash="0" * 64))
    assert other == "request id r-1 already names a sms request with different content"
    channel = conflict_reason(sms_sender(), REQUEST, _state(channel="call"))
    assert channel == "request id r-1 already names a call request"


@pytest.mark.parametrize(
    ("fields", "settled"),
    [
        ({}, False),
        ({"failure_class": "transient"}, False),
        ({"status": "failed", "failure_class": "ambiguous"}, False),
        ({"twilio_sid": message_sid(1)}, True),
        ({"status": "delivered", "status_source": "twilio"}, True),
        ({"status": "rejected"}, True),
        ({"status": "failed", "failure_class": "permanent"}, True),
    ],
)
def test_is_settled(fields: dict[str, object], settled: bool) -> None:
    assert is_settled(_state(**fields)) is settled


def test_is_earlier_attempt_of_only_the_same_message_with_a_lower_count() -> None:
    state = _state(claimed_by="msg-1", claimed_dequeue_count=2)
    assert is_earlier_attempt_of(state, queued(None, "msg-1", 3, raw=b""))
    assert not is_earlier_attempt_of(state, queued(None, "msg-1", 2, raw=b""))
    assert not is_earlier_attempt_of(state, queued(None, "msg-2", 3, raw=b""))
    assert not is_earlier_attempt_of(_state(claimed_by="msg-1"), queued(None, "msg-1", 3, raw=b""))


def test_the_last_attempt_follows_host_json_or_its_override(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not is_last_attempt(queued(None, dequeue_count=4, raw=b""))
    assert is_last_attempt(queued(None, dequeue_count=5, raw=b""))
    use_settings(monkeypatch, AzureFunctionsJobHost__extensions__queues__maxDequeueCount="2")
    assert is_last_attempt(queued(None, dequeue_count=2, raw=b""))


def test_the_in_flight_window_is_two_http_timeouts_and_slack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert in_flight_window() == timedelta(seconds=2 * 2 + 10)
    use_settings(monkeypatch, TWILIO_HTTP_TIMEOUT_SECONDS="30")
    assert in_flight_window() == timedelta(seconds=70)


# --- taking over a claim --------------------------------------------------------------------


def test_the_next_attempt_of_the_same_message_takes_over_at_once(store: DeliveryStore) -> None:
    seen = _claimed(store)
    taken = reclaim(store, seen, queued(None, "msg-1", 2, raw=b""))
    assert (taken.attempts, taken.claimed_by, taken.claimed_dequeue_count) == (2, "msg-1", 2)
    assert taken.claimed_at is not None
    assert seen.claimed_at is not None
    assert taken.claimed_at >= seen.claimed_at
    assert store.get_state("r-1") == taken


def test_a_fresh_claim_of_another_message_is_in_flight(store: DeliveryStore) -> None:
    seen = _claimed(store)
    with pytest.raises(ClaimInProgressError, match="is being sent by another queue message"):
        reclaim(store, seen, queued(None, "msg-2", 1, raw=b""))
    with pytest.raises(DeliveryEnded) as ended:
        reclaim(store, seen, queued(None, "msg-2", 5, raw=b""))
    assert ended.value.outcome == SendOutcome.DUPLICATE
    current = store.get_state("r-1")
    assert current is not None
    assert (current.attempts, current.claimed_by) == (1, "msg-1")


def test_a_claim_older_than_the_window_or_with_a_failure_is_taken_over(
    store: DeliveryStore,
) -> None:
    seen = _claimed(store)
    old, _ = store.update_state("r-1", lambda _: {"claimed_at": now() - timedelta(seconds=15)})
    assert reclaim(store, old, queued(None, "msg-2", raw=b"")).attempts == 2
    failed, _ = store.update_state("r-1", lambda _: {"failure_class": "ambiguous"})
    taken = reclaim(store, failed, queued(None, "msg-3", raw=b""))
    assert (taken.attempts, taken.claimed_by, taken.failure_class) == (3, "msg-3", None)
    assert seen.attempts == 1


def test_a_claim_settled_meanwhile_ends_as_a_duplicate(store: DeliveryStore) -> None:
    seen = _claimed(store)
    store.update_state("r-1", lambda _: {"twilio_sid": message_sid(1), "status": "sent"})
    with pytest.raises(DeliveryEnded) as ended:
        reclaim(store, seen, queued(None, "msg-1", 2, raw=b""))
    assert ended.value.outcome == SendOutcome.DUPLICATE


def test_a_claim_taken_by_another_contender_first_is_not_taken_twice(
    store: DeliveryStore,
) -> None:
    seen = _claimed(store)
    reclaim(store, seen, queued(None, "msg-1", 2, raw=b""))  # the winner
    with pytest.raises(ClaimInProgressError, match="was claimed again"):
        reclaim(store, seen, queued(None, "msg-1", 3, raw=b""))
    current = store.get_state("r-1")
    assert current is not None
    assert current.attempts == 2


# --- reconcile helpers ----------------------------------------------------------------------


def test_first_unowned_skips_what_another_request_recorded(store: DeliveryStore) -> None:
    store.index_sid(message_sid(1), "other")
    store.index_sid(message_sid(3), "r-1")
    found = [TwilioResource(message_sid(n), "sent") for n in (1, 2, 3)]
    assert first_unowned(store, "r-1", found) == found[1]
    assert first_unowned(store, "r-1", [found[0], found[2]]) == found[2]
    assert first_unowned(store, "r-1", [found[0]]) is None
    assert first_unowned(store, "r-1", []) is None


def test_since_first_claim_prefers_the_first_claim() -> None:
    first = datetime(2026, 1, 1, 12, tzinfo=UTC)
    skew = timedelta(seconds=5)
    state = _state(created_at=first, claimed_at=first + timedelta(hours=1))
    assert since_first_claim(state, skew) == first - skew
    assert since_first_claim(_state(claimed_at=first), skew) == first - skew
