"""Delivery state in Azure Table storage: one partition per request id.

Rows of partition `<request id>`:
- `state`: the current state (status, Twilio SID, attempts, last error, call script …);
- `h-<key>`: one history row per report, `key` unique per report so a repeated report is seen
  (`h-cb-<sid>-<status>-<SequenceNumber or x>` for callbacks, `h-local-<attempt>-<what>` for the
  app's own transitions, `h-answer-<step>-<CallSid>` for Gather answers; docs/architecture.md
  lists them all).
Unfinished deliveries are indexed in partitions `~open-<yyyymmddhh>` (the hour of the first
claim; row = request id) until Twilio reports a final status, for the status sweeper.
Opted-out recipients live in partition `~opt-out` (the `~` cannot start a request id), one row
per E.164 number; partition `~sid` maps each recorded Twilio SID to its request id (row = SID),
so a reconcile never adopts a Message/Call that belongs to another request.

Every update of `state` is ETag-checked (optimistic concurrency) and retried on 412.
JSON properties are never cut: JSON longer than one property continues in `<name>_2`, `<name>_3`
… with the count in `<name>_parts`.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode
from pydantic import JsonValue

from shared.log_safety import quiet_storage_request_logs
from shared.settings import get_settings
from shared.status_rules import Channel, Source
from shared.storage_connection import table_service_client

STATE_ROW = "state"
# History rows are `h-<report key>`; the next character after `-` bounds their key range.
HISTORY_PREFIX = "h-"
_PAST_HISTORY = "h."
OPT_OUT_PARTITION = "~opt-out"
SID_PARTITION = "~sid"
MAX_ETAG_RETRIES = 8
# A table string property holds at most 64 KiB of UTF-16 (32K code units), with room to spare.
MAX_PROPERTY_UNITS = 32_000
# JSON longer than one property continues in `<name>_2`, `<name>_3` … and `<name>_parts` counts
# the parts: JSON is never cut (cut JSON cannot be read back).
PARTS_SUFFIX = "_parts"
# Tables has no null and a MERGE cannot remove a property: a change clears one by writing this
# empty string, and reads treat it as absent.
CLEARED = ""


@dataclass
class DeliveryState:
    """The `state` row of one request, with the ETag it was read with."""

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
    # What the claim was made for (`send_pipeline.request_fingerprint`); None on rows that no
    # valid request created (e.g. `rejected`).
    request_hash: str | None = None
    program: dict[str, JsonValue] | None = None
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    # The last applied report that asked to be remembered (`delivery_recorder.Report.remember`),
    # so a retry can finish it when the run that applied it stopped before its history row.
    remembered_report: dict[str, JsonValue] | None = None
    # When the state row last changed (None before its first update).
    updated_at: datetime | None = None


# A change to the state row: property name → new value (None values are skipped; `CLEARED`
# empties a property).
StateChange = dict[str, Any]


def now() -> datetime:
    """The current UTC time (one place, so every row uses the same clock)."""
    return datetime.now(UTC)


@functools.cache
def get_table() -> TableClient:
    """The process's deliveries table client (table created on first use)."""
    settings = get_settings()
    quiet_storage_request_logs()
    service = table_service_client(
        settings.storage,
        connection_timeout=5,
        read_timeout=20,
        retry_total=3,
    )
    table = service.get_table_client(settings.deliveries_table_name)
    with contextlib.suppress(ResourceExistsError):
        table.create_table()
    return table


def _clean(properties: Mapping[str, Any], *, merge: bool = False) -> dict[str, Any]:
    """Table properties from `properties`: None values dropped (Tables has no null), dicts and
    lists as JSON text (in several properties when long), plain text cut to fit one property.

    `merge`: the properties go into a MERGE, so a JSON value also writes its part count (a stale
    longer value's extra parts are then ignored)."""
    cleaned: dict[str, Any] = {}
    for key, value in properties.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            parts = _split_utf16(text, MAX_PROPERTY_UNITS)
            cleaned[key] = parts[0]
            cleaned.update({f"{key}_{n}": part for n, part in enumerate(parts[1:], start=2)})
            if len(parts) > 1 or merge:
                cleaned[f"{key}{PARTS_SUFFIX}"] = len(parts)
            continue
        if isinstance(value, str):
            # Plain text (error messages, reasons) is only read by people: cutting it is fine.
            value = _split_utf16(value, MAX_PROPERTY_UNITS)[0]
        cleaned[key] = value
    return cleaned


def _split_utf16(text: str, units: int) -> list[str]:
    """`text` in pieces of at most `units` UTF-16 code units, never splitting a surrogate pair."""
    data = text.encode("utf-16-le")
    if len(data) <= 2 * units:
        return [text]
    pieces, start = [], 0
    while start < len(data):
        end = min(start + 2 * units, len(data))
        if end < len(data) and 0xD8 <= data[end - 1] <= 0xDB:  # ends on a high surrogate
            end -= 2
        pieces.append(data[start:end].decode("utf-16-le"))
        start = end
    return pieces


