"""The send path shared by `send_sms` and `send_call`: intake, claim, reconcile, send, record.

Composes `send_intake` (parse or reject), `send_claims` (claim, conflict, reclaim) and the
channel's `Sender`, recording with a `DeliveryRecorder`. A delivery that ends early raises
`DeliveryEnded`, whose outcome `process` returns.
Failure classes (docs/architecture.md, "Send path" step 4; table in `failure_classes.py`):
- bad input → the delivery is recorded `rejected` with the reason and raw payload; no retry;
- permanent Twilio error → `failed` with the code (21610 also flags the recipient); no retry;
- configuration, transient, ambiguous → the error is noted on the state row and raised, so the
  host retries (and moves the message to `-poison` after the last attempt, which first records
  `failed`: gave up).
A request id seen before is not sent again. If an earlier attempt claimed but recorded no SID,
this attempt first reconciles (lists Messages/Calls like it) unless the earlier failure was
known not to reach Twilio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import NoReturn

from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_report import RecordOutcome, Report
from shared.delivery_store import DeliveryState, StateChange, now
from shared.failure_classes import OPTED_OUT_CODE, ClassifiedError, FailureClass
from shared.log_safety import mask_number, mask_numbers_in, masked_error
from shared.send_channel import DeliveryEnded, Request, Sender, SendOutcome
from shared.send_claims import (
    claim,
    conflict_reason,
    first_unowned,
    is_earlier_attempt_of,
    is_last_attempt,
    is_settled,
    keep_indexed,
    reclaim,
    request_fingerprint,
    since_first_claim,
)
from shared.send_intake import QueueDelivery, parse
from shared.status_rules import FAILED
from shared.twilio_gateway import TwilioResource

logger = logging.getLogger(__name__)

# Clock skew allowed between this host and Twilio when reconciling (Twilio dates have seconds).
RECONCILE_SKEW = timedelta(seconds=5)


def process[R: Request](
    sender: Sender[R], delivery: QueueDelivery, recorder: DeliveryRecorder
) -> SendOutcome:
    """Handle one queue message end to end (see the module docstring).

    On the last attempt every error is first recorded as `failed` (gave up) and then raised, so
    the message never lands in `-poison` with its delivery stuck at `sending`.
    """
    try:
        request = parse(recorder, sender, delivery)
    except DeliveryEnded as ended:
        return ended.outcome
    try:
        return _deliver(recorder, sender, request, delivery)
    except DeliveryEnded as ended:
        return ended.outcome
    except Exception as exc:
        if is_last_attempt(delivery):
            if _finished_after_send(recorder, request, delivery, exc):
                return SendOutcome.SENT
            _give_up(recorder, sender, request, delivery, exc)
        raise


def _deliver[R: Request](
    recorder: DeliveryRecorder, sender: Sender[R], request: R, delivery: QueueDelivery
) -> SendOutcome:
    """Claim the request (or take over an earlier attempt's claim), reconcile, send."""
    store, rid = recorder.store, request.id
    log = {"rid": rid, "channel": sender.channel, "to": mask_number(request.to)}
    claimed = claim(store, sender, request, delivery)
    if claimed is not None:
        return _send(recorder, sender, request, claimed)
    current = store.get_state(rid)
    conflict = None if current is None else conflict_reason(sender, request, current)
    if current is not None and conflict is not None:
        _refuse_conflict(recorder, sender, request, current, delivery, conflict)
    if current is None or is_settled(current):
        if current is not None and is_earlier_attempt_of(current, delivery):
            _finish_send_report(recorder, current)
        logger.info("duplicate request, not sent again %s", log)
        return SendOutcome.DUPLICATE
    reclaimed = reclaim(store, current, delivery)
    logger.warning("request claimed before without a SID; attempt %s %s", reclaimed.attempts, log)
    keep_indexed(store, sender, request, reclaimed)
    if current.failure_class != FailureClass.TRANSIENT:
        found = _reconcile(recorder, sender, request, reclaimed)
        if found is not None:
            logger.warning("reconciled: an earlier attempt did create %s %s", found.sid, log)
            _record_created(recorder, reclaimed, found, reconciled=True)
            return SendOutcome.RECONCILED
    return _send(recorder, sender, request, reclaimed)


def _refuse_conflict[R: Request](
    recorder: DeliveryRecorder,
    sender: Sender[R],
    request: R,
    current: DeliveryState,
    delivery: QueueDelivery,
    reason: str,
) -> NoReturn:
    """Another request already owns the id: leave its delivery alone, note and announce the
    refusal of this copy (no retry)."""
    logger.warning(
        "request id conflict, copy refused rid=%s channel=%s to=%s message=%s: %s",
        request.id,
        sender.channel,
        mask_number(request.to),
        delivery.message_id,
        mask_numbers_in(reason),
    )
    recorder.record_conflict(
        request.id,
        sender.channel,
        f"conflict-{delivery.message_id}",
        reason,
        metadata=request.metadata,
        sequence=current.event_count,
    )
    raise DeliveryEnded(SendOutcome.CONFLICT)


def _reconcile[R: Request](
    recorder: DeliveryRecorder, sender: Sender[R], request: R, state: DeliveryState
) -> TwilioResource | None:
    """The resource an earlier attempt created, if any: same recipient and content, created
    since the first claim, and not already recorded by another delivery (the SID index)."""
    since = since_first_claim(state, RECONCILE_SKEW)

    def lookup() -> list[TwilioResource]:
        try:
            return sender.find(request, since)
        except ClassifiedError as exc:
            if exc.failure_class == FailureClass.CONFIGURATION:
                raise
            # A failed lookup is no verdict on the request, which may still have reached
            # Twilio: retry, and reconcile again next time (so never noted as `transient`).
            raise ClassifiedError(
                FailureClass.AMBIGUOUS,
                f"reconcile lookup failed: {exc.message}",
                exc.code,
                exc.http_status,
            ) from None

    candidates = _call_twilio(recorder, request, state, lookup)
    return first_unowned(recorder.store, request.id, candidates)


def _finish_send_report(recorder: DeliveryRecorder, state: DeliveryState) -> None:
    """An earlier attempt of this queue message stored the SID and then failed, perhaps before
    its event: publish the event again (at least once)."""
    if recorder.finish_report(state) == RecordOutcome.APPLIED:
        logger.warning(
            "finished the report of an earlier attempt that stopped after the send rid=%s sid=%s",
            state.request_id,
            state.twilio_sid,
        )


def _finished_after_send(
    recorder: DeliveryRecorder, request: Request, delivery: QueueDelivery, exc: Exception
) -> bool:
    """On the last attempt: whether the delivery is whole although `exc` was raised, because the
    SID was stored; when this queue message's attempt sent it, its event is published again now
    (no retry would). Best effort: False when storage still fails."""
    try:
        state = recorder.store.get_state(request.id)
        if state is None or state.twilio_sid is None or state.remembered_report is None:
            return False
        if state.claimed_by == delivery.message_id:
            _finish_send_report(recorder, state)
    except Exception as err:
        logger.error(
            "could not finish the report of a sent request rid=%s: %s",
            request.id,
            masked_error(err),
        )
        return False
    logger.warning(
        "last attempt failed after the send was recorded, report finished rid=%s sid=%s: %s",
        request.id,
        state.twilio_sid,
        masked_error(exc),
    )
    return True


def _send[R: Request](
    recorder: DeliveryRecorder, sender: Sender[R], request: R, state: DeliveryState
) -> SendOutcome:
    created = _call_twilio(recorder, request, state, lambda: sender.send(request))
    logger.info(
        "sent rid=%s sid=%s status=%s to=%s",
        request.id,
        created.sid,
        created.status,
        mask_number(request.to),
    )
    _record_created(recorder, state, created, reconciled=False)
    return SendOutcome.SENT


def _record_created(
    recorder: DeliveryRecorder,
    claimed: DeliveryState,
    created: TwilioResource,
    *,
    reconciled: bool,
) -> None:
    """Record the Message/Call the claim `claimed` (as this attempt wrote it) led to."""
    recorder.record(
        claimed.request_id,
        Report(
            key=f"local-{claimed.attempts}-{'reconciled' if reconciled else 'created'}",
            status=created.status,
            source="twilio",
            twilio_sid=created.sid,
            detail={"reconciled": reconciled},
            state_change={"failure_class": ""},
            remember=True,
        ),
        known=claimed,
    )


def _call_twilio[T](
    recorder: DeliveryRecorder,
    request: Request,
    state: DeliveryState,
    call: Callable[[], T],
) -> T:
    """Run a Twilio call; a permanent failure ends the delivery (`DeliveryEnded(FAILED)`), the
    others are noted on the state and raised."""
    try:
        return call()
    except ClassifiedError as exc:
        if exc.failure_class in (FailureClass.PERMANENT, FailureClass.BAD_INPUT):
            _refused(recorder, request, state, exc)
        _retry_later(recorder, request, state, exc, exc)
    except Exception as exc:
        # Unexpected (a bug, storage trouble): the request may have reached Twilio.
        unexpected = ClassifiedError(FailureClass.AMBIGUOUS, f"{type(exc).__name__}: {exc}")
        _retry_later(recorder, request, state, unexpected, exc)


def _refused(
    recorder: DeliveryRecorder, request: Request, state: DeliveryState, exc: ClassifiedError
) -> NoReturn:
    """Twilio refused the request for good: record `failed` (21610 also flags the recipient)."""
    rid = request.id
    logger.warning(
        "Twilio refused the request for good rid=%s to=%s code=%s: %s",
        rid,
        mask_number(request.to),
        exc.code,
        mask_numbers_in(exc.message),
    )
    recorder.record(rid, _failure_report(state.attempts, "failed", exc, reason="refused by Twilio"))
    if exc.code == OPTED_OUT_CODE:
        recorder.store.mark_opted_out(request.to, rid, exc.code)
    raise DeliveryEnded(SendOutcome.FAILED)


def _retry_later(
    recorder: DeliveryRecorder,
    request: Request,
    state: DeliveryState,
    exc: ClassifiedError,
    raised: Exception,
) -> NoReturn:
    """Note the failure on the state and raise `raised` so the host retries (on the last attempt
    `process` first records `failed`: gave up)."""
    rid, attempt = request.id, state.attempts
    log = f"rid={rid} to={mask_number(request.to)} code={exc.code} class={exc.failure_class}"
    if exc.failure_class == FailureClass.CONFIGURATION:
        logger.error("CONFIGURATION ERROR, fix the settings and replay %s: %s", log, str(exc))
    else:
        logger.warning("send failed, will retry %s: %s", log, str(exc))

    def note(current: DeliveryState) -> StateChange | None:
        if current.attempts != attempt or is_settled(current):
            return None
        return {
            "failure_class": exc.failure_class.value,
            "error_code": exc.code,
            "error_message": exc.message,
        }

    recorder.store.update_state(rid, note, known=state)
    raise raised


def _give_up[R: Request](
    recorder: DeliveryRecorder,
    sender: Sender[R],
    request: R,
    delivery: QueueDelivery,
    exc: Exception,
) -> None:
    """The last attempt failed: record `failed` (gave up, with the reason) before the host moves
    the message to `-poison`; when it failed before the claim, the delivery is created `failed`.
    Best effort: if even that fails, the original error still raises."""
    rid = request.id
    failure = (
        exc
        if isinstance(exc, ClassifiedError)
        else ClassifiedError(FailureClass.AMBIGUOUS, f"{type(exc).__name__}: {exc}")
    )
    reason = f"gave up after {delivery.dequeue_count} attempts"
    log = (
        f"rid={rid} to={mask_number(request.to)} code={failure.code} class={failure.failure_class}"
    )
    logger.error("giving up %s: %s: %s", log, reason, str(failure))
    try:
        state = recorder.store.get_state(rid)
        attempt = state.attempts if state is not None else 0
        report = _failure_report(attempt, "gave-up", failure, reason=reason)
        if recorder.record(rid, report) == RecordOutcome.NOT_FOUND:
            recorder.record_first(
                rid,
                sender.channel,
                report,
                {
                    "request_hash": request_fingerprint(request),
                    "attempts": 0,
                    "created_at": now(),
                    "metadata": request.metadata,
                    **sender.state_properties(request),
                },
            )
    except Exception as err:
        logger.error(
            "could not record that the request gave up %s: %s",
            log,
            masked_error(err),
        )


def _failure_report(attempt: int, kind: str, exc: ClassifiedError, *, reason: str) -> Report:
    return Report(
        key=f"local-{attempt}-{kind}",
        status=FAILED,
        source="local",
        error_code=exc.code,
        error_message=exc.message,
        detail={"reason": reason, "failure_class": exc.failure_class.value},
        state_change={"failure_class": exc.failure_class.value},
    )
