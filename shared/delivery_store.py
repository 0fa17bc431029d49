"""Delivery state in Azure Table storage, one partition per request id: `DeliveryStore`.

Rows of partition `<request id>`:
- `state`: the current state (status, Twilio SID, attempts, last error, call script …);
- `h-<key>`: one history row per report, `key` unique per report so a repeated report is seen
  (`h-cb-<sid>-<status>-<SequenceNumber or x>` for callbacks, `h-local-<attempt>-<what>` for the
  app's own transitions, `h-answer-<step>-<CallSid>` for Gather answers; docs/architecture.md
  lists them all).
An applied report changes `state` and adds its history row in one entity-group transaction
(`write_report`): both or neither, and a history row that exists already fails the transaction,
which tells a repeat apart without a read.
Unfinished deliveries are indexed in partitions `~open-<yyyymmddhh>` (the hour of the first
claim; row = request id) until Twilio reports a final status, for the status sweeper.
Opted-out recipients live in partition `~opt-out` (the `~` cannot start a request id), one row
per E.164 number; partition `~sid` maps each recorded Twilio SID to its request id (row = SID),
so a reconcile never adopts a Message/Call that belongs to another request.

Every write of `state` is ETag-checked (optimistic concurrency). Properties go through
`table_properties` (JSON never cut, cleared properties read as None).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode
from pydantic import JsonValue

from shared.status_rules import Channel, Source
from shared.table_properties import (
    PARTS_SUFFIX,
    joined_property,
    json_property,
    present,
    to_properties,
)

STATE_ROW = "state"
# History rows are `h-<report key>`; the next character after `-` bounds their key range.
HISTORY_PREFIX = "h-"
_PAST_HISTORY = "h."
OPT_OUT_PARTITION = "~opt-out"
SID_PARTITION = "~sid"
MAX_ETAG_RETRIES = 8
# JSON properties of the rows (decoded when read for people: `read_delivery`).
JSON_PROPERTIES = frozenset({"metadata", "script", "detail", "remembered_report"})


@dataclass
class DeliveryState:
    """The `state` row of one request, with the ETag it was read (or written) with."""

    request_id: str
    channel: Channel
    status: str
    status_source: Source
    etag: str = ""
    twilio_sid: str | None = None
    sequence: int | None = None
    attempts: int = 0
    event_count: int = 0
    error_code: int | None = None
    error_message: str | None = None
    failure_class: str | None = None
    created_at: datetime | None = None
    claimed_at: datetime | None = None
    # The queue message (id, dequeue count) whose attempt made the current claim.
    claimed_by: str | None = None
    claimed_dequeue_count: int | None = None
    last_report_key: str | None = None
    # What the claim was made for (`send_claims.request_fingerprint`); None on rows that no
    # valid request created (e.g. `rejected`).
    request_hash: str | None = None
    # A script call's script: {"steps": [...], "voice": …, "language": …}.
    script: dict[str, JsonValue] | None = None
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    # The send path's last applied report (`Report.remember`), so a retry of the attempt that
    # sent can publish its event again (`DeliveryRecorder.finish_report`).
    remembered_report: dict[str, JsonValue] | None = None
    # When the state row last changed (None before its first update).
    updated_at: datetime | None = None


# The names a change shares with `DeliveryState` (its others, e.g. a JSON value's parts, are
# read through these).
_STATE_FIELDS = frozenset(f.name for f in fields(DeliveryState))

# A change to the state row: property name → new value (None values are skipped; `CLEARED`
# empties a property).
StateChange = dict[str, Any]


class StaleStateError(RuntimeError):
    """The state row changed since it was read (412): read it again and decide again."""


class ReportExistsError(RuntimeError):
    """The report's history row exists already: the report was recorded before."""


@dataclass(frozen=True)
class DeliveryRows:
    """What the table holds about one request, as plain data for people (the producer's view):
    split JSON joined and decoded, cleared properties None, keys dropped but `row` kept."""

    state: dict[str, object] | None
    history: list[dict[str, object]]


@dataclass(frozen=True)
class OpenDelivery:
    """One row of the index of unfinished deliveries."""

    request_id: str
    partition: str
    channel: Channel
    opened_at: datetime
    due_at: datetime
    polls: int
    # The request as it was claimed (JSON), for a reconcile when the claim never got a SID.
    request: dict[str, Any] | None


def now() -> datetime:
    """The current UTC time (one place, so every row uses the same clock)."""
    return datetime.now(UTC)


# The index of unfinished deliveries: partition `~open-<yyyymmddhh>` (the UTC hour the delivery
# was first claimed, i.e. its `created_at`), RowKey = request id. Written before the claim,
# deleted when Twilio reports a final status; the status sweeper reads only these partitions.
OPEN_PREFIX = "~open-"
_PAST_OPEN = "~open."


