"""The TwiML a call gets from `twiml_voice`: the stored script of its request, step by step."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

from pydantic import JsonValue, TypeAdapter, ValidationError

from shared.contracts import ScriptStep
from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_report import Report
from shared.log_safety import masked_error
from shared.settings import get_settings
from shared.twiml_render import (
    render_message_twimlet,
    render_script,
    render_unknown_request,
)
from shared.webhook_urls import twiml_voice_url

logger = logging.getLogger(__name__)
_SCRIPT = TypeAdapter(list[ScriptStep])


def voice_twiml(
    recorder: DeliveryRecorder,
    rid: str | None,
    step: str | None,
    query: Sequence[tuple[str, str]],
    form: Mapping[str, str],
) -> str:
    """TwiML for one (signature-checked) request to `twiml_voice`; answers and apologies are
    recorded with `recorder`.

    Without `rid`: the twimlet form (`?Message=…&Message[1]=…`). With `rid`: the request's script
    from `step` (default 0); Gather digits (or a recording) posted with the request are recorded
    on the delivery first, and a failure to record them does not stop the script. Only a script
    that cannot be loaded (unknown `rid`, no script, a bad step, storage down) gets the apology;
    for a known delivery that is recorded as news of it (history row and event).
    """
    if not rid:
        return render_message_twimlet(query)
    try:
        state = recorder.store.get_state(rid)
    except Exception as exc:
        logger.error("twiml_voice could not read rid=%s: apology: %s", rid, masked_error(exc))
        return render_unknown_request()
    if state is None:
        logger.warning("twiml_voice for unknown rid=%s: apology", rid)
        return render_unknown_request()
    script = state.script
    try:
        start = int(step) if step else 0
        steps = _SCRIPT.validate_python(script.get("steps") if script else None)
    except (ValueError, ValidationError):
        return _apologise(recorder, rid, step, form, "no script for this step")
    if start > 0 and (form.get("Digits") or form.get("RecordingUrl")):
        try:
            _record_answer(recorder, rid, start, form)
        except Exception as exc:
            # The caller is still on the line: the rest of the script matters more.
            logger.error(
                "could not record the answer rid=%s step=%s: %s", rid, start - 1, masked_error(exc)
            )
    voice, language = _text(script, "voice"), _text(script, "language")
    base = get_settings().public_base_url
    try:
        return render_script(
            steps, start, lambda i: twiml_voice_url(base, rid, i), voice=voice, language=language
        )
    except ValueError:
        return _apologise(recorder, rid, step, form, f"step {start} is beyond the script")


def _apologise(
    recorder: DeliveryRecorder, rid: str, step: str | None, form: Mapping[str, str], reason: str
) -> str:
    """The apology for a known delivery whose script cannot be served, recorded as its news."""
    logger.warning("twiml_voice rid=%s step=%s: %s: apology", rid, step, reason)
    call_sid = form.get("CallSid") or "nosid"
    # `step` comes from the URL: only digits may go into the history row's key.
    key_step = "0" if not step else step if re.fullmatch(r"[0-9]{1,9}", step) else "bad"
    detail: dict[str, JsonValue] = {"reason": f"apology served: {reason}", "step": step}
    try:
        _record_news(recorder, rid, f"apology-{key_step}-{call_sid}", form, detail)
    except Exception as exc:
        logger.error("could not record the apology rid=%s: %s", rid, masked_error(exc))
    return render_unknown_request()


def _text(script: Mapping[str, JsonValue] | None, name: str) -> str | None:
    value = script.get(name) if script else None
    return value if isinstance(value, str) else None


def _record_answer(
    recorder: DeliveryRecorder, rid: str, next_step: int, form: Mapping[str, str]
) -> None:
    """Record the callee's answer to the waiting step `next_step - 1` as news of the delivery."""
    detail: dict[str, JsonValue] = {"step": next_step - 1}
    if form.get("Digits"):
        detail["digits"] = form["Digits"]
    if form.get("RecordingUrl"):
        detail["recording_url"] = form["RecordingUrl"]
    call_sid = form.get("CallSid") or "nosid"
    _record_news(recorder, rid, f"answer-{next_step - 1}-{call_sid}", form, detail)
    logger.info("answer recorded rid=%s sid=%s step=%s", rid, call_sid, next_step - 1)


def _record_news(
    recorder: DeliveryRecorder,
    rid: str,
    key: str,
    form: Mapping[str, str],
    detail: dict[str, JsonValue],
) -> None:
    """Record what happened on the call Twilio's request `form` belongs to as news of `rid`."""
    recorder.record(
        rid,
        Report(
            key=key,
            status=form.get("CallStatus") or "in-progress",
            source="twilio",
            twilio_sid=form.get("CallSid"),
            detail=detail,
            news=True,
        ),
    )
