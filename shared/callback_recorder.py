"""Record a Twilio status callback (SMS or call) on the delivery named by its `rid`."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pydantic import JsonValue

from shared import delivery_store
from shared.delivery_recorder import RecordOutcome, Report, record
from shared.failure_classes import OPTED_OUT_CODE
from shared.log_safety import mask_number

logger = logging.getLogger(__name__)

# Callback fields kept in the event detail (Twilio name → detail name).
_DETAIL_FIELDS = {
    "CallDuration": "duration",
    "AnsweredBy": "answered_by",
    "SipResponseCode": "sip_response_code",
    "RecordingUrl": "recording_url",
    "RecordingDuration": "recording_duration",
    "NumSegments": "num_segments",
    "Timestamp": "timestamp",
}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def record_status_callback(
    rid: str | None, channel: str | None, form: Mapping[str, str]
) -> RecordOutcome:
    """Apply one status callback (already signature-checked) to delivery `rid`.

    `channel` (`sms`/`call`, from the callback URL the app gave Twilio) says which of Twilio's
    field sets to read; without it, a `CallStatus` field means a call.
    """
    is_call = channel == "call" if channel in ("sms", "call") else "CallStatus" in form
    if is_call:
        status, sid = form.get("CallStatus", ""), form.get("CallSid")
        sequence = _int(form.get("SequenceNumber"))
    else:
        status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        sid = form.get("MessageSid") or form.get("SmsSid")
        sequence = None
    error_code = _int(form.get("ErrorCode"))
    log = f"rid={rid} sid={sid} status={status} to={mask_number(form.get('To'))}"
    if not rid or not status:
        logger.warning("status callback without rid or status ignored: %s", log)
        return RecordOutcome.UNKNOWN if not rid else RecordOutcome.IGNORED
    detail: dict[str, JsonValue] = {
        name: form[field] for field, name in _DETAIL_FIELDS.items() if form.get(field)
    }
    outcome = record(
        rid,
        Report(
            key=f"cb-{sid or 'nosid'}-{status}-{'x' if sequence is None else sequence}",
            status=status,
            source="twilio",
            sequence=sequence,
            twilio_sid=sid,
            error_code=error_code,
            error_message=form.get("ErrorMessage") or None,
            detail=detail,
        ),
    )
    if outcome == RecordOutcome.UNKNOWN:
        logger.warning("status callback for an unknown request: %s", log)
    elif error_code == OPTED_OUT_CODE and form.get("To"):
        delivery_store.mark_opted_out(form["To"], rid, error_code)
    logger.info("status callback %s: %s", outcome, log)
    return outcome
