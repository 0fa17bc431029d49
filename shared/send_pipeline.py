"""The send path shared by `send_sms` and `send_call`: validate, claim, reconcile, send, record.

Failure classes (docs/architecture.md, "Send path" step 4; table in `failure_classes.py`):
- bad input → the delivery is recorded `rejected` with the reason and raw payload; no retry;
- permanent Twilio error → `failed` with the code (21610 also flags the recipient); no retry;
- configuration, transient, ambiguous → the error is noted on the state row and raised, so the
  host retries (and moves the message to `-poison` after the last attempt, which first records
  `failed`: gave up).
A request id seen before is not sent again: a claim (`create_entity` of the state row) that
already exists means a duplicate. If an earlier attempt claimed but recorded no SID, this attempt
first reconciles (lists Messages/Calls like it) unless the earlier failure was known not to reach
Twilio. A fresh claim counts as in flight only when another queue message made it (the host
redelivers a message only after its previous attempt ended).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NoReturn, Protocol

from pydantic import BaseModel, ValidationError

from shared import delivery_store
from shared.contracts import REQUEST_MAX_NESTING, is_request_id
from shared.delivery_recorder import (
    RecordOutcome,
    Report,
    finish_report,
    record,
    record_conflict,
    record_first,
)
from shared.delivery_store import DeliveryState, StateChange
from shared.failure_classes import OPTED_OUT_CODE, ClassifiedError, FailureClass
from shared.host_config import max_dequeue_count
from shared.log_safety import mask_number, mask_numbers_in, masked_error
from shared.settings import get_settings
from shared.status_rules import FAILED, REJECTED, SENDING, Channel
from shared.sweep_schedule import first_due
from shared.twilio_gateway import TwilioResource

logger = logging.getLogger(__name__)

# Raw payloads are kept for diagnosis, cut to fit a table property and an event.
MAX_RAW_PAYLOAD_CHARS = 8000
# Clock skew allowed between this host and Twilio when reconciling (Twilio dates have seconds).
RECONCILE_SKEW = timedelta(seconds=5)


class SendOutcome(StrEnum):
    """How one queue message ended (when it did not raise)."""

    REJECTED = "rejected"
    CONFLICT = "conflict"  # the id already names another request: this copy is refused
    DUPLICATE = "duplicate"
    SENT = "sent"
    RECONCILED = "reconciled"
    FAILED = "failed"


class BadInputError(ValueError):
    """The request can never be sent as it is; the message says why."""


class ClaimInProgressError(RuntimeError):
    """Another queue message (a duplicate copy) claimed this request moments ago and may still be
    sending: retry later."""


@dataclass(frozen=True)
class QueueDelivery:
    """One delivery of a queue message, as the host hands it to the function."""

    message_id: str
    body: bytes
    dequeue_count: int


class Request(Protocol):
    """What the pipeline reads from a validated request."""

    @property
    def id(self) -> str:
        """The idempotency key."""
        ...

    @property
    def to(self) -> str:
        """The recipient."""
        ...

    @property
    def metadata(self) -> Any:
        """The producer's opaque data."""
        ...


class Sender[R: Request](Protocol):
    """One channel's part of the send path (`sms_sender.SMS`, `call_sender.CALL`)."""

    @property
    def channel(self) -> Channel:
        """`sms` or `call`."""
        ...

    @property
    def model(self) -> type[BaseModel]:
        """The request model of the channel."""
        ...

    def check(self, request: R) -> None:
        """Raise `BadInputError` for what the model cannot see (e.g. settings-dependent rules)."""
        ...

    def state_properties(self, request: R) -> StateChange:
        """Extra properties of the state row (e.g. the call script)."""
        ...

    def send(self, request: R) -> TwilioResource:
        """Create the Message/Call; raises `ClassifiedError`."""
        ...

    def find(self, request: R, since: datetime) -> list[TwilioResource]:
        """Messages/Calls an earlier attempt may have created, oldest first; raises
        `ClassifiedError`."""
        ...