def joined_property(entity: Mapping[str, Any], name: str) -> Any:
    """The text of property `name`, with the parts it was split into joined again (public:
    the producer's status view reads the same rows)."""
    first = entity.get(name)
    count = entity.get(f"{name}{PARTS_SUFFIX}")
    if not isinstance(first, str) or not isinstance(count, int) or count <= 1:
        return first
    return first + "".join(str(entity[f"{name}_{n}"]) for n in range(2, count + 1))


def _json_property(entity: Mapping[str, Any], name: str) -> Any:
    raw = joined_property(entity, name)
    return json.loads(raw) if isinstance(raw, str) else None


def _present(value: Any) -> Any:
    """A property's value, None when absent or `CLEARED`."""
    return None if value == CLEARED else value


def _state_from_entity(entity: Mapping[str, Any], etag: str) -> DeliveryState:
    return DeliveryState(
        request_id=str(entity["PartitionKey"]),
        channel="call" if entity.get("channel") == "call" else "sms",
        status=str(entity.get("status", "")),
        status_source="twilio" if entity.get("status_source") == "twilio" else "local",
        etag=etag,
        twilio_sid=entity.get("twilio_sid"),
        sequence=entity.get("sequence"),
        attempts=int(entity.get("attempts", 0)),
        event_count=int(entity.get("event_count", 0)),
        error_code=_present(entity.get("error_code")),
        error_message=_present(entity.get("error_message")),
        failure_class=_present(entity.get("failure_class")),
        created_at=entity.get("created_at"),
        claimed_at=entity.get("claimed_at"),
        claimed_by=entity.get("claimed_by"),
        claimed_dequeue_count=entity.get("claimed_dequeue_count"),
        last_report_key=entity.get("last_report_key"),
        request_hash=entity.get("request_hash"),
        program=_json_property(entity, "program"),
        metadata=_json_property(entity, "metadata") or {},
        remembered_report=_json_property(entity, "remembered_report"),
        updated_at=entity.get("updated_at"),
    )


def get_state(request_id: str) -> DeliveryState | None:
    """The current state of `request_id`, or None when the app never saw it."""
    try:
        entity = get_table().get_entity(request_id, STATE_ROW)
    except ResourceNotFoundError:
        return None
    return _state_from_entity(entity, str(entity.metadata["etag"]))


def create_state(request_id: str, properties: Mapping[str, Any]) -> DeliveryState | None:
    """Insert the `state` row (the claim). None when the row already exists (already claimed)."""
    entity = {"PartitionKey": request_id, "RowKey": STATE_ROW, **_clean(properties)}
    try:
        created = get_table().create_entity(entity)
    except ResourceExistsError:
        return None
    return _state_from_entity(entity, str(created["etag"]))


