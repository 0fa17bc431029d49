"""The TwiML a call gets from `twiml_voice`: the stored script of its request, step by step."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from pydantic import JsonValue, TypeAdapter, ValidationError

from shared import delivery_store
from shared.contracts import ScriptStep
from shared.delivery_recorder import Report, record
from shared.settings import get_settings
from shared.twiml_render import (
    render_message_twimlet,
    render_script,
    render_unknown_request,
    twiml_voice_url,
)

logger = logging.getLogger(__name__)
_SCRIPT = TypeAdapter(list[ScriptStep])


def voice_twiml(
    rid: str | None,
    step: str | None,
    query: Sequence[tuple[str, str]],
    form: Mapping[str, str],
) -> str:
    """TwiML for one (signature-checked) request to `twiml_voice`.

    Without `rid`: the twimlet form (`?Message=…&Message[1]=…`). With `rid`: the request's script
    from `step` (default 0); Gather digits (or a recording) posted with the request are recorded
    on the delivery first. An unknown `rid`, a bad step or a missing script get an apology.
    """
    if not rid:
        return render_message_twimlet(query)
    state = delivery_store.get_state(rid)
    program = state.program if state is not None else None
    try:
        start = int(step) if step else 0
        steps = _SCRIPT.validate_python(program.get("script") if program else None)
    except (ValueError, ValidationError):
        logger.warning("no script for twiml_voice rid=%s step=%s: apology", rid, step)
        return render_unknown_request()
    if start > 0 and (form.get("Digits") or form.get("RecordingUrl")):
        _record_answer(rid, start, form)
    voice, language = _text(program, "voice"), _text(program, "language")
    base = get_settings().public_base_url
    try:
        return render_script(
            steps, start, lambda i: twiml_voice_url(base, rid, i), voice=voice, language=language
        )
    except ValueError:
        logger.warning("twiml_voice rid=%s asked for step %s beyond the script", rid, start)
        return render_unknown_request()


def _text(program: Mapping[str, JsonValue] | None, name: str) -> str | None:
    value = program.get(name) if program else None
    return value if isinstance(value, str) else None


def _record_answer(rid: str, next_step: int, form: Mapping[str, str]) -> None:
    """Record the callee's answer to the waiting step `next_step - 1` as news of the delivery."""
    detail: dict[str, JsonValue] = {"step": next_step - 1}
    if form.get("Digits"):
        detail["digits"] = form["Digits"]
    if form.get("RecordingUrl"):
        detail["recording_url"] = form["RecordingUrl"]
    call_sid = form.get("CallSid") or "nosid"
    record(
        rid,
        Report(
            key=f"answer-{next_step - 1}-{call_sid}",
            status=form.get("CallStatus") or "in-progress",
            source="twilio",
            twilio_sid=form.get("CallSid"),
            detail=detail,
            news=True,
        ),
    )
    logger.info("answer recorded rid=%s sid=%s step=%s", rid, call_sid, next_step - 1)