def process[R: Request](sender: Sender[R], delivery: QueueDelivery) -> SendOutcome:
    """Handle one queue message end to end (see the module docstring).

    On the last attempt every error is first recorded as `failed` (gave up) and then raised, so
    the message never lands in `-poison` with its delivery stuck at `sending`.
    """
    parsed = _parse(sender, delivery)
    if isinstance(parsed, SendOutcome):
        return parsed
    try:
        return _deliver(sender, parsed, delivery)
    except Exception as exc:
        if _is_last_attempt(delivery):
            if _finished_after_send(parsed, exc):
                return SendOutcome.SENT
            _give_up(sender, parsed, delivery, exc)
        raise


def _deliver[R: Request](sender: Sender[R], request: R, delivery: QueueDelivery) -> SendOutcome:
    """Claim the request (or take over an earlier attempt's claim), reconcile, send."""
    rid = request.id
    log = {"rid": rid, "channel": sender.channel, "to": mask_number(request.to)}
    fingerprint = request_fingerprint(request)
    opened = delivery_store.now()
    # Indexed before the claim, so no claim is ever missing from the sweeper's index (a copy of
    # a delivery claimed in another hour leaves a stale row that the sweeper drops).
    delivery_store.open_delivery(
        rid,
        sender.channel,
        opened,
        first_due(opened, get_settings().status_sweep_backoff_seconds),
        _request_json(request),
    )
    claimed = delivery_store.create_state(
        rid,
        {
            "channel": sender.channel,
            "request_hash": fingerprint,
            "status": SENDING,
            "status_source": "local",
            "attempts": 1,
            "event_count": 0,
            "created_at": opened,
            "claimed_at": opened,
            **_claimant(delivery),
            "metadata": request.metadata,
            **sender.state_properties(request),
        },
    )
    if claimed is not None:
        return _send(sender, request, claimed, delivery)
    current = delivery_store.get_state(rid)
    conflict = None if current is None else _conflict_reason(sender, fingerprint, current)
    if current is not None and conflict is not None:
        return _refuse_conflict(sender, request, current, delivery, conflict)
    if current is None or _is_settled(current):
        if current is not None and not _may_still_be_reporting(current, delivery):
            _finish_send_report(rid, current)
        logger.info("duplicate request, not sent again %s", log)
        return SendOutcome.DUPLICATE
    reclaimed = _reclaim(rid, current, delivery)
    if reclaimed is None:
        logger.info("duplicate request, settled meanwhile %s", log)
        return SendOutcome.DUPLICATE
    if isinstance(reclaimed, SendOutcome):
        logger.warning(
            "duplicate copy on its last attempt while another queue message %s holds the claim: "
            "not sent, not poisoned %s",
            current.claimed_by,
            log,
        )
        return reclaimed
    logger.warning("request claimed before without a SID; attempt %s %s", reclaimed.attempts, log)
    _keep_indexed(sender, request, reclaimed)
    if current.failure_class != FailureClass.TRANSIENT:
        found = _reconcile(sender, request, reclaimed, delivery)
        if isinstance(found, SendOutcome):
            return found
        if found is not None:
            logger.warning("reconciled: an earlier attempt did create %s %s", found.sid, log)
            _record_created(rid, reclaimed.attempts, found, reconciled=True)
            return SendOutcome.RECONCILED
    return _send(sender, request, reclaimed, delivery)


def _keep_indexed[R: Request](sender: Sender[R], request: R, state: DeliveryState) -> None:
    """Index a reclaimed delivery again, after the claim is ours: the sweeper may have closed its
    row meanwhile (an abandoned claim settled `failed`, a `-poison` replay, a copy hours later),
    and one about to be sent must be polled if its callbacks are lost. In the hour of the first
    claim, where the recorder closes it; its age starts now."""
    reopened = delivery_store.now()
    delivery_store.open_delivery(
        request.id,
        sender.channel,
        reopened,
        first_due(reopened, get_settings().status_sweep_backoff_seconds),
        _request_json(request),
        created_at=state.created_at or reopened,
    )


