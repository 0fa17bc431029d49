"""The status sweeper: learn what Twilio knows about deliveries whose callbacks never arrived.

Twilio pushes every status to the app; a callback sent while the app is down (restart, slot swap,
scale-in, outage) is retried a few times (`webhook_urls`) and then lost. The sweeper runs on a
timer and reads only the index of unfinished deliveries (`DeliveryStore.due_deliveries`, the
`~open-<hour>` partitions), never the whole table. For each delivery due:

- a stale row of a copy claimed in another hour → dropped;
- its status moved recently → looked at again later, Twilio is not asked;
- its last report was applied to the state but has no history row (the process died before it,
  and Twilio gave up retrying the callback) → recorded again under its key, so the recorder
  publishes the event and writes the history row (`detail.recovered`); when that last report is
  the send path's own (state and history row in one transaction, so the row proves nothing
  about the event), its event is published again on the sweeper's first look;
- final (the process died before closing the row), rejected, or failed before reaching Twilio
  → the index row is dropped;
- it has a SID → the Message/Call is fetched by SID and a different status is recorded through the
  same recorder as a callback (history row with source `poll`, event, the status rules);
  still not final → next poll with back-off (`sweep_schedule`); older than
  `STATUS_SWEEP_MAX_AGE_HOURS` → one last news report with `detail.final_status_unknown: true`
  (history row and event) and the delivery leaves the index;
- no SID (a claim whose attempt died, or gave up after an error that may have reached Twilio)
  and claimed longer ago than `STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES` (by then its queue message has
  run its last attempt) → reconciled as the send path does (list, `send_claims.first_unowned`):
  found → recorded; nothing found → a claim still `sending` is recorded `failed` (nothing was
  sent). The sweeper never sends.

A 429 from Twilio, or a configuration error (401/403), ends the run early (the next run goes on);
other errors of one delivery (a 404: its Message/Call was deleted at Twilio) are logged and it is
asked again after its next back-off step, until the age limit: then final status unknown. At most
`STATUS_SWEEP_MAX_DELIVERIES` deliveries are looked at per run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared import twilio_gateway
from shared.call_sender import CALL
from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_report import RecordOutcome, Report
from shared.delivery_store import DeliveryState, DeliveryStore, OpenDelivery, open_partition
from shared.delivery_store import now as utc_now
from shared.failure_classes import ClassifiedError, FailureClass
from shared.log_safety import masked_error
from shared.send_claims import first_unowned, request_fingerprint, since_first_claim
from shared.send_pipeline import RECONCILE_SKEW
from shared.settings import Settings, get_settings
from shared.sms_sender import SMS
from shared.status_rules import FAILED, REJECTED, SENDING, Channel, is_final
from shared.sweep_schedule import next_due
from shared.twilio_gateway import PolledStatus, TwilioResource

logger = logging.getLogger(__name__)

POLL_SOURCE = "poll"
RATE_LIMITED_STATUS = 429
RATE_LIMITED_CODE = 20429
NOT_FOUND_STATUS = 404
# Twilio keeps a scheduled message `scheduled` until its send time (up to 35 days ahead): not a
# missing final status, so the age limit does not apply while Twilio says so.
_WAITING_ON_PURPOSE = frozenset({"scheduled"})
# A local `failed` with one of these classes never reached Twilio: nothing to reconcile.
_NOTHING_SENT = frozenset(
    {FailureClass.PERMANENT.value, FailureClass.BAD_INPUT.value, FailureClass.TRANSIENT.value}
)


class TwilioStatusReader(Protocol):
    """What the sweeper asks Twilio (the seam the unit tests replace)."""

    def fetch(self, channel: Channel, sid: str) -> PolledStatus:
        """The Message/Call `sid` now; raises `ClassifiedError`."""
        ...

    def find(
        self, channel: Channel, request: dict[str, Any], since: datetime
    ) -> list[TwilioResource]:
        """Messages/Calls matching the claimed `request` created since `since`, oldest first
        (the send path's reconcile query); raises `ClassifiedError`."""
        ...


class GatewayReader:
    """`TwilioStatusReader` through the process's Twilio client (`twilio_gateway`)."""

    def fetch(self, channel: Channel, sid: str) -> PolledStatus:
        """GET Messages/{sid} or Calls/{sid}."""
        if channel == "call":
            return twilio_gateway.fetch_call(sid)
        return twilio_gateway.fetch_message(sid)

    def find(
        self, channel: Channel, request: dict[str, Any], since: datetime
    ) -> list[TwilioResource]:
        """The channel sender's reconcile query for the claimed request."""
        if channel == "call":
            return CALL.find(CALL.model.model_validate(request), since)  # type: ignore[arg-type]
        return SMS.find(SMS.model.model_validate(request), since)  # type: ignore[arg-type]


@dataclass
class SweepSummary:
    """What one run did (logged, and returned for the tests)."""

    due: int = 0
    polled: int = 0
    recorded: int = 0
    closed: int = 0
    unknown: int = 0
    reconciled: int = 0
    abandoned: int = 0
    finished: int = 0
    rescheduled: int = 0
    errors: int = 0
    stopped: str | None = None
    request_ids: list[str] = field(default_factory=list)


def sweep(
    recorder: DeliveryRecorder,
    reader: TwilioStatusReader | None = None,
    now: datetime | None = None,
) -> SweepSummary:
    """One run of the sweeper over the deliveries due at `now` (default: the current time),
    recording with `recorder`."""
    settings = get_settings()
    at = now or utc_now()
    twilio = reader or GatewayReader()
    due = recorder.store.due_deliveries(at, settings.status_sweep_max_deliveries)
    summary = SweepSummary(due=len(due))
    for entry in due:
        summary.request_ids.append(entry.request_id)
        try:
            _look_at(recorder, entry, twilio, at, settings, summary)
        except ClassifiedError as exc:
            stop = _stops_the_run(exc)
            if stop is not None:
                summary.stopped = stop
                logger.warning(
                    "status sweep stopped early (%s) at rid=%s; the next run goes on: %s",
                    stop,
                    entry.request_id,
                    str(exc),
                )
                break
            summary.errors += 1
            logger.warning("status sweep: rid=%s not polled: %s", entry.request_id, str(exc))
            if _is_too_old(entry, at, settings):
                # Asked in vain until the age limit (e.g. a Message deleted at Twilio: 404):
                # given up like a status that never became final, never polled for ever.
                _give_up_unanswered(recorder, entry, exc, settings, summary)
            else:
                _reschedule(recorder.store, entry, at, entry.polls + 1, settings, summary)
        except Exception as exc:
            # Storage trouble or a bug with one delivery must not stop the others; it is due
            # again next run.
            summary.errors += 1
            logger.error("status sweep: rid=%s failed: %s", entry.request_id, masked_error(exc))
    # A run with nothing due (the usual case) logs at DEBUG: no line every minute.
    logger.log(
        logging.INFO if summary.due else logging.DEBUG,
        "status sweep: %s due, %s polled, %s recorded, %s closed, %s final status unknown, "
        "%s reconciled, %s abandoned claims, %s errors%s",
        summary.due,
        summary.polled,
        summary.recorded,
        summary.closed,
        summary.unknown,
        summary.reconciled,
        summary.abandoned,
        summary.errors,
        f", stopped: {summary.stopped}" if summary.stopped else "",
    )
    return summary


def _stops_the_run(exc: ClassifiedError) -> str | None:
    """Why `exc` ends the run (None: only this delivery failed)."""
    if exc.http_status == RATE_LIMITED_STATUS or exc.code == RATE_LIMITED_CODE:
        return "rate limited by Twilio (429)"
    if exc.failure_class == FailureClass.CONFIGURATION and exc.http_status != NOT_FOUND_STATUS:
        # A 404 names one resource (a Message or Call deleted at Twilio), not the settings:
        # stopping on it would stop every run at the same delivery.
        return "configuration error"
    return None


def _look_at(
    recorder: DeliveryRecorder,
    entry: OpenDelivery,
    twilio: TwilioStatusReader,
    now: datetime,
    settings: Settings,
    summary: SweepSummary,
) -> None:
    state = recorder.store.get_state(entry.request_id)
    if state is None:
        # The process died between the index row and the claim: nothing was sent.
        if now - entry.opened_at >= _claim_timeout(settings):
            _close(recorder.store, entry, summary)
        else:
            _wait_until(recorder.store, entry, entry.opened_at + _claim_timeout(settings), summary)
        return
    if _is_stale(entry, state):
        _close(recorder.store, entry, summary)
        return
    quiet = timedelta(seconds=settings.status_sweep_backoff_seconds[0])
    if state.updated_at is not None and now - state.updated_at < quiet:
        # Its status is moving (callbacks arrive): look again once it has been quiet a while.
        _wait_until(recorder.store, entry, state.updated_at + quiet, summary)
        return
    if _finish_last_report(recorder, entry, state):
        summary.finished += 1
    if _is_done(state):
        _close(recorder.store, entry, summary)
        return
    if state.twilio_sid is None:
        _settle_claim(recorder, entry, state, twilio, now, settings, summary)
        return
    _poll(recorder, entry, state, state.twilio_sid, twilio, now, settings, summary)


def _is_stale(entry: OpenDelivery, state: DeliveryState) -> bool:
    """Whether the index row was left by a copy of a delivery claimed in another hour (the row
    in the hour of its `created_at` is the real one)."""
    return state.created_at is None or (open_partition(state.created_at) != entry.partition)


def _finish_last_report(
    recorder: DeliveryRecorder, entry: OpenDelivery, state: DeliveryState
) -> bool:
    """Finish a report whose state change happened but whose event and history row did not
    (the process died in between, and Twilio gave up retrying the callback): recorded again
    with its key, the recorder publishes the event and writes the history row."""
    key = state.last_report_key
    if not key:
        return False
    remembered = state.remembered_report or {}
    if remembered.get("key") == key:
        # The send path's report, written with its history row in one transaction: the row
        # cannot tell whether its event went out (a crash after it on the last attempt leaves
        # no retry). Still the latest report, so no callback came: published again once, on
        # the first look (at least once).
        if entry.polls > 0:
            return False
        recorder.finish_report(state)
        logger.info(
            "status sweep: rid=%s event of the send report %s published again",
            entry.request_id,
            key,
        )
        return True
    outcome = recorder.record(
        entry.request_id,
        Report(
            key=key,
            status=state.status,
            source=state.status_source,
            sequence=state.sequence,
            twilio_sid=state.twilio_sid,
            error_code=state.error_code,
            error_message=state.error_message,
            detail={"source": POLL_SOURCE, "recovered": True},
        ),
    )
    if outcome != RecordOutcome.APPLIED:
        return False  # finished (its history row exists), or moved on meanwhile
    logger.warning(
        "status sweep: rid=%s report %s was applied but not finished; event and history "
        "written now",
        entry.request_id,
        key,
    )
    return True


def _is_done(state: DeliveryState) -> bool:
    """Whether the delivery has nothing left to find out."""
    if is_final(state.channel, state.status, state.status_source) or state.status == REJECTED:
        return True
    return (
        state.status == FAILED
        and state.status_source == "local"
        and state.twilio_sid is None
        and (state.failure_class or "") in _NOTHING_SENT
    )


def _poll(
    recorder: DeliveryRecorder,
    entry: OpenDelivery,
    state: DeliveryState,
    sid: str,
    twilio: TwilioStatusReader,
    now: datetime,
    settings: Settings,
    summary: SweepSummary,
) -> None:
    polled = twilio.fetch(state.channel, sid)
    summary.polled += 1
    applied = False
    if polled.status != state.status:
        outcome = recorder.record(
            entry.request_id,
            Report(
                key=f"poll-{sid}-{polled.status}",
                status=polled.status,
                source="twilio",
                twilio_sid=sid,
                error_code=polled.error_code,
                error_message=polled.error_message,
                detail={"source": POLL_SOURCE},
                history_source=POLL_SOURCE,
            ),
        )
        applied = outcome == RecordOutcome.APPLIED
        summary.recorded += applied
        logger.info(
            "status sweep: rid=%s sid=%s was %s, Twilio says %s (%s)",
            entry.request_id,
            sid,
            state.status,
            polled.status,
            outcome,
        )
    if is_final(state.channel, polled.status):
        if applied:
            # The recorder deleted the row with the final status (`entry.partition` is the
            # hour of `created_at`: not stale); deleting it again would be a wasted request.
            summary.closed += 1
        else:
            _close(recorder.store, entry, summary)
        return
    if _is_too_old(entry, now, settings) and polled.status not in _WAITING_ON_PURPOSE:
        _give_up(
            recorder, entry, state, polled.status, f"Twilio still says {polled.status}", settings
        )
        summary.unknown += 1
        _close(recorder.store, entry, summary)
        return
    _reschedule(recorder.store, entry, now, entry.polls + 1, settings, summary)


def _is_too_old(entry: OpenDelivery, now: datetime, settings: Settings) -> bool:
    return now - entry.opened_at >= timedelta(hours=settings.status_sweep_max_age_hours)


def _give_up(
    recorder: DeliveryRecorder,
    entry: OpenDelivery,
    state: DeliveryState,
    status: str,
    why: str,
    settings: Settings,
) -> None:
    """Record that no final status came within the age limit: news (history row and event,
    the status stays what Twilio last said). `why`: what Twilio said last, or why it could not
    be asked."""
    sid = state.twilio_sid
    reason = (
        f"no final status from Twilio within {settings.status_sweep_max_age_hours:g} hours; {why}"
    )
    recorder.record(
        entry.request_id,
        Report(
            key=f"poll-final-status-unknown-{sid or 'nosid'}",
            status=status,
            source="twilio",
            twilio_sid=sid,
            detail={"source": POLL_SOURCE, "final_status_unknown": True, "reason": reason},
            news=True,
            history_source=POLL_SOURCE,
        ),
    )
    logger.warning(
        "status sweep: final status unknown rid=%s sid=%s status=%s: %s",
        entry.request_id,
        sid,
        state.status,
        reason,
    )


def _give_up_unanswered(
    recorder: DeliveryRecorder,
    entry: OpenDelivery,
    exc: ClassifiedError,
    settings: Settings,
    summary: SweepSummary,
) -> None:
    """The age limit passed while Twilio could not answer about the delivery: final status
    unknown, with the error as the reason; the delivery leaves the index."""
    state = recorder.store.get_state(entry.request_id)
    if state is not None:
        _give_up(
            recorder, entry, state, state.status, f"Twilio could not be asked: {exc}", settings
        )
        summary.unknown += 1
    _close(recorder.store, entry, summary)


def _settle_claim(
    recorder: DeliveryRecorder,
    entry: OpenDelivery,
    state: DeliveryState,
    twilio: TwilioStatusReader,
    now: datetime,
    settings: Settings,
    summary: SweepSummary,
) -> None:
    """A claim without a SID whose queue message has had all its attempts: reconcile, never
    send."""
    claimed_at = state.claimed_at or state.created_at or entry.opened_at
    if now - claimed_at < _claim_timeout(settings):
        # Its queue message may still be retried: look again when it cannot be any more.
        _wait_until(recorder.store, entry, claimed_at + _claim_timeout(settings), summary)
        return
    request = entry.request
    if request is None or not _is_claimed_request(state, request):
        logger.error(
            "status sweep: rid=%s claim cannot be reconciled (the indexed request is not the "
            "claimed one); left as %s",
            entry.request_id,
            state.status,
        )
        _close(recorder.store, entry, summary)
        return
    since = since_first_claim(state, RECONCILE_SKEW)
    found = first_unowned(
        recorder.store, entry.request_id, twilio.find(state.channel, request, since)
    )
    summary.polled += 1
    if found is not None:
        recorder.record(
            entry.request_id,
            Report(
                key=f"poll-reconciled-{found.sid}",
                status=found.status,
                source="twilio",
                twilio_sid=found.sid,
                detail={"source": POLL_SOURCE, "reconciled": True},
                state_change={"failure_class": ""},
                history_source=POLL_SOURCE,
            ),
        )
        summary.reconciled += 1
        logger.warning(
            "status sweep: abandoned claim rid=%s did reach Twilio: %s",
            entry.request_id,
            found.sid,
        )
        if is_final(state.channel, found.status):
            _close(recorder.store, entry, summary)
        else:
            _reschedule(recorder.store, entry, now, 0, settings, summary)
        return
    if state.status == SENDING:
        reason = (
            f"abandoned claim: no attempt recorded an outcome within "
            f"{settings.status_sweep_claim_timeout_minutes:g} minutes and Twilio has no "
            "matching message or call; nothing was sent"
        )
        outcome = recorder.record(
            entry.request_id,
            Report(
                key=f"poll-abandoned-{state.attempts}",
                status=FAILED,
                source="local",
                error_message=reason,
                detail={"source": POLL_SOURCE, "reason": reason},
                history_source=POLL_SOURCE,
                for_attempt=state.attempts,
            ),
        )
        if outcome != RecordOutcome.APPLIED:
            # A live attempt (its queue message came back after an outage, a `-poison` replay)
            # took the claim over since it was read: it reconciles before it sends.
            _reschedule(recorder.store, entry, now, entry.polls + 1, settings, summary)
            return
        summary.abandoned += 1
        logger.warning("status sweep: rid=%s %s", entry.request_id, reason)
    _close(recorder.store, entry, summary)
    _reopen_if_reclaimed(recorder, entry, state, now, settings)


def _reopen_if_reclaimed(
    recorder: DeliveryRecorder,
    entry: OpenDelivery,
    settled: DeliveryState,
    now: datetime,
    settings: Settings,
) -> None:
    """An attempt that took the claim over between the settlement and the close indexed it
    before the close removed the row: index it again, so it is polled if it is sent."""
    current = recorder.store.get_state(entry.request_id)
    if current is None or current.attempts == settled.attempts:
        return
    recorder.store.open_delivery(
        entry.request_id,
        entry.channel,
        now,
        next_due(now, 0, settings.status_sweep_backoff_seconds),
        entry.request or {},
        created_at=current.created_at or entry.opened_at,
    )


def _is_claimed_request(state: DeliveryState, request: dict[str, Any]) -> bool:
    """Whether the indexed `request` is the one the delivery was claimed for (fingerprint)."""
    sender = CALL if state.channel == "call" else SMS
    try:
        model = sender.model.model_validate(request)
    except ValueError:
        return False
    return state.request_hash is None or request_fingerprint(model) == state.request_hash


def _claim_timeout(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.status_sweep_claim_timeout_minutes)


def _close(store: DeliveryStore, entry: OpenDelivery, summary: SweepSummary) -> None:
    store.close_delivery(entry.request_id, entry.partition)
    summary.closed += 1


def _reschedule(
    store: DeliveryStore,
    entry: OpenDelivery,
    now: datetime,
    polls: int,
    settings: Settings,
    summary: SweepSummary,
) -> None:
    store.reschedule_delivery(
        entry, next_due(now, polls, settings.status_sweep_backoff_seconds), polls
    )
    summary.rescheduled += 1


def _wait_until(
    store: DeliveryStore, entry: OpenDelivery, due_at: datetime, summary: SweepSummary
) -> None:
    """Look at the delivery again at `due_at`, without counting a poll."""
    store.reschedule_delivery(entry, due_at, entry.polls)
    summary.rescheduled += 1
