"""Record one report about a delivery: apply it to the state row, append history, emit an event.

Used by the send path (the app's own transitions), the status callback, the Gather answers and
the status sweeper. One query reads the state row and the report's history row together, so
a repeated report costs one request.

Order for a report from Twilio (callback, poll, answer): ETag-checked state change → event →
history row. The history row marks the report done: a repeat of the latest report finds it and
changes nothing; if the process died before it, the repeat publishes the event again and
writes the row (events are at least once). A copy that runs concurrently and loses the ETag race
(412, then finds its key applied) changes and publishes nothing: the winner does.
The send path's own first report (`known`: the claim it just wrote) writes the state change and
the history row in one transaction, then the event; a retry of the attempt that sent publishes
it again (`finish_report`; the queue message is the marker there).
Only a report that changes the current status (or carries news such as digits) emits an event,
so consumers never see a delivery move backwards.

Storage requests: a report from Twilio 4 (read, change, event, history row), 5 when it is
final (the index row is deleted); a repeat 1; one that does not apply 2. The send path's report
2 (transaction, event; plus the SID index).
"""

from __future__ import annotations

from typing import Protocol

from pydantic import JsonValue

from shared.contracts import DeliveryEvent
from shared.delivery_report import (
    RecordOutcome,
    Report,
    delivery_event,
    from_remembered,
    history_row,
    remembered,
)
from shared.delivery_store import (
    MAX_ETAG_RETRIES,
    DeliveryState,
    DeliveryStore,
    ReportExistsError,
    StaleStateError,
    StateChange,
    open_partition,
)
from shared.status_rules import FAILED, REJECTED, Channel, is_final, should_apply
from shared.table_properties import CLEARED


class Publisher(Protocol):
    """Where events go (`events_publisher.EventsPublisher`, or a test's list)."""

    def publish(self, event: DeliveryEvent) -> None:
        """Publish one event."""
        ...


