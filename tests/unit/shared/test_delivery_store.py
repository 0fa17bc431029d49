"""`DeliveryStore` over an in-memory table: claims, ETag-checked changes, the report
transaction, history, the indexes, and the view for people."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.delivery_store import (
    DeliveryStore,
    ReportExistsError,
    StaleStateError,
    now,
    open_partition,
)
from tests.fakes.table_storage import FakeTable

SENDING = {"channel": "sms", "status": "sending", "status_source": "local"}


@pytest.fixture
def store() -> DeliveryStore:
    return DeliveryStore(FakeTable())


def test_a_claim_is_made_once(store: DeliveryStore) -> None:
    first = store.create_state("r-1", {**SENDING, "metadata": {"k": 1}})
    assert first is not None
    assert (first.status, first.metadata, first.etag) == (
        "sending",
        {"k": 1},
        store.table.etags[("r-1", "state")],
    )  # type: ignore[attr-defined]
    assert store.create_state("r-1", SENDING) is None


def test_update_state_decides_again_on_a_fresh_row(store: DeliveryStore) -> None:
    store.create_state("r-1", SENDING)
    seen: list[int] = []

    def decide(state):  # type: ignore[no-untyped-def]
        seen.append(state.attempts)
        if len(seen) == 1:
            store.update_state("r-1", lambda _: {"attempts": 7})  # a concurrent writer
        return {"event_count": state.event_count + 1}

    state, change = store.update_state("r-1", decide)
    assert seen == [0, 7]
    assert change == {"event_count": 1}
    stored = store.get_state("r-1")
    assert stored is not None
    assert (stored.attempts, stored.event_count, stored.etag) == (7, 1, state.etag)


def test_update_state_of_a_missing_row_is_a_lookup_error(store: DeliveryStore) -> None:
    with pytest.raises(LookupError):
        store.update_state("nobody", lambda _: {"attempts": 1})


def test_a_change_without_a_read_keeps_the_written_etag(store: DeliveryStore) -> None:
    claimed = store.create_state("r-1", SENDING)
    assert claimed is not None
    changed = store.change_state(claimed, {"status": "queued", "twilio_sid": "SM1"})
    assert (changed.status, changed.twilio_sid) == ("queued", "SM1")
    stored = store.get_state("r-1")
    assert stored is not None
    assert stored.etag == changed.etag
    with pytest.raises(StaleStateError):
        store.change_state(claimed, {"status": "sent"})  # the claim's ETag is stale now


def test_the_report_transaction_writes_both_rows_or_neither(store: DeliveryStore) -> None:
    claimed = store.create_state("r-1", SENDING)
    assert claimed is not None
    written = store.write_report(claimed, {"status": "queued"}, "local-1-created", {"a": 1})
    assert written.status == "queued"
    assert [row["RowKey"] for row in store.list_history("r-1")] == ["h-local-1-created"]
    with pytest.raises(ReportExistsError):
        store.write_report(written, {"status": "sent"}, "local-1-created", {"a": 2})
    with pytest.raises(StaleStateError):
        store.write_report(claimed, {"status": "sent"}, "cb-x", {"a": 3})
    stored = store.get_state("r-1")
    assert stored is not None
    assert stored.status == "queued"
    assert len(store.list_history("r-1")) == 1


def test_json_longer_than_a_property_round_trips(store: DeliveryStore) -> None:
    script = {"steps": [{"type": "say", "text": "\u00e9\U0001f600" * 20_000}]}
    created = store.create_state("big-1", {**SENDING, "script": script})
    assert created is not None
    assert created.script == script
    state, _ = store.update_state("big-1", lambda s: {"attempts": 2})
    assert (state.script, state.attempts) == (script, 2)
    stored = store.get_state("big-1")
    assert stored is not None
    assert stored.script == script
    rows = store.read_delivery("big-1")
    assert rows.state is not None
    assert rows.state["script"] == script
    assert not any(name.startswith("script_") for name in rows.state)


def test_read_delivery_decodes_json_and_clears(store: DeliveryStore) -> None:
    store.create_state("r-1", {**SENDING, "metadata": {"k": [1]}, "error_message": "x"})
    store.update_state("r-1", lambda _: {"error_message": ""})
    store.add_history("r-1", "local-0-x", {"status": "sent", "detail": {"d": 1}})
    rows = store.read_delivery("r-1")
    assert rows.state is not None
    assert (rows.state["metadata"], rows.state["error_message"]) == ({"k": [1]}, None)
    assert [(h["row"], h["detail"]) for h in rows.history] == [("h-local-0-x", {"d": 1})]
    assert store.read_delivery("nobody").state is None


def test_the_sid_index_keeps_its_first_owner(store: DeliveryStore) -> None:
    store.index_sid("SM1", "r-1")
    store.index_sid("SM1", "r-2")
    assert (store.sid_owner("SM1"), store.sid_owner("SM2")) == ("r-1", None)


def test_due_deliveries_reads_the_index_only_oldest_first(store: DeliveryStore) -> None:
    at = now()
    store.create_state("r-x", SENDING)  # a delivery row: never in the result
    store.open_delivery("r-new", "sms", at, at, {"id": "r-new"})
    store.open_delivery("r-old", "call", at - timedelta(hours=3), at, {"id": "r-old"})
    store.open_delivery("r-later", "sms", at, at + timedelta(hours=1), {"id": "r-later"})
    due = store.due_deliveries(at, 10)
    assert [(d.request_id, d.channel, d.request) for d in due] == [
        ("r-old", "call", {"id": "r-old"}),
        ("r-new", "sms", {"id": "r-new"}),
    ]
    assert [d.request_id for d in store.due_deliveries(at, 1)] == ["r-old"]
    store.reschedule_delivery(due[0], at + timedelta(hours=2), 3)
    assert [d.request_id for d in store.due_deliveries(at, 10)] == ["r-new"]
    store.close_delivery("r-new", open_partition(at))
    store.close_delivery("r-new", open_partition(at))  # gone already: nothing to do
    assert store.due_deliveries(at, 10) == []


def test_an_index_row_stays_where_it_was_first_written(store: DeliveryStore) -> None:
    first = now() - timedelta(hours=5)
    store.open_delivery("r-1", "sms", first, first, {"id": "r-1"})
    store.open_delivery("r-1", "sms", now(), now(), {"id": "r-1"}, created_at=first)
    (entry,) = store.due_deliveries(now(), 10)
    assert (entry.partition, entry.opened_at) == (open_partition(first), first)


def test_one_query_reads_the_state_and_a_history_row(store: DeliveryStore) -> None:
    store.create_state("r-1", SENDING)
    store.add_history("r-1", "cb-a", {"status": "sent"})
    store.add_history("r-1", "cb-b", {"status": "delivered"})
    state, recorded = store.get_state_and_history("r-1", "cb-a")
    assert state is not None
    assert (state.status, recorded) == ("sending", True)
    stored = store.get_state("r-1")
    assert stored is not None
    assert state.etag == stored.etag
    assert store.get_state_and_history("r-1", "cb-c")[1] is False
    assert store.get_state_and_history("nobody", "cb-a") == (None, False)
