"""The send path's intake: a queue message becomes a valid request, or is rejected for good.

A body that is not UTF-8 JSON, not an object, or not a valid request of the channel is bad
input: the delivery is recorded `rejected` with the reason and the raw payload (no retry), and
`DeliveryEnded(REJECTED)` is raised. No id: the queue message id stands in.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import NoReturn

from pydantic import ValidationError

from shared.contracts import REQUEST_MAX_NESTING, is_request_id
from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_report import RecordOutcome, Report
from shared.failure_classes import FailureClass
from shared.log_safety import mask_numbers_in
from shared.send_channel import BadInputError, DeliveryEnded, Request, Sender, SendOutcome
from shared.status_rules import REJECTED

logger = logging.getLogger(__name__)

# Raw payloads are kept for diagnosis, cut to fit a table property and an event.
MAX_RAW_PAYLOAD_CHARS = 8000


@dataclass(frozen=True)
class QueueDelivery:
    """One delivery of a queue message, as the host hands it to the function."""

    message_id: str
    body: bytes
    dequeue_count: int


def parse[R: Request](recorder: DeliveryRecorder, sender: Sender[R], delivery: QueueDelivery) -> R:
    """The request in `delivery`; bad input is recorded and raises `DeliveryEnded`."""
    payload: object = None
    try:
        # A UTF-8 byte order mark (some editors and PowerShell write one) is not part of the JSON.
        payload = json.loads(delivery.body.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        # Any input the parser refuses is bad input: not UTF-8, not JSON, an integer longer
        # than Python reads (ValueError), or nesting deep enough to exhaust recursion.
        _reject(recorder, sender, delivery, None, _unparsable_reason(exc))
    try:
        if not isinstance(payload, dict):
            raise BadInputError("the message is not a JSON object")
        # No id: the queue message id stands in (stable across redeliveries of this message).
        payload.setdefault("id", delivery.message_id)
        request: R = sender.model.model_validate(payload)  # type: ignore[assignment]
        sender.check(request)
    except ValidationError as exc:
        _reject(recorder, sender, delivery, payload, _validation_reason(exc))
    except BadInputError as exc:
        _reject(recorder, sender, delivery, payload, str(exc))
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
    recorder: DeliveryRecorder,
    sender: Sender[R],
    delivery: QueueDelivery,
    payload: object,
    reason: str,
) -> NoReturn:
    """Record the request `rejected` (or, when its id names a delivery already, note the bad
    copy in that delivery's history) and end the delivery."""
    candidate = payload.get("id") if isinstance(payload, dict) else None
    rid = candidate if isinstance(candidate, str) and is_request_id(candidate) else None
    rid = rid or delivery.message_id
    # Decoded again leniently: the raw payload is kept even when it is not UTF-8.
    raw_payload = delivery.body.decode("utf-8-sig", errors="replace")[:MAX_RAW_PAYLOAD_CHARS]
    report = Report(
        key="local-0-rejected",
        status=REJECTED,
        source="local",
        error_message=reason,
        detail={"reason": reason, "raw_payload": raw_payload},
        state_change={"failure_class": FailureClass.BAD_INPUT.value},
    )
    outcome = recorder.record_first(
        rid,
        sender.channel,
        report,
        {"reason": reason, "raw_payload": raw_payload, "claimed_by": delivery.message_id},
    )
    if outcome == RecordOutcome.DUPLICATE and not _rejected_by(recorder, rid, delivery):
        # The id belongs to a delivery that exists already: keep it, note the bad copy.
        recorder.note(
            rid,
            Report(
                key=f"local-rejected-{delivery.message_id}",
                status=REJECTED,
                source="local",
                error_message=reason,
            ),
        )
    logger.warning("request rejected (bad input) rid=%s: %s", rid, mask_numbers_in(reason))
    raise DeliveryEnded(SendOutcome.REJECTED)


def _rejected_by(recorder: DeliveryRecorder, rid: str, delivery: QueueDelivery) -> bool:
    """Whether this same queue message rejected `rid` before (a redelivery of it, e.g. when its
    delete was lost): not another bad copy of a known id."""
    existing = recorder.store.get_state(rid)
    return existing is not None and existing.claimed_by == delivery.message_id