def request_fingerprint(request: object) -> str:
    """SHA-256 of the request as canonical JSON (every field, sorted keys): two copies of an id
    with the same fingerprint are the same request."""
    if not isinstance(request, BaseModel):
        raise TypeError(f"not a request model: {type(request).__name__}")
    canonical = json.dumps(
        request.model_dump(mode="json", by_alias=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _conflict_reason[R: Request](
    sender: Sender[R], fingerprint: str, current: DeliveryState
) -> str | None:
    """Why this copy is not the request its id was claimed for; None when it is (or when the
    stored row records no fingerprint, e.g. a `rejected` one: compared by channel only)."""
    if current.channel != sender.channel:
        return f"request id {current.request_id} already names a {current.channel} request"
    if current.request_hash is not None and current.request_hash != fingerprint:
        return (
            f"request id {current.request_id} already names a {current.channel} request "
            "with different content"
        )
    return None


def _refuse_conflict[R: Request](
    sender: Sender[R], request: R, current: DeliveryState, delivery: QueueDelivery, reason: str
) -> SendOutcome:
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
    record_conflict(
        request.id,
        sender.channel,
        f"conflict-{delivery.message_id}",
        reason,
        metadata=request.metadata,
        sequence=current.event_count,
    )
    return SendOutcome.CONFLICT


def _claimant(delivery: QueueDelivery) -> StateChange:
    """The claim's owner: which queue message (and which of its attempts) made it."""
    return {"claimed_by": delivery.message_id, "claimed_dequeue_count": delivery.dequeue_count}


def _is_last_attempt(delivery: QueueDelivery) -> bool:
    return delivery.dequeue_count >= max_dequeue_count()


def _reconcile[R: Request](
    sender: Sender[R], request: R, state: DeliveryState, delivery: QueueDelivery
) -> TwilioResource | SendOutcome | None:
    """The resource an earlier attempt created, if any: same recipient and content, created
    since the first claim, and not already recorded by another delivery (the SID index)."""
    since = (state.created_at or state.claimed_at or delivery_store.now()) - RECONCILE_SKEW

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

    candidates = _guarded(request, state, delivery, lookup)
    if isinstance(candidates, SendOutcome):
        return candidates
    return first_unowned(request.id, candidates)


def first_unowned(request_id: str, candidates: list[TwilioResource]) -> TwilioResource | None:
    """The first of a reconcile's candidates that no other request recorded (the `~sid` index):
    the Message/Call an earlier attempt of `request_id` created, if any."""
    for candidate in candidates:
        if delivery_store.sid_owner(candidate.sid) in (None, request_id):
            return candidate
    return None


def _request_json(request: object) -> dict[str, Any]:
    """The request as JSON (by alias), as the sweeper needs it to reconcile an abandoned claim."""
    if not isinstance(request, BaseModel):
        raise TypeError(f"not a request model: {type(request).__name__}")
    dumped: dict[str, Any] = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def _parse[R: Request](sender: Sender[R], delivery: QueueDelivery) -> R | SendOutcome:
    # A UTF-8 byte order mark (some editors and PowerShell write one) is not part of the JSON.
    raw = delivery.body.decode("utf-8-sig", errors="replace")
    payload: object = None
    try:
        payload = json.loads(delivery.body.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        # Any input the parser refuses is bad input: not UTF-8, not JSON, an integer longer
        # than Python reads (ValueError), or nesting deep enough to exhaust recursion.
        return _reject(sender, delivery, None, raw, _unparsable_reason(exc))
    try:
        if not isinstance(payload, dict):
            raise BadInputError("the message is not a JSON object")
        # No id: the queue message id stands in (stable across redeliveries of this message).
        payload.setdefault("id", delivery.message_id)
        request: R = sender.model.model_validate(payload)  # type: ignore[assignment]
        sender.check(request)
    except ValidationError as exc:
        return _reject(sender, delivery, payload, raw, _validation_reason(exc))
    except BadInputError as exc:
        return _reject(sender, delivery, payload, raw, str(exc))
    return request


def _unparsable_reason(exc: ValueError | RecursionError) -> str:
    if isinstance(exc, RecursionError):
        return (
            "not parseable JSON: it nests objects/arrays too deeply "
            f"(a request may nest at most {REQUEST_MAX_NESTING} levels)"
        )
    return f"not UTF-8 JSON: {exc}"


def _validation_reason(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'request'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    ]
    # A lone surrogate in a key (named in `loc`) could not be stored: write it escaped.
    reason = "; ".join(problems)[:1000]
    return reason.encode("utf-8", "backslashreplace").decode("utf-8")


def _reject[R: Request](
    sender: Sender[R], delivery: QueueDelivery, payload: object, raw: str, reason: str
) -> SendOutcome:
    candidate = payload.get("id") if isinstance(payload, dict) else None
    rid = candidate if isinstance(candidate, str) and is_request_id(candidate) else None
    rid = rid or delivery.message_id
    raw_payload = raw[:MAX_RAW_PAYLOAD_CHARS]
    report = Report(
        key="local-0-rejected",
        status=REJECTED,
        source="local",
        error_message=reason,
        detail={"reason": reason, "raw_payload": raw_payload},
        state_change={"failure_class": FailureClass.BAD_INPUT.value},
    )
    outcome = record_first(
        rid, sender.channel, report, {"reason": reason, "raw_payload": raw_payload}
    )
    if outcome == RecordOutcome.DUPLICATE:
        # The id belongs to a delivery that exists already: keep it, note the bad copy.
        delivery_store.add_history(
            rid,
            f"local-rejected-{delivery.message_id}",
            {"status": REJECTED, "source": "local", "error_message": reason},
        )
    logger.warning("request rejected (bad input) rid=%s: %s", rid, mask_numbers_in(reason))
    return SendOutcome.REJECTED


def _may_still_be_reporting(state: DeliveryState, delivery: QueueDelivery) -> bool:
    """Whether the attempt that sent may still be writing its report (a duplicate copy that
    arrives right behind it): that attempt, or its retry, finishes the report."""
    return (
        state.claimed_at is not None
        and delivery_store.now() - state.claimed_at < _in_flight_window()
        and not _is_earlier_attempt_of(state, delivery)
    )


def _finish_send_report(rid: str, state: DeliveryState) -> None:
    """An earlier attempt stored the SID but failed before its report was whole (the event
    publish or the history insert): finish it now, once (a later retry finds the history row)."""
    if finish_report(rid, state) == RecordOutcome.APPLIED:
        logger.warning(
            "finished the report of an earlier attempt that stopped after the send rid=%s sid=%s",
            rid,
            state.twilio_sid,
        )


def _finished_after_send(request: Request, exc: Exception) -> bool:
    """On the last attempt: whether the delivery is whole although `exc` was raised, because the
    SID was stored and its report could be finished now (no retry would finish it later).
    Best effort: False when storage still fails."""
    try:
        state = delivery_store.get_state(request.id)
        if state is None or state.twilio_sid is None or state.remembered_report is None:
            return False
        _finish_send_report(request.id, state)
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


def _is_settled(state: DeliveryState) -> bool:
    """Whether no new send may happen for this delivery."""
    if state.twilio_sid is not None or state.status_source == "twilio":
        return True
    return state.status == REJECTED or state.failure_class == FailureClass.PERMANENT


def _in_flight_window() -> timedelta:
    """How long a claim without an outcome may still be sending (two HTTP timeouts, plus slack)."""
    return timedelta(seconds=2 * get_settings().twilio_http_timeout_seconds + 10)


def _is_earlier_attempt_of(state: DeliveryState, delivery: QueueDelivery) -> bool:
    """Whether the claim was made by an earlier attempt of this same queue message.

    The host redelivers a message only after its previous invocation ended (failed, or its
    lease expired), so such a claim is never still in flight.
    """
    return (
        state.claimed_by == delivery.message_id
        and state.claimed_dequeue_count is not None
        and state.claimed_dequeue_count < delivery.dequeue_count
    )


def _reclaim(
    rid: str, seen: DeliveryState, delivery: QueueDelivery
) -> DeliveryState | SendOutcome | None:
    """Take over a claim whose attempt ended without a SID.

    None when the delivery settled meanwhile (e.g. a status callback brought the SID). A fresh
    claim of another queue message (a duplicate copy of the request) may still be sending:
    `ClaimInProgressError`, or `DUPLICATE` on this copy's last attempt (the other copy owns
    the request, so this one must not end in `-poison`).
    """
    still_running = (
        seen.status == SENDING
        and not seen.failure_class
        and seen.claimed_at is not None
        and delivery_store.now() - seen.claimed_at < _in_flight_window()
        and not _is_earlier_attempt_of(seen, delivery)
    )
    if still_running:
        return _claimed_elsewhere(rid, delivery, "is being sent by another queue message")

    def take(state: DeliveryState) -> StateChange | None:
        if state.attempts != seen.attempts or _is_settled(state):
            return None
        return {
            "status": SENDING,
            "status_source": "local",
            "attempts": state.attempts + 1,
            "claimed_at": delivery_store.now(),
            **_claimant(delivery),
            "failure_class": "",
        }

    state, change = delivery_store.update_state(rid, take)
    if change is None and _is_settled(state):
        return None
    if change is None:
        return _claimed_elsewhere(rid, delivery, "was claimed again by another queue message")
    return state


def _claimed_elsewhere(rid: str, delivery: QueueDelivery, what: str) -> SendOutcome:
    """Another copy of the request holds the claim: retry later, or end as a duplicate when this
    is the last attempt."""
    if _is_last_attempt(delivery):
        return SendOutcome.DUPLICATE
    raise ClaimInProgressError(f"request {rid} {what}")


def _send[R: Request](
    sender: Sender[R], request: R, state: DeliveryState, delivery: QueueDelivery
) -> SendOutcome:
    created = _guarded(request, state, delivery, lambda: sender.send(request))
    if isinstance(created, SendOutcome):
        return created
    logger.info(
        "sent rid=%s sid=%s status=%s to=%s",
        request.id,
        created.sid,
        created.status,
        mask_number(request.to),
    )
    _record_created(request.id, state.attempts, created, reconciled=False)
    return SendOutcome.SENT


def _record_created(rid: str, attempt: int, created: TwilioResource, *, reconciled: bool) -> None:
    record(
        rid,
        Report(
            key=f"local-{attempt}-{'reconciled' if reconciled else 'created'}",
            status=created.status,
            source="twilio",
            twilio_sid=created.sid,
            detail={"reconciled": reconciled},
            state_change={"failure_class": ""},
            remember=True,
        ),
    )


def _guarded[T](
    request: Request,
    state: DeliveryState,
    delivery: QueueDelivery,
    call: Callable[[], T],
) -> T | SendOutcome:
    """Run a Twilio call; permanent failures end the delivery, the others are noted and raised."""
    try:
        return call()
    except ClassifiedError as exc:
        if exc.failure_class in (FailureClass.PERMANENT, FailureClass.BAD_INPUT):
            return _refused(request, state, exc)
        _retry_later(request, state, delivery, exc, exc)
    except Exception as exc:
        # Unexpected (a bug, storage trouble): the request may have reached Twilio.
        unexpected = ClassifiedError(FailureClass.AMBIGUOUS, f"{type(exc).__name__}: {exc}")
        _retry_later(request, state, delivery, unexpected, exc)


def _refused(request: Request, state: DeliveryState, exc: ClassifiedError) -> SendOutcome:
    """Twilio refused the request for good: record `failed` (21610 also flags the recipient)."""
    rid = request.id
    logger.warning(
        "Twilio refused the request for good rid=%s to=%s code=%s: %s",
        rid,
        mask_number(request.to),
        exc.code,
        mask_numbers_in(exc.message),
    )
    record(rid, _failure_report(state.attempts, "failed", exc, reason="refused by Twilio"))
    if exc.code == OPTED_OUT_CODE:
        delivery_store.mark_opted_out(request.to, rid, exc.code)
    return SendOutcome.FAILED


def _retry_later(
    request: Request,
    state: DeliveryState,
    delivery: QueueDelivery,
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
        if current.attempts != attempt or _is_settled(current):
            return None
        return {
            "failure_class": exc.failure_class.value,
            "error_code": exc.code,
            "error_message": exc.message,
        }

    delivery_store.update_state(rid, note)
    raise raised


def _give_up[R: Request](
    sender: Sender[R], request: R, delivery: QueueDelivery, exc: Exception
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
        state = delivery_store.get_state(rid)
        attempt = state.attempts if state is not None else 0
        report = _failure_report(attempt, "gave-up", failure, reason=reason)
        if record(rid, report) == RecordOutcome.UNKNOWN:
            record_first(
                rid,
                sender.channel,
                report,
                {
                    "request_hash": request_fingerprint(request),
                    "attempts": 0,
                    "created_at": delivery_store.now(),
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
