"""Record a Twilio status callback (SMS or call) on the delivery named by its `rid`.

Twilio's signature covers each parameter's name and value concatenated without a separator, so
characters moved across that boundary keep a captured callback's signature valid
(`MessageSid=SM…` → `MessageSi=dSM…`, `SequenceNumber=3` → `SequenceNumbe=r3`). A signed callback
is therefore only recorded when it has the shape every callback from Twilio has: the SID of the
channel's kind (all SID fields present agreeing), and for a call an integer `SequenceNumber`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from pydantic import JsonValue

from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_report import RecordOutcome, Report
from shared.failure_classes import OPTED_OUT_CODE
from shared.log_safety import mask_number

logger = logging.getLogger(__name__)

# The SID of each channel's resource: a Message (SM, or MM for MMS) or a Call.
_SID_SHAPES = {
    "sms": re.compile(r"(SM|MM)[0-9a-fA-F]{32}"),
    "call": re.compile(r"CA[0-9a-fA-F]{32}"),
}
_SID_FIELDS = {"sms": ("MessageSid", "SmsSid"), "call": ("CallSid",)}

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


def _malformed(channel: str, form: Mapping[str, str]) -> str | None:
    """What makes `form` unlike any status callback Twilio sends for `channel`; None if nothing."""
    names = _SID_FIELDS[channel]
    sids = {form[name] for name in names if form.get(name)}
    if not sids:
        return f"no {' or '.join(names)}"
    if len(sids) > 1:
        return f"{' and '.join(names)} differ"
    sid = sids.pop()
    if not _SID_SHAPES[channel].fullmatch(sid):
        resource = "Call" if channel == "call" else "Message"
        return f"{names[0]} {sid[:40]!r} is not the SID of a {resource}"
    if channel == "call" and _int(form.get("SequenceNumber")) is None:
        return "no integer SequenceNumber"
    return None


def record_status_callback(
    recorder: DeliveryRecorder, rid: str | None, channel: str | None, form: Mapping[str, str]
) -> RecordOutcome:
    """Apply one status callback (already signature-checked) to delivery `rid` with `recorder`.

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
        return RecordOutcome.NOT_FOUND if not rid else RecordOutcome.IGNORED
    malformed = _malformed("call" if is_call else "sms", form)
    if malformed is not None:
        # Answered 2xx all the same: Twilio would retry an error, and a retry cannot fix it.
        logger.warning(
            "status callback ignored, nothing recorded (signed, but not the shape of a Twilio "
            "callback: altered after capture, or a bug) rid=%s channel=%s: %s",
            rid,
            "call" if is_call else "sms",
            malformed,
        )
        return RecordOutcome.IGNORED
    detail: dict[str, JsonValue] = {
        name: form[field] for field, name in _DETAIL_FIELDS.items() if form.get(field)
    }
    outcome = recorder.record(
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
    if outcome == RecordOutcome.NOT_FOUND:
        logger.warning("status callback for an unknown request: %s", log)
    elif error_code == OPTED_OUT_CODE and form.get("To"):
        recorder.store.mark_opted_out(form["To"], rid, error_code)
    logger.info("status callback %s: %s", outcome, log)
    return outcome