class DeliveryRecorder:
    """Applies reports to deliveries in `store` and publishes their events with `publisher`."""

    def __init__(self, store: DeliveryStore, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    def record(
        self, request_id: str, report: Report, *, known: DeliveryState | None = None
    ) -> RecordOutcome:
        """Apply `report` to the delivery `request_id` (see the module docstring for the order).

        `known`: the state as the send path just wrote it (the claim, with its ETag): not read
        again, and the state change and history row go in one transaction (a stale one costs a
        412 and a read). Such a report is `remember`ed: its event can only be published again
        from the state row."""
        state = known
        for attempt in range(MAX_ETAG_RETRIES):
            if state is None:
                state, recorded = self.store.get_state_and_history(request_id, report.key)
                if state is None:
                    return RecordOutcome.NOT_FOUND
                if known is not None and recorded:
                    # The key is this claim's own: the transaction did go through, its answer
                    # was lost (the SDK's retry of it met its own write), so publish its event as
                    # the state remembers it (callbacks may have moved the delivery on since).
                    return self.finish_report(state)
                if recorded:
                    return RecordOutcome.DUPLICATE
                if state.last_report_key == report.key:
                    if attempt == 0:
                        return self._finish_latest(state, report)
                    # Applied since our first read by a concurrent copy, which publishes it.
                    return RecordOutcome.DUPLICATE
            change = _decide(report, state)
            if change is None:
                kept = self.store.add_history(
                    request_id, report.key, history_row(report, applied=False)
                )
                return RecordOutcome.KEPT if kept else RecordOutcome.DUPLICATE
            if change.get("twilio_sid"):
                # Indexed before the state names the SID (idempotent, first writer wins): a
                # process that dies in between never leaves a recorded SID out of the index.
                self.store.index_sid(str(change["twilio_sid"]), request_id)
            try:
                if known is not None:
                    written = self.store.write_report(
                        state, change, report.key, history_row(report, applied=True)
                    )
                else:
                    written = self.store.change_state(state, change)
            except (StaleStateError, ReportExistsError):
                state = None  # read again: changed meanwhile, or (known) our own write landed
                continue
            self._publish(request_id, written, report)
            if known is None:
                self.store.add_history(request_id, report.key, history_row(report, applied=True))
            self._close_if_final(written)
            return RecordOutcome.APPLIED
        raise RuntimeError(f"state of request {request_id} kept changing; gave up after retries")

    def _finish_latest(self, state: DeliveryState, report: Report) -> RecordOutcome:
        """The delivery's latest applied report, again, without its history row: the run that
        applied it died before its event or history row, so the event goes out again (at least
        once) and the row is written."""
        self._publish(state.request_id, state, report)
        self.store.add_history(state.request_id, report.key, history_row(report, applied=True))
        self._close_if_final(state)
        return RecordOutcome.APPLIED

    def finish_report(self, state: DeliveryState) -> RecordOutcome:
        """Publish again the event of the report remembered on `state` (`Report.remember`), for
        a retry of the attempt that applied it: that attempt failed after its transaction,
        perhaps before the event. With the status and `sequence` it had (consumers order by
        `sequence`, so a late one never moves a delivery backwards).

        `IGNORED` when none is remembered."""
        found = from_remembered(state.remembered_report or {})
        if found is None:
            return RecordOutcome.IGNORED
        report, sequence = found
        self.publisher.publish(
            delivery_event(
                state.request_id,
                report,
                channel=state.channel,
                status=report.status,
                twilio_sid=report.twilio_sid or state.twilio_sid,
                sequence=sequence,
                metadata=state.metadata,
            )
        )
        return RecordOutcome.APPLIED

    def record_first(
        self, request_id: str, channel: Channel, report: Report, values: StateChange
    ) -> RecordOutcome:
        """Create the delivery with `report` as its first status (e.g. `rejected`), emit the
        event, then write the history row, which marks the report done (rare reports: three
        requests, so that a redelivery can tell a finished report from one cut short).

        Returns `DUPLICATE` (and changes nothing) when the delivery already exists, unless it was
        created by this very report and its history row is missing: an earlier run died (or
        failed to publish) in between, so the event goes out again and the history row is
        written."""
        created = self.store.create_state(
            request_id,
            {
                **values,
                "channel": channel,
                "status": report.status,
                "status_source": report.source,
                "error_code": report.error_code,
                "error_message": report.error_message,
                "event_count": 1,
                "last_report_key": report.key,
                **report.state_change,
            },
        )
        if created is None:
            existing, recorded = self.store.get_state_and_history(request_id, report.key)
            if existing is None or recorded or existing.last_report_key != report.key:
                return RecordOutcome.DUPLICATE
            created = existing
        self._publish(request_id, created, report)
        self.store.add_history(request_id, report.key, history_row(report, applied=True))
        return RecordOutcome.APPLIED

    def record_conflict(
        self,
        request_id: str,
        channel: Channel,
        key: str,
        reason: str,
        *,
        metadata: dict[str, JsonValue],
        sequence: int,
    ) -> RecordOutcome:
        """Refuse a copy that reuses `request_id` for another request: the delivery's state is
        not touched; a `rejected` event (`detail.conflict`) for the copy and the history row
        `h-<key>`.

        The event goes out before the history row, so a retry after a crash publishes it again.
        Returns `DUPLICATE` when `h-<key>` exists (this copy was refused before).
        """
        if self.store.history_exists(request_id, key):
            return RecordOutcome.DUPLICATE
        report = Report(
            key=key,
            status=REJECTED,
            source="local",
            error_message=reason,
            detail={"reason": reason, "conflict": True},
            channel=channel,
        )
        self.publisher.publish(
            delivery_event(
                request_id,
                report,
                channel=channel,
                status=REJECTED,
                twilio_sid=None,
                sequence=sequence,
                metadata=metadata,
            )
        )
        self.store.add_history(request_id, key, history_row(report, applied=False))
        return RecordOutcome.APPLIED

    def note(self, request_id: str, report: Report) -> bool:
        """Add `report` to the delivery's history only (no state change, no event): a copy of a
        request that was refused. False when it was noted before."""
        return self.store.add_history(request_id, report.key, history_row(report, applied=False))

    def _publish(self, request_id: str, state: DeliveryState, report: Report) -> None:
        self.publisher.publish(
            delivery_event(
                request_id,
                report,
                channel=state.channel,
                status=state.status,
                twilio_sid=state.twilio_sid,
                sequence=state.event_count,
                metadata=state.metadata,
            )
        )

    def _close_if_final(self, state: DeliveryState) -> None:
        """Drop a delivery whose status Twilio reported final from the index of unfinished ones.
        After the event: a crash before this leaves the index row, which the sweeper drops."""
        if state.created_at is not None and is_final(
            state.channel, state.status, state.status_source
        ):
            self.store.close_delivery(state.request_id, open_partition(state.created_at))


def _decide(report: Report, state: DeliveryState) -> StateChange | None:
    """The change `report` makes to `state`; None when it does not apply (kept in history)."""
    if report.twilio_sid and state.twilio_sid and report.twilio_sid != state.twilio_sid:
        return None  # a report about another Twilio resource never moves this delivery
    if report.for_attempt is not None and state.attempts != report.for_attempt:
        return None  # the claim it judged was taken over by another attempt
    applied: StateChange = {
        "event_count": state.event_count + 1,
        "last_report_key": report.key,
    }
    if report.news:
        return applied
    if not should_apply(
        state.channel,
        state.status,
        state.sequence,
        report.status,
        report.sequence,
        current_source=state.status_source,
        new_source=report.source,
    ):
        return None
    change: StateChange = {
        "status": report.status,
        "status_source": report.source,
        "sequence": report.sequence,
        "error_code": report.error_code,
        "error_message": report.error_message,
        **applied,
        **report.state_change,
    }
    if state.twilio_sid is None:
        change["twilio_sid"] = report.twilio_sid
    if report.remember:
        change["remembered_report"] = remembered(report, state.event_count + 1)
    if _corrects_local_failure(state, report):
        # Twilio's word replaces the app's "gave up": the old error no longer describes it.
        change["error_code"] = report.error_code if report.error_code is not None else CLEARED
        change["error_message"] = report.error_message or CLEARED
        change.setdefault("failure_class", CLEARED)
    return change


def _corrects_local_failure(state: DeliveryState, report: Report) -> bool:
    return state.status == FAILED and state.status_source == "local" and report.source == "twilio"
