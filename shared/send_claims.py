"""The send path's claims: who may send a request, once.

A claim is the insert of the delivery's `state` row: it exists already → another queue
message saw this id first. That copy is refused when it names another request (its channel
or its fingerprint differs: `conflict_reason`), a duplicate when the delivery is settled, and
otherwise takes over the claim (`reclaim`) if the attempt that made it has ended without a
SID. A fresh claim of another queue message may still be sending (the host redelivers a
message only after its previous attempt ended): retry later (`ClaimInProgressError`).
The index of unfinished deliveries gets the delivery before its claim (`claim`), so the
status sweeper never misses one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any, NoReturn

from pydantic import BaseModel

from shared.delivery_store import DeliveryState, DeliveryStore, StateChange, now
from shared.failure_classes import FailureClass
from shared.host_config import max_dequeue_count
from shared.send_channel import DeliveryEnded, Request, Sender, SendOutcome
from shared.send_intake import QueueDelivery
from shared.settings import get_settings
from shared.status_rules import REJECTED, SENDING
from shared.sweep_schedule import first_due
from shared.twilio_gateway import TwilioResource

logger = logging.getLogger(__name__)


class ClaimInProgressError(RuntimeError):
    """Another queue message (a duplicate copy) claimed this request moments ago and may still be
    sending: retry later."""


def request_fingerprint(request: object) -> str:
    """SHA-256 of the request as canonical JSON (every field, sorted keys): two copies of an id
    with the same fingerprint are the same request."""
    canonical = json.dumps(
        request_json(request, exclude_none=False), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def request_json(request: object, *, exclude_none: bool = True) -> dict[str, Any]:
    """The request as JSON (by alias), as the sweeper needs it to reconcile an abandoned claim."""
    if not isinstance(request, BaseModel):
        raise TypeError(f"not a request model: {type(request).__name__}")
    dumped: dict[str, Any] = request.model_dump(
        mode="json", by_alias=True, exclude_none=exclude_none
    )
    return dumped


def claim[R: Request](
    store: DeliveryStore, sender: Sender[R], request: R, delivery: QueueDelivery
) -> DeliveryState | None:
    """Index the delivery as unfinished, then insert its state row `sending`. None when the
    row exists already (another queue message claimed the id first)."""
    opened = now()
    _index(store, sender, request, opened, created_at=opened)
    return store.create_state(
        request.id,
        {
            "channel": sender.channel,
            "request_hash": request_fingerprint(request),
            "status": SENDING,
            "status_source": "local",
            "attempts": 1,
            "event_count": 0,
            "created_at": opened,
            "claimed_at": opened,
            **claimant(delivery),
            "metadata": request.metadata,
            **sender.state_properties(request),
        },
    )


def keep_indexed[R: Request](
    store: DeliveryStore, sender: Sender[R], request: R, state: DeliveryState
) -> None:
    """Index a reclaimed delivery again, after the claim is ours: the sweeper may have closed its
    row meanwhile (an abandoned claim settled `failed`, a `-poison` replay, a copy hours later),
    and one about to be sent must be polled if its callbacks are lost. In the hour of the first
    claim, where the recorder closes it; its age starts now."""
    reopened = now()
    _index(store, sender, request, reopened, created_at=state.created_at or reopened)


def _index[R: Request](
    store: DeliveryStore, sender: Sender[R], request: R, at: datetime, *, created_at: datetime
) -> None:
    """The delivery's row in the index of unfinished deliveries, due after the first back-off."""
    store.open_delivery(
        request.id,
        sender.channel,
        at,
        first_due(at, get_settings().status_sweep_backoff_seconds),
        request_json(request),
        created_at=created_at,
    )


def conflict_reason[R: Request](
    sender: Sender[R], request: R, current: DeliveryState
) -> str | None:
    """Why this copy is not the request its id was claimed for; None when it is (or when the
    stored row records no fingerprint, e.g. a `rejected` one: compared by channel only)."""
    if current.channel != sender.channel:
        return f"request id {current.request_id} already names a {current.channel} request"
    if current.request_hash is not None and current.request_hash != request_fingerprint(request):
        return (
            f"request id {current.request_id} already names a {current.channel} request "
            "with different content"
        )
    return None