def update_state(
    request_id: str, decide: Callable[[DeliveryState], StateChange | None]
) -> tuple[DeliveryState, StateChange | None]:
    """Read-decide-write the `state` row with its ETag; on 412 read again and decide again.

    `decide` gets the current state and returns the properties to change, or None to leave the
    row alone. Returns the state as written (or as read, when nothing changed) and the change.
    Raises `LookupError` when the row does not exist.
    """
    for _ in range(MAX_ETAG_RETRIES):
        current = get_state(request_id)
        if current is None:
            raise LookupError(f"no delivery state for request {request_id}")
        change = decide(current)
        if change is None:
            return current, None
        entity = {"PartitionKey": request_id, "RowKey": STATE_ROW, **_clean(change, merge=True)}
        entity["updated_at"] = now()
        try:
            written = get_table().update_entity(
                entity,
                mode=UpdateMode.MERGE,
                etag=current.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            continue
        merged = {"PartitionKey": request_id, **_state_entity_view(current), **entity}
        return _state_from_entity(merged, str(written["etag"])), change
    raise RuntimeError(f"state of request {request_id} kept changing; gave up after retries")


def _state_entity_view(state: DeliveryState) -> dict[str, Any]:
    """A `DeliveryState` as table properties (the inverse of `_state_from_entity`)."""
    return _clean(
        {
            "channel": state.channel,
            "status": state.status,
            "status_source": state.status_source,
            "twilio_sid": state.twilio_sid,
            "sequence": state.sequence,
            "attempts": state.attempts,
            "event_count": state.event_count,
            "error_code": state.error_code,
            "error_message": state.error_message,
            "failure_class": state.failure_class,
            "created_at": state.created_at,
            "claimed_at": state.claimed_at,
            "claimed_by": state.claimed_by,
            "claimed_dequeue_count": state.claimed_dequeue_count,
            "last_report_key": state.last_report_key,
            "request_hash": state.request_hash,
            "program": state.program,
            "metadata": state.metadata,
            "remembered_report": state.remembered_report,
        }
    )


def history_exists(request_id: str, key: str) -> bool:
    """Whether the history row `h-<key>` was already written (a repeated report)."""
    try:
        get_table().get_entity(request_id, HISTORY_PREFIX + key)
    except ResourceNotFoundError:
        return False
    return True


def add_history(request_id: str, key: str, properties: Mapping[str, Any]) -> bool:
    """Append the history row `h-<key>`; False when it was already there."""
    entity = {
        "PartitionKey": request_id,
        "RowKey": HISTORY_PREFIX + key,
        "at": now(),
        **_clean(properties),
    }
    try:
        get_table().create_entity(entity)
    except ResourceExistsError:
        return False
    return True


def list_history(request_id: str) -> list[dict[str, Any]]:
    """Every history row of `request_id`, oldest first (`detail` as one JSON text)."""
    rows = get_table().query_entities(
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


def index_sid(sid: str, request_id: str) -> None:
    """Remember that Twilio resource `sid` belongs to `request_id` (first writer wins)."""
    with contextlib.suppress(ResourceExistsError):
        get_table().create_entity(
            {"PartitionKey": SID_PARTITION, "RowKey": sid, "request_id": request_id}
        )


def sid_owner(sid: str) -> str | None:
    """The request id that recorded Twilio resource `sid`, if any."""
    try:
        entity = get_table().get_entity(SID_PARTITION, sid)
    except ResourceNotFoundError:
        return None
    return str(entity["request_id"])


def mark_opted_out(number: str, request_id: str, code: int) -> None:
    """Flag `number` as opted out (Twilio error 21610: the recipient sent STOP)."""
    get_table().upsert_entity(
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


def is_opted_out(number: str) -> bool:
    """Whether `number` is flagged as opted out."""
    try:
        entity = get_table().get_entity(OPT_OUT_PARTITION, number)
    except ResourceNotFoundError:
        return False
    return bool(entity.get("opted_out"))


# The index of unfinished deliveries: partition `~open-<yyyymmddhh>` (the UTC hour the delivery
# was first claimed, i.e. its `created_at`), RowKey = request id. Written before the claim,
# deleted when Twilio reports a final status; the status sweeper reads only these partitions.
OPEN_PREFIX = "~open-"
_PAST_OPEN = "~open."


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


def open_partition(opened_at: datetime) -> str:
    """The index partition of a delivery first claimed at `opened_at`."""
    return f"{OPEN_PREFIX}{opened_at.astimezone(UTC):%Y%m%d%H}"


def open_delivery(
    request_id: str,
    channel: Channel,
    opened_at: datetime,
    due_at: datetime,
    request: dict[str, Any],
    *,
    created_at: datetime | None = None,
) -> None:
    """Add the delivery to the index of unfinished ones (idempotent: an existing row stays).

    The row lives in the hour of `created_at` (the first claim; default `opened_at`), where the
    sweeper and the recorder look for it; `opened_at` starts its age (a retry reopening it)."""
    entity = {
        "PartitionKey": open_partition(created_at or opened_at),
        "RowKey": request_id,
        **_clean(
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
        get_table().create_entity(entity)


def close_delivery(request_id: str, partition: str) -> None:
    """Remove the delivery's row from the index of unfinished ones (absent: nothing to do)."""
    with contextlib.suppress(ResourceNotFoundError):
        get_table().delete_entity(partition, request_id)


def due_deliveries(now_: datetime, limit: int) -> list[OpenDelivery]:
    """At most `limit` index rows due at `now_`, oldest partition first: a range query over the
    `~open-` partitions only, never the deliveries themselves."""
    rows = get_table().query_entities(
        "PartitionKey ge @first and PartitionKey lt @past and due_at le @now",
        parameters={"first": OPEN_PREFIX, "past": _PAST_OPEN, "now": now_},
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


def _request_property(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The index row's request, None when unreadable (the sweeper then cannot reconcile it)."""
    try:
        request = _json_property(row, "request")
    except (ValueError, KeyError):
        return None
    return request if isinstance(request, dict) else None


def reschedule_delivery(entry: OpenDelivery, due_at: datetime, polls: int) -> None:
    """Set when the sweeper looks at the delivery next (gone meanwhile: nothing to do)."""
    with contextlib.suppress(ResourceNotFoundError):
        get_table().update_entity(
            {
                "PartitionKey": entry.partition,
                "RowKey": entry.request_id,
                "due_at": due_at,
                "polls": polls,
            },
            mode=UpdateMode.MERGE,
        )