def open_partition(opened_at: datetime) -> str:
    """The index partition of a delivery first claimed at `opened_at`."""
    return f"{OPEN_PREFIX}{opened_at.astimezone(UTC):%Y%m%d%H}"


class DeliveryStore:
    """The deliveries table: claims, ETag-checked state, history, the indexes, opt-out flags.

    Built from a `TableClient` (the app's from its settings, `app_services.app_store()`; the
    producer's from its own connection; a test's fake)."""

    def __init__(self, table: TableClient) -> None:
        self.table = table

    # --- the state row -------------------------------------------------------------------

    def get_state(self, request_id: str) -> DeliveryState | None:
        """The current state of `request_id`, or None when the app never saw it."""
        try:
            entity = self.table.get_entity(request_id, STATE_ROW)
        except ResourceNotFoundError:
            return None
        return _state_from_entity(entity, str(entity.metadata["etag"]))

    def get_state_and_history(self, request_id: str, key: str) -> tuple[DeliveryState | None, bool]:
        """The current state of `request_id` (None when the app never saw it) and whether the
        history row `h-<key>` exists: one query over the delivery's partition."""
        # Spaces around the parentheses: the SDK substitutes `@name` only as a whole word.
        rows = self.table.query_entities(
            "PartitionKey eq @pk and ( RowKey eq @state or RowKey eq @row )",
            parameters={"pk": request_id, "state": STATE_ROW, "row": HISTORY_PREFIX + key},
        )
        state, recorded = None, False
        for row in rows:
            if row["RowKey"] == STATE_ROW:
                state = _state_from_entity(row, str(row.metadata["etag"]))
            else:
                recorded = True
        return state, recorded

    def create_state(self, request_id: str, values: Mapping[str, Any]) -> DeliveryState | None:
        """Insert the `state` row (the claim). None when it already exists (already claimed)."""
        entity = {"PartitionKey": request_id, "RowKey": STATE_ROW, **to_properties(values)}
        try:
            created = self.table.create_entity(entity)
        except ResourceExistsError:
            return None
        return _state_from_entity(entity, str(created["etag"]))

    def update_state(
        self,
        request_id: str,
        decide: Callable[[DeliveryState], StateChange | None],
        *,
        known: DeliveryState | None = None,
    ) -> tuple[DeliveryState, StateChange | None]:
        """Read-decide-write the `state` row with its ETag; on 412 read again and decide again.

        `decide` gets the current state and returns the properties to change, or None to leave
        the row alone. `known`: the state as the caller just read or wrote it (with its ETag),
        decided on first instead of a read (a stale one costs a 412 and the read). Returns the
        state as written (or as read, when nothing changed) and the change. Raises
        `LookupError` when the row does not exist.
        """
        current = known
        for _ in range(MAX_ETAG_RETRIES):
            if current is None:
                current = self.get_state(request_id)
                if current is None:
                    raise LookupError(f"no delivery state for request {request_id}")
            change = decide(current)
            if change is None:
                return current, None
            try:
                return self.change_state(current, change), change
            except StaleStateError:
                current = None
        raise RuntimeError(f"state of request {request_id} kept changing; gave up after retries")

    def change_state(self, state: DeliveryState, change: StateChange) -> DeliveryState:
        """MERGE `change` into the state row read as `state` (If-Match its ETag); the state as
        written. Raises `StaleStateError` when the row changed since `state` was read."""
        entity = _state_change_entity(state.request_id, change)
        try:
            written = self.table.update_entity(
                entity,
                mode=UpdateMode.MERGE,
                etag=state.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            raise StaleStateError(state.request_id) from None
        return _merged(state, entity, str(written["etag"]))

    def write_report(
        self, state: DeliveryState, change: StateChange, key: str, history: Mapping[str, Any]
    ) -> DeliveryState:
        """Apply `change` to the state row read as `state` (If-Match its ETag) and add the
        history row `h-<key>`, in one transaction.

        Returns the state as written. Raises `StaleStateError` when the row changed since
        `state` was read, `ReportExistsError` when `h-<key>` exists (nothing was written)."""
        row = _history_entity(state.request_id, key, history)
        entity = _state_change_entity(state.request_id, change)
        merge: dict[str, Any] = {
            "mode": UpdateMode.MERGE,
            "etag": state.etag,
            "match_condition": MatchConditions.IfNotModified,
        }
        try:
            written = self.table.submit_transaction([("update", entity, merge), ("create", row)])
        except TableTransactionError as error:
            if error.status_code == 412:
                raise StaleStateError(state.request_id) from None
            if error.status_code == 409:
                raise ReportExistsError(key) from None
            raise
        return _merged(state, entity, str(written[0]["etag"]))

    # --- history ---------------------------------------------------------------------------

    def history_exists(self, request_id: str, key: str) -> bool:
        """Whether the history row `h-<key>` was written (a repeated report)."""
        try:
            self.table.get_entity(request_id, HISTORY_PREFIX + key)
        except ResourceNotFoundError:
            return False
        return True

    def add_history(self, request_id: str, key: str, values: Mapping[str, Any]) -> bool:
        """Append the history row `h-<key>`; False when it was already there."""
        try:
            self.table.create_entity(_history_entity(request_id, key, values))
        except ResourceExistsError:
            return False
        return True

    def list_history(self, request_id: str) -> list[dict[str, Any]]:
        """Every history row of `request_id`, oldest first (`detail` as one JSON text)."""
        rows = self.table.query_entities(
            "PartitionKey eq @pk and RowKey ge @first and RowKey lt @past",
            parameters={"pk": request_id, "first": HISTORY_PREFIX, "past": _PAST_HISTORY},
        )
        history = []
        for row in rows:
            entry = dict(row)
            if "detail" in entry:
                entry["detail"] = joined_property(entry, "detail")
            history.append(entry)
        return sorted(history, key=lambda row: row["at"])

    def read_delivery(self, request_id: str) -> DeliveryRows:
        """The state row and the history rows (oldest first) of `request_id`, for people: one
        query over the partition."""
        entities = list(
            self.table.query_entities("PartitionKey eq @pk", parameters={"pk": request_id})
        )
        state = next((_plain_row(e) for e in entities if e["RowKey"] == STATE_ROW), None)
        history = [_plain_row(e) for e in entities if str(e["RowKey"]).startswith(HISTORY_PREFIX)]
        return DeliveryRows(state, sorted(history, key=_history_order))

    # --- the SID index and opt-out flags -------------------------------------------------------

    def index_sid(self, sid: str, request_id: str) -> None:
        """Remember that Twilio resource `sid` belongs to `request_id` (first writer wins)."""
        with contextlib.suppress(ResourceExistsError):
            self.table.create_entity(
                {"PartitionKey": SID_PARTITION, "RowKey": sid, "request_id": request_id}
            )

    def sid_owner(self, sid: str) -> str | None:
        """The request id that recorded Twilio resource `sid`, if any."""
        try:
            entity = self.table.get_entity(SID_PARTITION, sid)
        except ResourceNotFoundError:
            return None
        return str(entity["request_id"])

    def mark_opted_out(self, number: str, request_id: str, code: int) -> None:
        """Flag `number` as opted out (Twilio error 21610: the recipient sent STOP), for
        operators; Twilio itself refuses the next message to it."""
        self.table.upsert_entity(
            {
                "PartitionKey": OPT_OUT_PARTITION,
                "RowKey": number,
                "opted_out": True,
                "error_code": code,
                "request_id": request_id,
                "at": now(),
            },
            mode=UpdateMode.REPLACE,
        )

    # --- the index of unfinished deliveries ------------------------------------------------

    def open_delivery(
        self,
        request_id: str,
        channel: Channel,
        opened_at: datetime,
        due_at: datetime,
        request: dict[str, Any],
        *,
        created_at: datetime | None = None,
    ) -> None:
        """Add the delivery to the index of unfinished ones (idempotent: an existing row stays).

        The row lives in the hour of `created_at` (the first claim; default `opened_at`), where
        the sweeper and the recorder look for it; `opened_at` starts its age (a retry reopening
        it)."""
        entity = {
            "PartitionKey": open_partition(created_at or opened_at),
            "RowKey": request_id,
            **to_properties(
                {
                    "channel": channel,
                    "opened_at": opened_at,
                    "due_at": due_at,
                    "polls": 0,
                    "request": request,
                }
            ),
        }
        with contextlib.suppress(ResourceExistsError):
            self.table.create_entity(entity)

    def close_delivery(self, request_id: str, partition: str) -> None:
        """Remove the delivery's row from the index of unfinished ones (absent: nothing to do)."""
        with contextlib.suppress(ResourceNotFoundError):
            self.table.delete_entity(partition, request_id)

    def due_deliveries(self, at: datetime, limit: int) -> list[OpenDelivery]:
        """At most `limit` index rows due at `at`, oldest partition first: a range query over
        the `~open-` partitions only, never the deliveries themselves."""
        rows = self.table.query_entities(
            "PartitionKey ge @first and PartitionKey lt @past and due_at le @now",
            parameters={"first": OPEN_PREFIX, "past": _PAST_OPEN, "now": at},
            results_per_page=min(limit, 1000),
        )
        due: list[OpenDelivery] = []
        for row in rows:
            due.append(
                OpenDelivery(
                    request_id=str(row["RowKey"]),
                    partition=str(row["PartitionKey"]),
                    channel="call" if row.get("channel") == "call" else "sms",
                    opened_at=row["opened_at"],
                    due_at=row["due_at"],
                    polls=int(row.get("polls", 0)),
                    request=_request_property(row),
                )
            )
            if len(due) >= limit:
                break
        return due

    def reschedule_delivery(self, entry: OpenDelivery, due_at: datetime, polls: int) -> None:
        """Set when the sweeper looks at the delivery next (gone meanwhile: nothing to do)."""
        with contextlib.suppress(ResourceNotFoundError):
            self.table.update_entity(
                {
                    "PartitionKey": entry.partition,
                    "RowKey": entry.request_id,
                    "due_at": due_at,
                    "polls": polls,
                },
                mode=UpdateMode.MERGE,
            )


def _state_change_entity(request_id: str, change: StateChange) -> dict[str, Any]:
    entity = {"PartitionKey": request_id, "RowKey": STATE_ROW, **to_properties(change, merge=True)}
    entity["updated_at"] = now()
    return entity


def _history_entity(request_id: str, key: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "PartitionKey": request_id,
        "RowKey": HISTORY_PREFIX + key,
        "at": now(),
        **to_properties(values),
    }


def _merged(state: DeliveryState, entity: Mapping[str, Any], etag: str) -> DeliveryState:
    """`state` after the MERGE of `entity` (no read back: the write's ETag is the new one).
    Only the merged properties are decoded; the others are `state`'s as they are."""
    written = _state_from_entity({"PartitionKey": state.request_id, **entity}, etag)
    merged = {name: getattr(written, name) for name in _STATE_FIELDS & entity.keys()}
    return replace(state, etag=etag, **merged)


def _state_from_entity(entity: Mapping[str, Any], etag: str) -> DeliveryState:
    return DeliveryState(
        request_id=str(entity["PartitionKey"]),
        channel="call" if entity.get("channel") == "call" else "sms",
        status=str(entity.get("status", "")),
        status_source="twilio" if entity.get("status_source") == "twilio" else "local",
        etag=etag,
        twilio_sid=present(entity.get("twilio_sid")),
        sequence=entity.get("sequence"),
        attempts=int(entity.get("attempts", 0)),
        event_count=int(entity.get("event_count", 0)),
        error_code=present(entity.get("error_code")),
        error_message=present(entity.get("error_message")),
        failure_class=present(entity.get("failure_class")),
        created_at=entity.get("created_at"),
        claimed_at=entity.get("claimed_at"),
        claimed_by=entity.get("claimed_by"),
        claimed_dequeue_count=entity.get("claimed_dequeue_count"),
        last_report_key=present(entity.get("last_report_key")),
        request_hash=entity.get("request_hash"),
        script=json_property(entity, "script"),
        metadata=json_property(entity, "metadata") or {},
        remembered_report=json_property(entity, "remembered_report"),
        updated_at=entity.get("updated_at"),
    )


def _request_property(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The index row's request, None when unreadable (the sweeper then cannot reconcile it)."""
    try:
        request = json_property(row, "request")
    except (ValueError, KeyError):
        return None
    return request if isinstance(request, dict) else None


def _plain_row(entity: Mapping[str, Any]) -> dict[str, object]:
    """An entity for people: keys dropped (`row` kept), split properties joined (their parts
    and part count dropped), JSON properties decoded, cleared properties None."""
    row: dict[str, object] = {}
    for key, value in entity.items():
        if key in ("PartitionKey", "RowKey") or _is_split_part(key, entity):
            continue
        value = joined_property(entity, key)
        if key in JSON_PROPERTIES and isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        row[key] = present(getattr(value, "value", value))
    row["row"] = entity["RowKey"]
    return row


def _is_split_part(key: str, entity: Mapping[str, Any]) -> bool:
    """Whether `key` is a part count `<name><PARTS_SUFFIX>` or a continuation `<name>_<n>`
    (n ≥ 2)."""
    if key.endswith(PARTS_SUFFIX) and key.removesuffix(PARTS_SUFFIX) in entity:
        return True
    name, _, number = key.rpartition("_")
    return number.isdigit() and int(number) >= 2 and f"{name}{PARTS_SUFFIX}" in entity


def _history_order(row: Mapping[str, object]) -> tuple[str, str]:
    at = row.get("at")
    return (at.isoformat() if isinstance(at, datetime) else "", str(row["row"]))