def claimant(delivery: QueueDelivery) -> StateChange:
    """The claim's owner: which queue message (and which of its attempts) made it."""
    return {"claimed_by": delivery.message_id, "claimed_dequeue_count": delivery.dequeue_count}


def is_last_attempt(delivery: QueueDelivery) -> bool:
    """Whether the host moves the message to `-poison` if this attempt fails."""
    return delivery.dequeue_count >= max_dequeue_count()


def is_settled(state: DeliveryState) -> bool:
    """Whether no new send may happen for this delivery."""
    if state.twilio_sid is not None or state.status_source == "twilio":
        return True
    return state.status == REJECTED or state.failure_class == FailureClass.PERMANENT


def is_earlier_attempt_of(state: DeliveryState, delivery: QueueDelivery) -> bool:
    """Whether the claim was made by an earlier attempt of this same queue message.

    The host redelivers a message only after its previous invocation ended (failed, or its
    lease expired), so such a claim is never still in flight.
    """
    return (
        state.claimed_by == delivery.message_id
        and state.claimed_dequeue_count is not None
        and state.claimed_dequeue_count < delivery.dequeue_count
    )


def in_flight_window() -> timedelta:
    """How long a claim without an outcome may still be sending (two HTTP timeouts, plus slack)."""
    return timedelta(seconds=2 * get_settings().twilio_http_timeout_seconds + 10)


def reclaim(store: DeliveryStore, seen: DeliveryState, delivery: QueueDelivery) -> DeliveryState:
    """Take over a claim whose attempt ended without a SID; the state as written.

    `DeliveryEnded(DUPLICATE)` when the delivery settled meanwhile (e.g. a status callback
    brought the SID). A fresh claim of another queue message (a duplicate copy of the request)
    may still be sending: `ClaimInProgressError`, or `DeliveryEnded(DUPLICATE)` on this copy's
    last attempt (the other copy owns the request, so this one must not end in `-poison`).
    """
    rid = seen.request_id
    still_running = (
        seen.status == SENDING
        and not seen.failure_class
        and seen.claimed_at is not None
        and now() - seen.claimed_at < in_flight_window()
        and not is_earlier_attempt_of(seen, delivery)
    )
    if still_running:
        _claimed_elsewhere(seen, delivery, "is being sent by another queue message")

    def take(state: DeliveryState) -> StateChange | None:
        if state.attempts != seen.attempts or is_settled(state):
            return None
        return {
            "status": SENDING,
            "status_source": "local",
            "attempts": state.attempts + 1,
            "claimed_at": now(),
            **claimant(delivery),
            "failure_class": "",
        }

    state, change = store.update_state(rid, take, known=seen)
    if change is None and is_settled(state):
        logger.info("duplicate request, settled meanwhile rid=%s", rid)
        raise DeliveryEnded(SendOutcome.DUPLICATE)
    if change is None:
        _claimed_elsewhere(seen, delivery, "was claimed again by another queue message")
    return state


def _claimed_elsewhere(seen: DeliveryState, delivery: QueueDelivery, what: str) -> NoReturn:
    """Another copy of the request holds the claim: retry later, or end as a duplicate when this
    is the last attempt."""
    if is_last_attempt(delivery):
        logger.warning(
            "duplicate copy on its last attempt while another queue message %s holds the claim: "
            "not sent, not poisoned rid=%s",
            seen.claimed_by,
            seen.request_id,
        )
        raise DeliveryEnded(SendOutcome.DUPLICATE)
    raise ClaimInProgressError(f"request {seen.request_id} {what}")


def first_unowned(
    store: DeliveryStore, request_id: str, candidates: list[TwilioResource]
) -> TwilioResource | None:
    """The first of a reconcile's candidates that no other request recorded (the `~sid` index):
    the Message/Call an earlier attempt of `request_id` created, if any."""
    for candidate in candidates:
        if store.sid_owner(candidate.sid) in (None, request_id):
            return candidate
    return None


def since_first_claim(state: DeliveryState, skew: timedelta) -> datetime:
    """Where a reconcile starts looking: the first claim, less the clock skew allowed."""
    return (state.created_at or state.claimed_at or now()) - skew
